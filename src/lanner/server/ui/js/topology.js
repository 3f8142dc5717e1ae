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

function node(task, runsByTask) {
  const runs = runsByTask.get(task.id) || [];
  const state = stateOf(runs);
  const label = h("div", { class: `node ${state}`, dataset: { taskId: task.id, state },
    title: `${task.type}\n${runs.length} task run(s)` },
    h("div", { class: "tid", text: task.id }),
    h("div", { class: "ttype", text: task.type.split(".").pop() }),
    h("div", { class: "tstate", text: state === "NONE" ? "not run" : state + (runs.length > 1 ? ` ×${runs.length}` : "") }));
  const lists = childLists(task);
  if (!lists.length) return label;
  const parallel = /Parallel|Dag/.test(task.type) || (task.concurrencyLimit !== undefined && task.concurrencyLimit !== 1);
  return h("div", { class: "group", dataset: { groupId: task.id } }, label,
    ...lists.map(([name, tasks]) => lane(name, tasks, runsByTask, parallel && name === "tasks")));
}

function lane(name, tasks, runsByTask, parallel = false) {
  const body = h("div", { class: "lane-body" });
  if (parallel) body.style.flexDirection = "column", body.style.alignItems = "flex-start", body.style.gap = "8px";
  tasks.forEach((t, i) => {
    if (i && !parallel) body.append(h("span", { class: "arrow", text: "→" }));
    body.append(node(t, runsByTask));
  });
  return h("div", { class: `lane ${name.split(/[.[]/)[0]}`, dataset: { block: name } },
    h("div", { class: "lane-label", text: name }), body);
}

export function renderTopology(container, flow, execution) {
  const runsByTask = new Map();
  for (const r of (execution && execution.taskRunList) || []) {
    if (!runsByTask.has(r.taskId)) runsByTask.set(r.taskId, []);
    runsByTask.get(r.taskId).push(r);
  }
  const lanes = ROOT_BLOCKS.filter((b) => isTaskList(flow[b])).map((b) => lane(b, flow[b].map(asTask), runsByTask));
  // each listener's tasks run after the end, before afterExecution: one lane each, in that place
  const listeners = (Array.isArray(flow.listeners) ? flow.listeners : [])
    .map((l, i) => (l && isTaskList(l.tasks) ? lane(`listeners[${i}]`, l.tasks.map(asTask), runsByTask) : null))
    .filter(Boolean);
  const after = ROOT_BLOCKS.filter((b) => isTaskList(flow[b])).indexOf("afterExecution");
  lanes.splice(after < 0 ? lanes.length : after, 0, ...listeners);
  container.replaceChildren(h("div", { class: "topology", id: "topology" }, ...lanes));
}
