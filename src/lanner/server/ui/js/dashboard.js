// The dashboard (home page): executions over time by state, durations (median and p95), counts by
// state, the latest failures with their error and the flows that fail most — all from one call,
// `GET /stats/executions/dashboard`, aggregated by the database. Charts are Chart.js, bundled at
// build time into js/vendor/charts.bundle.js (see docs/ui.md).
import { get } from "./api.js";
import { h, badge, when, duration, toast } from "./dom.js";
import { rangePicker, setHash } from "./ranges.js";
import { Chart } from "./vendor/charts.bundle.js";

// Chart colours: the state colours of the badges (app.css), so a state looks the same everywhere.
const STATE_VAR = { CREATED: "--s-created", RUNNING: "--s-running", RESTARTED: "--s-running",
  SUCCESS: "--s-success", WARNING: "--s-warning", FAILED: "--s-failed", KILLED: "--s-killed",
  CANCELLED: "--s-killed", KILLING: "--s-killing", PAUSED: "--s-paused", SKIPPED: "--s-skipped",
  RETRYING: "--s-retrying", QUEUED: "--s-retrying" };
const colour = (state) => getComputedStyle(document.documentElement).getPropertyValue(STATE_VAR[state] || "--muted").trim() || "#888";

// A bucket's label from its start as the server wrote it: the wall clock of this browser's offset.
function label(iso, groupBy) {
  if (groupBy === "hour") return iso.slice(5, 13).replace("T", " ") + "h";
  if (groupBy === "month") return iso.slice(0, 7);
  return iso.slice(0, 10);
}

// This browser's offset from UTC now, in minutes east (the API's `utcOffset`), and its name.
const OFFSET = -new Date().getTimezoneOffset();
const offsetName = () => OFFSET ? `UTC${OFFSET > 0 ? "+" : "-"}${String(Math.floor(Math.abs(OFFSET) / 60)).padStart(2, "0")}:${String(Math.abs(OFFSET) % 60).padStart(2, "0")}` : "UTC";

// The executions list filtered like the dashboard, plus `extra` (a state, a flow).
function listLink(filters, extra) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filters, ...extra })) if (v) qs.set(k, v);
  return `#/executions?${qs}`;
}

export async function dashboardPage(view, params) {
  const ns = h("input", { type: "search", id: "dash-namespace", placeholder: "Namespace", "aria-label": "Namespace",
    value: params.get("namespace") || "" });
  const flow = h("input", { type: "search", id: "dash-flow", placeholder: "Flow id", "aria-label": "Flow id",
    value: params.get("flowId") || "" });
  const range = rangePicker(params, { anyTime: false, fallback: "7d", onChange: () => reload() });
  const tiles = h("div", { class: "dash-tiles", id: "dash-counts" });
  const overTime = h("canvas", { id: "chart-executions", "aria-label": "Executions over time by state", role: "img" });
  const durations = h("canvas", { id: "chart-durations", "aria-label": "Durations over time: median and p95", role: "img" });
  const failures = h("tbody");
  const topFlows = h("ol", { id: "dash-top-failing", class: "dash-top" });
  const note = h("p", { class: "muted", id: "dash-note" });
  const refresh = h("button", { type: "button", id: "dash-refresh", text: "Refresh", onclick: () => reload() });
  view.append(h("h1", {}, "Dashboard"),
    h("div", { class: "toolbar" }, ...range.elements, ns, flow, h("span", { class: "spacer" }), note, refresh),
    tiles,
    h("div", { class: "dash-grid" },
      h("section", { class: "panel" }, h("h2", { text: "Executions" }), h("div", { class: "chart-box" }, overTime)),
      h("section", { class: "panel" }, h("h2", { text: "Duration (median, p95)" }), h("div", { class: "chart-box" }, durations))),
    h("div", { class: "dash-grid dash-failures" },
      h("section", { class: "panel" }, h("h2", { text: "Latest failures" }),
        h("table", { id: "dash-failures" },
          h("thead", {}, h("tr", {}, ...["Execution", "Flow", "Started", "Error"].map((t) => h("th", { text: t })))),
          failures)),
      h("section", { class: "panel" }, h("h2", { text: "Flows failing most" }), topFlows)));

  const charts = [];
  const destroy = () => { while (charts.length) charts.pop().destroy(); };

  async function load() {
    const filters = { namespace: ns.value.trim(), flowId: flow.value.trim() };
    setHash("dashboard", { ...range.hashParams(), ...filters });
    const api = range.apiParams();
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...api, ...filters, utcOffset: OFFSET })) if (v) qs.set(k, v);
    const d = await get(`/stats/executions/dashboard?${qs}`);
    const scope = { ...filters, ...range.hashParams() };
    note.textContent = `${d.total} execution(s), by ${d.groupBy} (${offsetName()})`;

    tiles.replaceChildren(...Object.entries(d.counts).filter(([, n]) => n > 0).map(([state, n]) =>
      h("a", { class: "dash-tile", href: listLink(scope, { state }), dataset: { state } },
        badge(state), h("strong", { text: String(n) }))));
    if (!tiles.children.length) tiles.append(h("p", { class: "muted", text: "No execution in this range." }));

    destroy();
    const labels = d.results.map((b) => label(b.startDate, d.groupBy));
    const states = Object.keys(d.counts).filter((s) => d.counts[s] > 0);
    charts.push(new Chart(overTime, {
      type: "bar",
      data: { labels, datasets: states.map((s) => ({ label: s, data: d.results.map((b) => b.executionCounts[s] || 0),
        backgroundColor: colour(s), stack: "states" })) },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    }));
    charts.push(new Chart(durations, {
      type: "line",
      data: { labels, datasets: [
        { label: "median", data: d.results.map((b) => b.duration.median), borderColor: colour("RUNNING"),
          backgroundColor: colour("RUNNING"), spanGaps: true },
        { label: "p95", data: d.results.map((b) => b.duration.p95), borderColor: colour("WARNING"),
          backgroundColor: colour("WARNING"), spanGaps: true }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { callback: (v) => duration(v * 1000) } } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${duration(c.parsed.y * 1000)}` } } } },
    }));

    failures.replaceChildren(...d.latestFailures.map((f) => h("tr", { dataset: { execution: f.id } },
      h("td", { class: "mono" }, h("a", { href: `#/executions/${f.id}`, text: f.id })),
      h("td", {}, h("a", { href: listLink({}, { namespace: f.namespace, flowId: f.flowId }), text: `${f.namespace}.${f.flowId}` })),
      h("td", { class: "muted", text: when(f.startDate) }),
      h("td", { class: "dash-error" }, f.taskId ? h("span", { class: "muted", text: `${f.taskId}: ` }) : null,
        f.error || "(no error line)"))));
    if (!d.latestFailures.length) failures.append(h("tr", {}, h("td", { colspan: 4, class: "empty", text: "No failure in this range." })));
    topFlows.replaceChildren(...d.topFailingFlows.map((t) => h("li", {},
      h("a", { href: listLink(scope, { namespace: t.namespace, flowId: t.flowId, state: "FAILED" }),
        text: `${t.namespace}.${t.flowId}` }), " ", h("span", { class: "badge FAILED", text: String(t.count) }))));
    if (!d.topFailingFlows.length) topFlows.append(h("li", { class: "muted", text: "None" }));
  }
  let timer = null;
  const reload = () => load().catch((e) => toast(e.message, true));
  for (const el of [ns, flow]) el.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(reload, 300); });
  await reload();
  return () => { clearTimeout(timer); destroy(); };
}
