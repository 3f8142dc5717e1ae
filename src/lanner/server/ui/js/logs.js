// The logs page: search log lines across executions (`GET /logs/search`, Kestra's parameters:
// namespace, flowId, minLevel, startDate, endDate, q, page, size), newest first, as a table whose
// rows link to their execution; the filters live in the URL (`#/logs?namespace=…`) so a search can
// be shared. "Live" reloads the first page every 2 s.
import { get, enc } from "./api.js";
import { h, when, toast } from "./dom.js";
import { problemText } from "./execute.js";

const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
const SIZE = 50;
const LIVE_MS = 2000;

function localValue(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export async function logsPage(view, params) {
  const ns = h("input", { type: "search", id: "logs-namespace", placeholder: "Namespace", value: params.get("namespace") || "" });
  const flow = h("input", { type: "search", id: "logs-flow", placeholder: "Flow id", value: params.get("flowId") || "" });
  const q = h("input", { type: "search", id: "logs-q", placeholder: "Text in the message", value: params.get("q") || "" });
  const level = h("select", { id: "logs-level", "aria-label": "minimum level" },
    h("option", { value: "", text: "Any level" }), ...LEVELS.map((l) => h("option", { value: l, text: `${l} and above` })));
  const asked = (params.get("minLevel") || "").toUpperCase();
  const wrongLevel = asked !== "" && !LEVELS.includes(asked);
  level.value = wrongLevel ? "" : asked;
  const from = h("input", { type: "datetime-local", id: "logs-from", "aria-label": "from", value: localValue(params.get("startDate")) });
  const to = h("input", { type: "datetime-local", id: "logs-to", "aria-label": "to", value: localValue(params.get("endDate")) });
  const live = h("input", { type: "checkbox", id: "logs-live" });
  const body = h("tbody");
  const info = h("span", { class: "muted" });
  const prev = h("button", { id: "logs-newer", text: "‹ Newer" });
  const next = h("button", { id: "logs-older", text: "Older ›" });
  let page = Number(params.get("page")) || 1;
  view.append(h("h1", {}, "Logs"),
    h("div", { class: "toolbar" }, ns, flow, level, q, h("label", {}, "from ", from), h("label", {}, "to ", to),
      h("label", {}, live, " live"), h("span", { class: "spacer" })),
    h("table", { id: "logs-table", class: "logs-table" },
      h("thead", {}, h("tr", {}, ...["Time", "Level", "Flow", "Execution", "Task", "Message"].map((t) => h("th", { text: t })))),
      body),
    h("div", { class: "pager" }, info, prev, next));
  if (wrongLevel) {
    view.insertBefore(h("div", { class: "notes", id: "logs-note", role: "alert",
      text: `unknown log level \`${params.get("minLevel")}\` in the address: every level is shown; choose one of ${LEVELS.join(", ")}` }),
    view.querySelector("table"));
  }

  function query() {
    const qs = new URLSearchParams();
    if (ns.value) qs.set("namespace", ns.value);
    if (flow.value) qs.set("flowId", flow.value);
    if (level.value) qs.set("minLevel", level.value);
    if (q.value) qs.set("q", q.value);
    if (from.value) qs.set("startDate", new Date(from.value).toISOString());
    if (to.value) qs.set("endDate", new Date(to.value).toISOString());
    return qs;
  }

  let latest = 0; // answers can come back out of order while one types: only the newest request is shown
  async function load() {
    const asked = ++latest;
    const qs = query();
    const shown = `#/logs${qs.toString() ? "?" + qs : ""}`;
    if (location.hash !== shown) history.replaceState(null, "", shown); // the router sees no change
    qs.set("page", page);
    qs.set("size", SIZE);
    let result;
    try {
      result = await get(`/logs/search?${qs}`);
    } catch (err) {
      if (asked === latest) info.textContent = problemText(err);
      return;
    }
    if (asked !== latest) return;
    body.replaceChildren();
    if (!result.results.length) body.append(h("tr", {}, h("td", { colspan: 6, class: "empty", text: "No log line matches." })));
    for (const l of result.results) {
      const exeLink = `#/executions/${enc(l.executionId)}`;
      body.append(h("tr", { class: "log-row", dataset: { execution: l.executionId } },
        h("td", { class: "muted nowrap", text: when(l.timestamp) }),
        h("td", {}, h("span", { class: `lv ${l.level}`, text: l.level })),
        h("td", {}, h("a", { href: `#/logs?namespace=${enc(l.namespace)}&flowId=${enc(l.flowId)}`, text: `${l.namespace}.${l.flowId}` })),
        h("td", { class: "mono" }, h("a", { class: "log-execution", href: exeLink, text: l.executionId })),
        h("td", { class: "mono" }, l.taskId
          ? h("a", { class: "log-task", href: exeLink, title: `task run ${l.taskRunId || ""}${l.attemptNumber ? ", attempt " + l.attemptNumber : ""}`, text: l.taskId })
          : h("span", { class: "muted", text: "—" })),
        h("td", { class: "log-message", text: l.message })));
    }
    info.textContent = `${result.total} line(s)`;
    prev.disabled = page <= 1;
    next.disabled = page * SIZE >= result.total;
  }
  const reload = () => load().catch((e) => toast(e.message, true));
  for (const el of [ns, flow, q]) el.addEventListener("input", () => { page = 1; reload(); });
  for (const el of [level, from, to]) el.addEventListener("change", () => { page = 1; reload(); });
  prev.addEventListener("click", () => { page -= 1; reload(); });
  next.addEventListener("click", () => { page += 1; reload(); });
  await load();
  const timer = setInterval(() => { if (live.checked && page === 1) reload(); }, LIVE_MS);
  return () => clearInterval(timer);
}
