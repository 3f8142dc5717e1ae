// Links between a parent execution and the executions it started (Subflow, ForEachItem): the
// parent shown on the child, the children listed on the parent with their state and the task that
// started them. The children are found by the search API's `triggerExecutionId`, as Kestra does.
import { get, enc } from "./api.js";
import { h, badge } from "./dom.js";

const CHILDREN_PAGE = 50;

// The execution that started `exe`, from its trigger (Kestra's Subflow/ForEachItem trigger
// variables) or its `parentId`; null for a flow started by hand or by a schedule.
export function parentOf(exe) {
  const vars = (exe.trigger && exe.trigger.variables) || {};
  const id = vars.executionId || exe.parentId;
  if (!id || id === exe.id) return null;
  return { id, namespace: vars.namespace, flowId: vars.flowId, taskId: exe.trigger && exe.trigger.id };
}

export function parentLink(exe) {
  const parent = parentOf(exe);
  if (!parent) return null;
  const flow = parent.namespace && parent.flowId ? ` (${parent.namespace}.${parent.flowId}` + (parent.taskId ? `, task ${parent.taskId})` : ")") : "";
  return h("span", { id: "parent-execution" },
    h("a", { href: `#/executions/${enc(parent.id)}`, class: "mono", text: parent.id }), flow);
}

// The ids of the flow's tasks that start executions (Subflow, ForEachItem, and the older Flow type).
export function starterTasks(flow) {
  const ids = new Set();
  (function walk(node) {
    if (Array.isArray(node)) { node.forEach(walk); return; }
    if (!node || typeof node !== "object") return;
    if (typeof node.type === "string" && /\.(Subflow|ForEachItem|Flow)$/.test(node.type) && node.id) ids.add(node.id);
    Object.values(node).forEach(walk);
  })([flow.tasks, flow.errors, flow.finally, flow.afterExecution]);
  return ids;
}

// What decides whether the list of children may have changed: the execution's state and the
// states of the runs of the tasks that start executions.
export function childrenKey(exe, starters) {
  const runs = starters.size ? exe.taskRunList.filter((r) => starters.has(r.taskId)).map((r) => `${r.id}:${r.state.current}`) : [];
  return `${exe.state.current}|${runs.join(",")}`;
}

// Fills `container` with the executions `exe` started; leaves it empty when there are none.
export async function renderChildren(container, exe) {
  let answer;
  try {
    answer = await get(`/executions/search?triggerExecutionId=${enc(exe.id)}&size=${CHILDREN_PAGE}&sort=state.startDate:asc`);
  } catch (_) {
    return;  // the list of children is a convenience: the page stands without it
  }
  const children = answer.results.filter((c) => c.id !== exe.id);
  if (!children.length) { container.replaceChildren(); return; }
  const more = answer.total > children.length
    ? h("p", { class: "muted", text: `The first ${children.length} of ${answer.total.toLocaleString("en")} are listed.` })
    : null;
  container.replaceChildren(h("h2", { text: `Child executions (${answer.total.toLocaleString("en")})` }),
    h("table", { id: "child-executions" }, h("thead", {}, h("tr", {}, h("th", { text: "Execution" }), h("th", { text: "Flow" }),
      h("th", { text: "Started by" }), h("th", { text: "State" }))),
    h("tbody", {}, ...children.map((c) => h("tr", { dataset: { execution: c.id } },
      h("td", {}, h("a", { class: "mono", href: `#/executions/${enc(c.id)}`, text: c.id })),
      h("td", { text: `${c.namespace}.${c.flowId}` }),
      h("td", { class: "mono", text: (c.trigger && c.trigger.id) || "" }),
      h("td", {}, badge(c.state.current)))))), ...(more ? [more] : []));
}
