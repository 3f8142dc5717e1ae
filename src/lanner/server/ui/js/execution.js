// One execution, live: state, topology, Gantt, logs with a level filter, outputs, and the
// Kill / Restart / Resume / Review buttons.
import { get, call, follow, enc } from "./api.js";
import { h, badge, when, duration, toast, setStatus } from "./dom.js";
import { renderTopology } from "./topology.js";
import { renderGantt } from "./gantt.js";
import { resumeInputs, openResumeDialog } from "./resume.js";
import { waitingApprovals, openApprovalDialog } from "./approval.js";

const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
const TERMINAL = ["SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED", "RETRIED"];

export async function executionPage(view, id) {
  let exe;
  try {
    exe = await get(`/executions/${id}`);
  } catch (e) {
    view.append(h("p", { class: "empty", text: e.message }));
    return;
  }
  const flow = await get(`/executions/${id}/flow`).catch(() => ({ tasks: [] }));
  const state = h("span", { id: "execution-state" });
  const kill = h("button", { class: "danger", id: "kill", text: "Kill" });
  const restart = h("button", { id: "restart", text: "Restart" });
  const resume = h("button", { id: "resume", text: "Resume" });
  const review = h("button", { id: "review", class: "primary", text: "Review" });
  const meta = h("div", { class: "meta" });
  const notes = h("div");
  const topo = h("div", { class: "panel" });
  const gantt = h("div", { class: "panel" });
  const level = h("select", { id: "log-level" }, ...LEVELS.map((l) => h("option", { value: l, text: `${l} and above` })));
  level.value = "TRACE";
  const logBox = h("div", { class: "logs", id: "logs" });
  const outputs = h("div", { class: "panel", id: "outputs" });
  const sections = {
    overview: h("section", { id: "tab-overview" }, h("h2", { text: "Topology" }), topo, h("h2", { text: "Timeline" }), gantt),
    logs: h("section", { id: "tab-logs", hidden: true }, h("div", { class: "log-controls" }, level,
      h("a", { href: `/api/v1/logs/${id}/download`, text: "Download" })), logBox),
    outputs: h("section", { id: "tab-outputs", hidden: true }, outputs),
  };
  const tabs = h("div", { class: "tabs" }, ...Object.keys(sections).map((name) => h("button", {
    id: `tab-button-${name}`, class: name === "overview" ? "active" : "", text: name[0].toUpperCase() + name.slice(1),
    onclick: (e) => {
      for (const [n, s] of Object.entries(sections)) s.hidden = n !== name;
      tabs.querySelectorAll("button").forEach((b) => b.classList.toggle("active", b === e.target));
    },
  })));
  view.append(h("h1", {}, h("span", { class: "mono", text: id }), state, h("span", { class: "spacer" })),
    h("div", { class: "toolbar" }, kill, restart, resume, review, h("span", { class: "spacer" }),
      h("a", { href: `#/flows/edit/${enc(exe.namespace)}/${enc(exe.flowId)}`, text: "Open flow" })),
    meta, notes, tabs, ...Object.values(sections));

  function update(e) {
    exe = e;
    const s = e.state.current;
    state.replaceChildren(badge(s));
    state.dataset.state = s;
    const terminal = TERMINAL.includes(s);
    kill.disabled = terminal;
    restart.disabled = !(s === "FAILED" || s === "KILLED");
    const approvals = s === "PAUSED" ? waitingApprovals(flow, e) : [];
    const paused = e.taskRunList.filter((r) => r.state.current === "PAUSED").length;
    resume.disabled = s !== "PAUSED" || paused === approvals.length;  // an Approval waits for a decision
    review.disabled = !approvals.length;
    review.hidden = !approvals.length;
    const start = Date.parse(e.state.startDate);
    // A PAUSED execution has an endDate in Kestra's JSON (the time it paused), but it has not ended.
    const end = terminal && e.state.endDate ? Date.parse(e.state.endDate) : Date.now();
    const item = (k, v) => h("div", {}, h("b", { text: k }), v);
    meta.replaceChildren(item("Flow", h("a", { href: `#/flows/edit/${enc(e.namespace)}/${enc(e.flowId)}`, text: `${e.namespace}.${e.flowId}` })),
      item("Revision", String(e.flowRevision)), item("Started", when(e.state.startDate)),
      item("Ended", (terminal && when(e.state.endDate)) || "—"), item("Duration", duration(end - start)),
      item("Trigger", e.trigger ? `${e.trigger.id} (${e.trigger.type.split(".").pop()})` : "manual"),
      item("Inputs", h("span", { class: "mono", text: JSON.stringify(e.inputs) })));
    notes.replaceChildren(...(e.notes || []).map((n) => h("div", { class: "notes", text: n })));
    renderTopology(topo, flow, e);
    renderGantt(gantt, e);
    renderOutputs(outputs, e);
    setStatus(terminal ? "" : "live");
  }
  update(exe);

  let logs = [];
  const minRank = () => LEVELS.indexOf(level.value);
  const line = (l) => h("div", { class: "log-line", dataset: { level: l.level } },
    h("span", { class: "ts", text: l.timestamp.slice(11, 23) }), h("span", { class: `lv ${l.level}`, text: l.level }), " ",
    h("span", { class: "task", text: l.taskId || "" }), l.message);
  function redrawLogs() {
    logBox.replaceChildren(...logs.filter((l) => LEVELS.indexOf(l.level) >= minRank()).map(line));
    if (!logBox.children.length) logBox.append(h("div", { class: "muted", text: "No log line at this level yet." }));
  }
  level.addEventListener("change", redrawLogs);

  let closers = [];
  function live() {
    closers.forEach((c) => c());
    logs = [];
    redrawLogs();
    const closeExe = follow(`/executions/${id}/follow`, (eid, data) => {
      if (!data) return;
      update(JSON.parse(data));
      if (eid === "end") closeExe();
    });
    const closeLogs = follow(`/logs/${id}/follow`, (eid, data) => {
      if (eid === "end") { closeLogs(); return; }
      if (!data) return;
      const l = JSON.parse(data);
      logs.push(l);
      if (LEVELS.indexOf(l.level) >= minRank()) {
        if (logBox.firstChild && logBox.firstChild.classList.contains("muted")) logBox.replaceChildren();
        logBox.append(line(l));
        logBox.scrollTop = logBox.scrollHeight;
      }
    });
    closers = [closeExe, closeLogs];
  }
  live();

  async function act(button, method, path, message, again = false) {
    button.disabled = true;
    try {
      await call(method, path);
      toast(message);
      if (again) live();
    } catch (e) {
      toast(e.message, true);
      button.disabled = false;
    }
  }
  kill.addEventListener("click", () => act(kill, "DELETE", `/executions/${id}/kill`, "Kill requested: finally blocks still run"));
  restart.addEventListener("click", () => act(restart, "POST", `/executions/${id}/restart`, "Restarted", true));
  resume.addEventListener("click", () => {
    const inputs = resumeInputs(flow, exe);
    if (!inputs.length) { act(resume, "POST", `/executions/${id}/resume`, "Resumed"); return; }
    openResumeDialog(id, inputs, () => { resume.disabled = true; toast("Resumed"); });
  });
  review.addEventListener("click", () => {
    const [first] = waitingApprovals(flow, exe);
    if (first) openApprovalDialog(id, first, (message) => { review.disabled = true; toast(message); });
  });
  return () => { closers.forEach((c) => c()); setStatus(""); };
}

function renderOutputs(container, e) {
  const rows = e.taskRunList.filter((r) => r.outputs && Object.keys(r.outputs).length);
  const parts = [];
  if (e.outputs && Object.keys(e.outputs).length) {
    parts.push(h("h2", { text: "Flow outputs" }), h("pre", { class: "json", text: JSON.stringify(e.outputs, null, 2) }));
  }
  for (const r of rows) {
    parts.push(h("h2", { class: "mono", text: r.value != null ? `${r.taskId} [${r.value}]` : r.taskId }),
      h("pre", { class: "json", dataset: { taskId: r.taskId }, text: JSON.stringify(r.outputs, null, 2) }));
  }
  container.replaceChildren(...(parts.length ? parts : [h("div", { class: "empty", text: "No outputs." })]));
}
