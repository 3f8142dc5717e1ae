// A Gantt timeline of an execution's task runs: one bar per run, positioned on the execution's span.
import { h, duration } from "./dom.js";

export function renderGantt(container, execution) {
  const start = Date.parse(execution.state.startDate);
  const end = execution.state.endDate ? Date.parse(execution.state.endDate) : Date.now();
  const runEnds = execution.taskRunList.map((r) => (r.state.endDate ? Date.parse(r.state.endDate) : Date.now()));
  const total = Math.max(end, ...runEnds, start + 1) - start;
  const rows = [];
  for (const r of execution.taskRunList) {
    const s = Date.parse(r.state.startDate || execution.state.startDate);
    const e = r.state.endDate ? Date.parse(r.state.endDate) : Date.now();
    const bar = h("div", { class: `bar ${r.state.current}`, title: `${r.taskId}: ${r.state.current}` });
    bar.style.left = `${((s - start) / total) * 100}%`;
    bar.style.width = `${Math.max(((e - s) / total) * 100, 0.3)}%`;
    const name = r.value !== null && r.value !== undefined ? `${r.taskId} [${r.value}]` : r.taskId;
    const block = r.block && r.block !== "tasks" ? ` (${r.block})` : "";
    rows.push(h("div", { class: "label", title: name + block, text: name + block }),
      h("div", { class: "track", dataset: { taskRunId: r.id } }, bar),
      h("div", { class: "dur", text: duration(e - s) }));
  }
  container.replaceChildren(rows.length ? h("div", { class: "gantt", id: "gantt" }, ...rows)
    : h("div", { class: "empty", text: "No task run yet." }));
}
