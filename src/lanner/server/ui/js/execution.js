// One execution, live: state, topology, Gantt, logs with a level filter, outputs with file previews,
// links to the parent and child executions, and the Kill / Restart / Resume / Review buttons, and
// for an ended execution Replay / Change status / Labels / Delete (js/execution_actions.js).
//
// Sized for executions of 10,000 task runs: the execution and its flow are fetched at once, an
// ended execution is not followed (nothing will change it but the buttons here, which redraw from
// their answer), the Gantt draws only the rows in view, outputs are drawn when their tab is opened
// and logs are streamed only once the Logs tab is opened.
import { get, call, follow, enc } from "./api.js";
import { h, badge, when, duration, toast, setStatus } from "./dom.js";
import { renderTopology } from "./topology.js";
import { createGantt } from "./gantt.js";
import { renderOutputs, fileUrl } from "./outputs.js";
import { parentLink, renderChildren, starterTasks, childrenKey } from "./execution_links.js";
import { openReplayDialog, openStatusDialog, openLabelsDialog, openDeleteDialog } from "./execution_actions.js";
import { resumeInputs, openResumeDialog } from "./resume.js";
import { waitingApprovals, openApprovalDialog } from "./approval.js";

const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
const TERMINAL = ["SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED", "RETRIED"];

export async function executionPage(view, id) {
  let exe;
  let flow;
  try {
    [exe, flow] = await Promise.all([get(`/executions/${id}`),
      get(`/executions/${id}/flow`).catch(() => ({ tasks: [] }))]);
  } catch (e) {
    view.append(h("p", { class: "empty", text: e.message }));
    return;
  }
  const state = h("span", { id: "execution-state" });
  const kill = h("button", { class: "danger", id: "kill", text: "Kill" });
  const restart = h("button", { id: "restart", text: "Restart" });
  const resume = h("button", { id: "resume", text: "Resume" });
  const review = h("button", { id: "review", class: "primary", text: "Review" });
  const replay = h("button", { id: "replay", text: "Replay…", onclick: () => openReplayDialog(exe) });
  const status = h("button", { id: "change-status", text: "Change status…", onclick: () => openStatusDialog(exe, changed) });
  const labels = h("button", { id: "edit-labels", text: "Labels…", onclick: () => openLabelsDialog(exe, changed) });
  const remove = h("button", { id: "delete-execution", class: "danger", text: "Delete…", onclick: () => openDeleteDialog(exe) });
  const meta = h("div", { class: "meta" });
  const notes = h("div");
  const children = h("div", { id: "children" });
  const topo = h("div", { class: "panel" });
  const gantt = h("div", { class: "panel" });
  const timeline = createGantt(gantt);
  const level = h("select", { id: "log-level" }, ...LEVELS.map((l) => h("option", { value: l, text: `${l} and above` })));
  level.value = "TRACE";
  const logBox = h("div", { class: "logs", id: "logs" });
  const logFiles = h("div", { id: "log-files" });  // attempts whose lines are in a file (`logToFile: true`)
  const outputs = h("div", { class: "panel", id: "outputs" });
  const sections = {
    overview: h("section", { id: "tab-overview" }, h("h2", { text: "Topology" }), topo, h("h2", { text: "Timeline" }), gantt),
    logs: h("section", { id: "tab-logs", hidden: true }, h("div", { class: "log-controls" }, level,
      h("a", { href: `/api/v1/logs/${id}/download`, text: "Download" })), logFiles, logBox),
    outputs: h("section", { id: "tab-outputs", hidden: true }, outputs),
  };
  const starters = starterTasks(flow);
  let listedAt = null;  // the childrenKey the children were listed at
  let outputsDrawn = null;  // the execution the outputs tab shows, redrawn when opened after a change
  const tabs = h("div", { class: "tabs" }, ...Object.keys(sections).map((name) => h("button", {
    id: `tab-button-${name}`, class: name === "overview" ? "active" : "", text: name[0].toUpperCase() + name.slice(1),
    onclick: (e) => {
      for (const [n, s] of Object.entries(sections)) s.hidden = n !== name;
      tabs.querySelectorAll("button").forEach((b) => b.classList.toggle("active", b === e.target));
      if (name === "logs") startLogs();
      if (name === "overview") timeline.refresh();
      if (name === "outputs" && outputsDrawn !== exe) { outputsDrawn = exe; renderOutputs(outputs, exe); }
    },
  })));
  view.append(h("h1", {}, h("span", { class: "mono", text: id }), state, h("span", { class: "spacer" })),
    h("div", { class: "toolbar" }, kill, restart, resume, review, replay, status, labels, remove, h("span", { class: "spacer" }),
      h("a", { href: `#/flows/edit/${enc(exe.namespace)}/${enc(exe.flowId)}`, text: "Open flow" })),
    meta, notes, children, tabs, ...Object.values(sections));

  function update(e) {
    exe = e;
    const s = e.state.current;
    state.replaceChildren(badge(s));
    state.dataset.state = s;
    const terminal = TERMINAL.includes(s);
    kill.disabled = terminal;
    restart.disabled = !(s === "FAILED" || s === "KILLED");
    for (const b of [replay, status, labels, remove]) b.disabled = !terminal;  // the server changes ended ones only
    const approvals = s === "PAUSED" ? waitingApprovals(flow, e) : [];
    const paused = e.taskRunList.filter((r) => r.state.current === "PAUSED").length;
    resume.disabled = s !== "PAUSED" || paused === approvals.length;  // an Approval waits for a decision
    review.disabled = !approvals.length;
    review.hidden = !approvals.length;
    const start = Date.parse(e.state.startDate);
    // A PAUSED execution has an endDate in Kestra's JSON (the time it paused), but it has not ended.
    const end = terminal && e.state.endDate ? Date.parse(e.state.endDate) : Date.now();
    const item = (k, v, key) => h("div", { dataset: { meta: key || k.toLowerCase() } }, h("b", { text: k }), v);
    const shownLabels = e.labels.filter((l) => !l.key.startsWith("system."));
    meta.replaceChildren(...[item("Flow", h("a", { href: `#/flows/edit/${enc(e.namespace)}/${enc(e.flowId)}`, text: `${e.namespace}.${e.flowId}` })),
      item("Revision", String(e.flowRevision)), item("Started", when(e.state.startDate)),
      item("Ended", (terminal && when(e.state.endDate)) || "—"), item("Duration", duration(end - start)),
      item("Trigger", e.trigger ? `${e.trigger.id} (${e.trigger.type.split(".").pop()})` : "manual"),
      parentLink(e) && item("Parent execution", parentLink(e), "parent"),
      e.originalId && e.originalId !== e.id && item("Replay of", h("a", { class: "mono", href: `#/executions/${enc(e.originalId)}`, text: e.originalId }), "original"),
      item("Labels", h("span", { id: "execution-labels" }, ...(shownLabels.length ? shownLabels.map((l) => h("span", { class: "label-chip", text: `${l.key}:${l.value}` })) : ["—"]))),
      item("Inputs", h("span", { class: "mono", text: JSON.stringify(e.inputs) }))].filter(Boolean));
    notes.replaceChildren(...(e.notes || []).map((n) => h("div", { class: "notes", text: n })));
    // the child executions, listed again when a task that starts them moves (or the execution does)
    const key = childrenKey(e, starters);
    if (key !== listedAt) { listedAt = key; renderChildren(children, e); }
    renderTopology(topo, flow, e);
    timeline.render(e);
    if (!sections.outputs.hidden) { outputsDrawn = e; renderOutputs(outputs, e); }
    renderLogFiles(e);
    setStatus(terminal ? "" : "live");
  }
  update(exe);

  // A change from a dialog answers the changed execution: shown at once, the children kept.
  function changed(e) { update(e); }

  // Their lines are not in the log store (the point of `logToFile`): the file is linked instead.
  function renderLogFiles(e) {
    const rows = [];
    for (const r of e.taskRunList || []) {
      (r.attempts || []).forEach((a, i) => {
        if (!a.logFile) return;
        rows.push(h("div", { class: "notes log-file" }, `${r.taskId}, attempt ${i + 1}: its logs are kept in a file (logToFile) `,
          h("a", { class: "button small", href: fileUrl(e.id, a.logFile), download: `${r.taskId}-attempt-${i + 1}.log`, text: "Download" })));
      });
    }
    logFiles.replaceChildren(...rows);
  }

  let logs = [];
  let logsOn = false;
  const minRank = () => LEVELS.indexOf(level.value);
  const line = (l) => h("div", { class: "log-line", dataset: { level: l.level } },
    h("span", { class: "ts", text: l.timestamp.slice(11, 23) }), h("span", { class: `lv ${l.level}`, text: l.level }), " ",
    h("span", { class: "task", text: l.taskId || "" }), l.message);
  function redrawLogs() {
    logBox.replaceChildren(...logs.filter((l) => LEVELS.indexOf(l.level) >= minRank()).map(line));
    if (!logBox.children.length) logBox.append(h("div", { class: "muted", text: "No log line at this level yet." }));
  }
  level.addEventListener("change", redrawLogs);

  let closeExe = () => {};
  let closeLogs = () => {};
  let frame = 0;
  let latest = null;
  function followExecution() {
    closeExe();
    closeExe = follow(`/executions/${id}/follow`, (eid, data) => {
      if (eid === "end") closeExe();
      if (!data) return;
      latest = data;  // drawn once per frame however many changes arrive in it
      if (!frame) frame = requestAnimationFrame(() => { frame = 0; const d = latest; latest = null; if (d) update(JSON.parse(d)); });
    });
  }
  function startLogs(again = false) {
    if (logsOn && !again) return;
    logsOn = true;
    closeLogs();
    logs = [];
    redrawLogs();
    let batch = [];
    let queued = false;
    const flush = () => {
      queued = false;
      const shown = batch.filter((l) => LEVELS.indexOf(l.level) >= minRank()).map(line);
      batch = [];
      if (!shown.length) return;
      if (logBox.firstChild && logBox.firstChild.classList.contains("muted")) logBox.replaceChildren();
      logBox.append(...shown);
      logBox.scrollTop = logBox.scrollHeight;
    };
    closeLogs = follow(`/logs/${id}/follow`, (eid, data) => {
      if (eid === "end") { closeLogs(); return; }
      if (!data) return;
      const l = JSON.parse(data);
      logs.push(l);
      batch.push(l);
      if (!queued) { queued = true; requestAnimationFrame(flush); }
    });
  }
  function live() {
    followExecution();
    if (logsOn) startLogs(true);
  }
  if (!TERMINAL.includes(exe.state.current)) followExecution();

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
  return () => { closeExe(); closeLogs(); if (frame) cancelAnimationFrame(frame); setStatus(""); };
}
