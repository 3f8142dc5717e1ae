// The topology of a flow: its blocks (tasks, errors, finally, listeners, afterExecution) as lanes of task
// nodes, flowable tasks as groups holding their own lanes; each node coloured by the state of
// its task runs in the execution shown.
import { h } from "./dom.js";

const ROOT_BLOCKS = ["tasks", "errors", "finally", "afterExecution"];
const SEVERITY = { KILLED: 6, FAILED: 5, CANCELLED: 4, WARNING: 3, SUCCESS: 2, SKIPPED: 1 };
const ACTIVE = ["RUNNING", "KILLING", "CREATED", "RETRYING", "PAUSED", "RESTARTED", "QUEUED"];

function asTask(item) {
  if (item && typeof item === "object" && item.id && item.type) return item;
  if (item && item.task && item.task.id) return item.task; // Dag: {task: {...}, dependsOn: [...]}
  return null;
}

function isTaskList(value) {
  return Array.isArray(value) && value.length > 0 && value.every((v) => asTask(v));
}

// The lists of nested tasks of a flowable, by property name (Switch cases flattened).
export function childLists(task) {
  const out = [];
  for (const [key, value] of Object.entries(task)) {
    if (isTaskList(value)) out.push([key, value.map(asTask)]);
    else if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [sub, list] of Object.entries(value)) if (isTaskList(list)) out.push([`${key}.${sub}`, list.map(asTask)]);
    }
  }
  return out;
}

export function stateOf(runs) {
  if (!runs || !runs.length) return "NONE";
  const states = runs.map((r) => r.state.current);
  const active = states.find((s) => ACTIVE.includes(s));
  if (active) return active;
  return states.reduce((a, b) => ((SEVERITY[b] || 0) > (SEVERITY[a] || 0) ? b : a), "SUCCESS");
}

// "9,999 SUCCESS · 1 FAILED": what a task that ran many times did, rather than its worst state alone.
export function stateCounts(runs) {
  const counts = new Map();
  for (const r of runs) counts.set(r.state.current, (counts.get(r.state.current) || 0) + 1);
  return [...counts.entries()].sort((a, b) => (SEVERITY[b[0]] || 9) - (SEVERITY[a[0]] || 9));
}

function stateLine(runs, state) {
  if (state === "NONE") return h("div", { class: "tstate", text: "not run" });
  if (runs.length < 2) return h("div", { class: "tstate", text: state });
  return h("div", { class: "tstate counts" }, ...stateCounts(runs).map(([s, n]) =>
    h("span", { class: `count ${s}`, dataset: { state: s, count: String(n) }, text: `${n.toLocaleString("en")} ${s}` })));
}

function node(task, ctx) {
  const runs = ctx.runsByTask.get(task.id) || [];
  const state = stateOf(runs);
  const label = h("div", { class: `node ${state}`, dataset: { taskId: task.id, state },
    title: `${task.type}\n${runs.length} task run(s)` },
    h("div", { class: "tid", text: task.id }),
    h("div", { class: "ttype", text: task.type.split(".").pop() }),
    stateLine(runs, state));
  const lists = childLists(task);
  if (!lists.length) return label;
  const parallel = /Parallel|Dag/.test(task.type) || (task.concurrencyLimit !== undefined && task.concurrencyLimit !== 1);
  return h("div", { class: "group", dataset: { groupId: task.id } }, label, iterations(task.id, runs, ctx),
    ...blocks(lists, ctx, (name) => parallel && name === "tasks"));
}

// The runs under a loop's task runs, by iteration value: a list drawn only when asked for (a ForEach
// of 10,000 values would otherwise cost 10,000 rows on every redraw), 100 values at a time.
function iterations(taskId, runs, ctx) {
  if (!ctx.children || !runs.length) return null;
  const byValue = new Map();
  for (const parent of runs) {
    // a loop inside a loop runs once per outer value: its values are told apart by the outer one
    const outer = runs.length > 1 && parent.value != null ? `${parent.value} › ` : "";
    for (const r of ctx.children.get(parent.id) || []) {
      if (r.value === null || r.value === undefined) continue;
      const key = outer + r.value;
      if (!byValue.has(key)) byValue.set(key, []);
      byValue.get(key).push(r);
    }
  }
  if (!byValue.size) return null;
  const list = h("ul", { class: "iterations", hidden: true });
  let shown = 0;
  const more = h("button", { type: "button", class: "more", text: "Show more values", onclick: () => showMore() });
  const values = [...byValue.entries()];
  function showMore() {
    const next = values.slice(shown, shown + 100);
    shown += next.length;
    list.append(...next.map(([value, kids]) => h("li", { dataset: { value, state: stateOf(kids) } },
      h("span", { class: "mono value", text: value }), " ",
      ...kids.map((k) => h("span", { class: `chip ${k.state.current}`, title: k.state.current, text: k.taskId })))));
    more.hidden = shown >= values.length;
    list.append(more);
  }
  const toggle = h("button", { type: "button", class: "iterations-toggle", dataset: { taskId } });
  function show(opening) {
    if (opening && !shown) showMore();
    list.hidden = !opening;
    if (opening) ctx.openValues.add(taskId); else ctx.openValues.delete(taskId);
    toggle.setAttribute("aria-expanded", String(opening));
    toggle.textContent = `${values.length.toLocaleString("en")} value${values.length > 1 ? "s" : ""} ${opening ? "▾" : "▸"}`;
  }
  toggle.addEventListener("click", () => show(list.hidden));
  show(ctx.openValues.has(taskId));  // kept open across the redraws of a live execution
  return h("div", { class: "iterations-box" }, toggle, list);
}

// The lanes of a block list, with an edge from the `tasks` lane to each block run after it: `errors`
// on a failure, `finally` always, `afterExecution` once the execution has ended. An edge is marked
// taken when a task of the block it leads to ran.
const EDGE_TEXT = { errors: "on failure", finally: "always", afterExecution: "after the end", listeners: "listeners" };

function blocks(lists, ctx, parallelOf) {
  const out = [];
  for (const [name, tasks] of lists) {
    const kind = name.split(/[.[]/)[0];
    if (out.length && EDGE_TEXT[kind]) {
      const taken = tasks.some((t) => (ctx.runsByTask.get(t.id) || []).length);
      out.push(h("div", { class: `block-edge ${kind}${taken ? " taken" : ""}`, dataset: { to: name, taken: String(taken) } },
        h("span", { class: "edge-arrow", text: "↓" }), h("span", { text: EDGE_TEXT[kind] })));
    }
    out.push(lane(name, tasks, ctx, parallelOf(name)));
  }
  return out;
}

function lane(name, tasks, ctx, parallel = false) {
  const body = h("div", { class: "lane-body" });
  if (parallel) body.style.flexDirection = "column", body.style.alignItems = "flex-start", body.style.gap = "8px";
  tasks.forEach((t, i) => {
    if (i && !parallel) body.append(h("span", { class: "arrow", text: "→" }));
    body.append(node(t, ctx));
  });
  return h("div", { class: `lane ${name.split(/[.[]/)[0]}`, dataset: { block: name } },
    h("div", { class: "lane-label", text: name }), body);
}

export function renderTopology(container, flow, execution) {
  const runsByTask = new Map();
  const children = execution ? new Map() : null;
  for (const r of (execution && execution.taskRunList) || []) {
    if (!runsByTask.has(r.taskId)) runsByTask.set(r.taskId, []);
    runsByTask.get(r.taskId).push(r);
    if (r.parentTaskRunId) {
      if (!children.has(r.parentTaskRunId)) children.set(r.parentTaskRunId, []);
      children.get(r.parentTaskRunId).push(r);
    }
  }
  if (!container.openValues) container.openValues = new Set();
  const ctx = { runsByTask, children, openValues: container.openValues };
  const lists = ROOT_BLOCKS.filter((b) => isTaskList(flow[b])).map((b) => [b, flow[b].map(asTask)]);
  // each listener's tasks run after the end, before afterExecution: one lane each, in that place
  const listeners = (Array.isArray(flow.listeners) ? flow.listeners : [])
    .map((l, i) => (l && isTaskList(l.tasks) ? [`listeners[${i}]`, l.tasks.map(asTask)] : null))
    .filter(Boolean);
  const after = lists.findIndex(([b]) => b === "afterExecution");
  lists.splice(after < 0 ? lists.length : after, 0, ...listeners);
  container.replaceChildren(h("div", { class: "topology", id: "topology" }, ...blocks(lists, ctx, () => false)));
}
