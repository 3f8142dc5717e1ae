// The Gantt timeline of an execution: one row per task run, nested under its parent run (a ForEach's
// iterations under the ForEach, a branch's tasks under the Parallel), every attempt drawn as its own
// segment so that retries and restarts show as what they were, not as one long bar.
//
// Why virtual: an execution with 10,000 task runs would need 40,000 elements drawn at once. The rows
// are computed as data (cheap) and only the ones in the scrolled window are put in the DOM; a parent
// with many children starts collapsed, so the first paint shows the outline of the flow.
import { h, duration } from "./dom.js";

const ROW = 26;          // px per row: fixed, so a row's position is its index times ROW
const OVERSCAN = 12;     // rows drawn above and below the window, so scrolling shows no gap
const OPEN_UP_TO = 20;   // a parent with more children than this starts collapsed
const VIEW_ROWS = 22;    // height of the scrolled window, in rows

const ms = (iso) => (iso ? Date.parse(iso) : NaN);

// Children of each task run in the order they were created; roots under the key null.
export function runTree(runs) {
  const ids = new Set(runs.map((r) => r.id));
  const children = new Map([[null, []]]);
  for (const r of runs) {
    const parent = r.parentTaskRunId && ids.has(r.parentTaskRunId) ? r.parentTaskRunId : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(r);
  }
  return children;
}

// The segments a run is drawn with: one per attempt; a run without attempts (a flowable, or one
// not started) as one segment over its own state's span.
export function segments(run, now) {
  const list = (run.attempts || []).map((a, i) => ({
    start: ms(a.state.startDate), end: a.state.endDate ? ms(a.state.endDate) : now, state: a.state.current, attempt: i + 1,
  })).filter((s) => !isNaN(s.start));
  if (list.length) return list;
  const start = ms(run.state.startDate);
  return isNaN(start) ? [] : [{ start, end: run.state.endDate ? ms(run.state.endDate) : now, state: run.state.current, attempt: 0 }];
}

function label(r) {
  const name = r.value !== null && r.value !== undefined ? `${r.taskId} [${r.value}]` : r.taskId;
  return r.block && r.block !== "tasks" ? `${name} (${r.block})` : name;
}

function countsOf(runs) {
  const counts = {};
  for (const r of runs) counts[r.state.current] = (counts[r.state.current] || 0) + 1;
  return Object.entries(counts).map(([s, n]) => `${n.toLocaleString("en")} ${s}`).join(" · ");
}

// A Gantt that keeps which groups are open across redraws (the live page redraws on each change).
export function createGantt(container) {
  const open = new Map();  // task run id -> open?
  let tree = new Map([[null, []]]);
  let rows = [];
  let span = { start: 0, total: 1, now: 0 };
  const spacer = h("div", { class: "gantt-spacer" });
  const scroller = h("div", { class: "gantt-scroll", id: "gantt", role: "tree", "aria-label": "Task runs over time" }, spacer);
  scroller.style.maxHeight = `${ROW * VIEW_ROWS}px`;
  let drawn = "";

  const isOpen = (r) => (open.has(r.id) ? open.get(r.id) : (tree.get(r.id) || []).length <= OPEN_UP_TO);

  function flatten() {
    rows = [];
    const walk = (parent, depth) => {
      for (const r of tree.get(parent) || []) {
        rows.push({ run: r, depth });
        if ((tree.get(r.id) || []).length && isOpen(r)) walk(r.id, depth + 1);
      }
    };
    walk(null, 0);
    spacer.style.height = `${rows.length * ROW}px`;
  }

  function row(i) {
    const { run: r, depth } = rows[i];
    const kids = tree.get(r.id) || [];
    const segs = segments(r, span.now);
    const track = h("div", { class: "track", dataset: { taskRunId: r.id } });
    for (const s of segs) {
      const bar = h("div", { class: `bar ${s.state}`, dataset: { attempt: String(s.attempt) },
        title: `${r.taskId}${s.attempt ? ` attempt ${s.attempt}` : ""}: ${s.state}, ${duration(s.end - s.start)}` });
      bar.style.left = `${((s.start - span.start) / span.total) * 100}%`;
      bar.style.width = `${Math.max(((s.end - s.start) / span.total) * 100, 0.3)}%`;
      track.append(bar);
    }
    if (segs.length > 1) {  // the waits between attempts (retry delays, the time before a restart)
      const wait = h("div", { class: "wait" });
      wait.style.left = `${((segs[0].start - span.start) / span.total) * 100}%`;
      wait.style.width = `${((segs[segs.length - 1].end - segs[0].start) / span.total) * 100}%`;
      track.prepend(wait);
    }
    for (const hist of r.state.histories || []) {  // where a person restarted it (a retry has no mark)
      if (hist.state !== "RESTARTED") continue;
      const mark = h("div", { class: "restart-mark", title: `restarted ${hist.date}` });
      mark.style.left = `${((ms(hist.date) - span.start) / span.total) * 100}%`;
      track.append(mark);
    }
    const name = h("span", { class: "name", text: label(r), title: label(r) });
    const cell = h("div", { class: "label" });
    cell.style.paddingLeft = `${depth * 16}px`;
    if (kids.length) {
      const expanded = isOpen(r);
      cell.append(h("button", { class: "toggle", type: "button", "aria-expanded": String(expanded),
        "aria-label": `${expanded ? "Collapse" : "Expand"} ${label(r)}`, dataset: { group: r.id },
        text: expanded ? "▾" : "▸", onclick: () => toggle(r) }), name,
      h("span", { class: "count", title: countsOf(kids), text: ` ${kids.length.toLocaleString("en")}` }));
    } else {
      cell.append(h("span", { class: "toggle-space" }), name);
    }
    const total = segs.length ? segs[segs.length - 1].end - segs[0].start : NaN;
    const extra = segs.length > 1 && segs[0].attempt ? ` · ${segs.length} attempts` : "";
    const el = h("div", { class: "gantt-row", role: "treeitem", dataset: { taskId: r.taskId, taskRunId: r.id, state: r.state.current },
      "aria-level": String(depth + 1) }, cell, track, h("div", { class: "dur", text: duration(total) + extra }));
    if (kids.length) el.setAttribute("aria-expanded", String(isOpen(r)));
    el.style.top = `${i * ROW}px`;
    return el;
  }

  // Puts in the DOM the rows of the scrolled window, and only when the window moved or data changed.
  function paint(force = false) {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((scroller.scrollTop + scroller.clientHeight || ROW * VIEW_ROWS) / ROW) + OVERSCAN);
    const key = `${first}:${last}`;
    if (!force && key === drawn) return;
    drawn = key;
    const focused = document.activeElement && scroller.contains(document.activeElement) ? document.activeElement.dataset.group : null;
    const els = [];
    for (let i = first; i < last; i++) els.push(row(i));
    spacer.replaceChildren(...els);
    if (focused) { const b = spacer.querySelector(`button[data-group="${focused}"]`); if (b) b.focus(); }
  }

  function toggle(r) {
    open.set(r.id, !isOpen(r));
    flatten();
    paint(true);
  }

  let pending = false;
  scroller.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; paint(); });
  });

  // Draw (or redraw) with the execution as it is now.
  function render(execution) {
    const runs = execution.taskRunList || [];
    if (!runs.length) { container.replaceChildren(h("div", { class: "empty", text: "No task run yet." })); return; }
    const now = Date.now();
    const start = ms(execution.state.startDate);
    let end = execution.state.endDate && !["RUNNING", "PAUSED", "RESTARTED", "KILLING", "QUEUED"].includes(execution.state.current)
      ? ms(execution.state.endDate) : now;
    for (const r of runs) {
      const e = r.state.endDate ? ms(r.state.endDate) : now;
      if (e > end) end = e;
    }
    span = { start, total: Math.max(end - start, 1), now };
    tree = runTree(runs);
    flatten();
    if (scroller.parentNode !== container) container.replaceChildren(scroller);
    paint(true);
  }

  // `refresh` redraws the window after the panel was hidden (its scroll position could not be read then)
  return { render, refresh: () => paint(true), rowCount: () => rows.length };
}
