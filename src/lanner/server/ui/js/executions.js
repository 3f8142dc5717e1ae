// The executions list: filters, paging, and live refresh while any execution changes.
import { get, follow, enc } from "./api.js";
import { h, badge, when, duration, toast } from "./dom.js";

const STATES = ["", "CREATED", "RUNNING", "PAUSED", "KILLING", "SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRYING"];
const SIZE = 25;

export async function executionsPage(view, params) {
  const ns = h("input", { type: "search", id: "filter-namespace", placeholder: "Namespace", value: params.get("namespace") || "" });
  const flow = h("input", { type: "search", id: "filter-flow", placeholder: "Flow id", value: params.get("flowId") || "" });
  const q = h("input", { type: "search", id: "filter-q", placeholder: "Search id…", value: params.get("q") || "" });
  const state = h("select", { id: "filter-state" }, ...STATES.map((s) => h("option", { value: s, text: s || "Any state" })));
  state.value = params.get("state") || "";
  const live = h("input", { type: "checkbox", id: "live-refresh", checked: true });
  const body = h("tbody");
  const info = h("span", { class: "muted" });
  const prev = h("button", { text: "‹ Newer" });
  const next = h("button", { text: "Older ›" });
  let page = 1;
  view.append(h("h1", {}, "Executions"),
    h("div", { class: "toolbar" }, ns, flow, q, state, h("label", {}, live, " live"), h("span", { class: "spacer" })),
    h("table", { id: "executions-table" },
      h("thead", {}, h("tr", {}, ...["Id", "Flow", "State", "Started", "Duration", "Trigger", "Labels"].map((t) => h("th", { text: t })))),
      body),
    h("div", { class: "pager" }, info, prev, next));

  async function load() {
    const qs = new URLSearchParams({ page, size: SIZE });
    if (ns.value) qs.set("namespace", ns.value);
    if (flow.value) qs.set("flowId", flow.value);
    if (q.value) qs.set("q", q.value);
    if (state.value) qs.set("state", state.value);
    const result = await get(`/executions/search?${qs}`);
    body.replaceChildren();
    if (!result.results.length) body.append(h("tr", {}, h("td", { colspan: 7, class: "empty", text: "No execution matches." })));
    for (const e of result.results) {
      const start = e.state.startDate ? Date.parse(e.state.startDate) : null;
      const end = e.state.endDate ? Date.parse(e.state.endDate) : Date.now();
      body.append(h("tr", { dataset: { execution: e.id } },
        h("td", { class: "mono" }, h("a", { href: `#/executions/${e.id}`, text: e.id })),
        h("td", {}, `${e.namespace}.${e.flowId}`),
        h("td", {}, badge(e.state.current)),
        h("td", { class: "muted", text: when(e.state.startDate) }),
        h("td", { text: start ? duration(end - start) : "" }),
        h("td", { class: "muted", text: e.trigger ? e.trigger.id : "" }),
        h("td", { class: "muted", text: (e.labels || []).filter((l) => !l.key.startsWith("system.")).map((l) => `${l.key}:${l.value}`).join(" ") })));
    }
    info.textContent = `${result.total} execution(s)`;
    prev.disabled = page <= 1;
    next.disabled = page * SIZE >= result.total;
  }
  const reload = () => load().catch((e) => toast(e.message, true));
  for (const el of [ns, flow, q]) el.addEventListener("input", () => { page = 1; reload(); });
  state.addEventListener("change", () => { page = 1; reload(); });
  prev.addEventListener("click", () => { page -= 1; reload(); });
  next.addEventListener("click", () => { page += 1; reload(); });
  await load();
  let pending = null;
  const close = follow("/executions/follow", (id) => {
    if (id !== "progress" || !live.checked || pending) return;
    pending = setTimeout(() => { pending = null; reload(); }, 300);
  });
  return () => { close(); clearTimeout(pending); };
}
