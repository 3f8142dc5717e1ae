// The executions list: filters (text, namespace, flow, state, labels, date range) kept in the URL
// hash so a filtered view can be shared, paging, live refresh, and bulk actions (kill, restart,
// delete, labels) on the rows chosen or on every execution the filters match.
import { get, call, follow } from "./api.js";
import { h, badge, when, duration, toast } from "./dom.js";
import { rangePicker, setHash } from "./ranges.js";

const STATES = ["", "CREATED", "RUNNING", "PAUSED", "KILLING", "SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRYING"];
const SIZE = 25;
const JSON_TYPE = { "Content-Type": "application/json" };
const BY_QUERY_LIMIT = 10000; // executions one by-query call acts on (server/routes/execution_edits.py)

// Each bulk action: its button, its verb in the confirm dialog, and its Kestra route by ids / by query.
const ACTIONS = {
  kill: { text: "Kill", verb: "Kill", done: "killed", danger: true,
    note: "Only running executions are killed; their finally tasks still run.",
    ids: (ids) => call("DELETE", "/executions/kill/by-ids", { body: JSON.stringify(ids), headers: JSON_TYPE }),
    query: (qs) => call("DELETE", `/executions/kill/by-query?${qs}`) },
  restart: { text: "Restart", verb: "Restart", done: "restarted",
    note: "Only FAILED or KILLED executions restart, from their failed task.",
    ids: (ids) => call("POST", "/executions/restart/by-ids", { body: JSON.stringify(ids), headers: JSON_TYPE }),
    query: (qs) => call("POST", `/executions/restart/by-query?${qs}`) },
  delete: { text: "Delete", verb: "Delete", done: "deleted", danger: true,
    note: "Only ended executions are deleted, with their logs and files. This cannot be undone.",
    ids: (ids) => call("DELETE", "/executions/by-ids", { body: JSON.stringify(ids), headers: JSON_TYPE }),
    query: (qs) => call("DELETE", `/executions/by-query?${qs}`) },
  labels: { text: "Set labels…", verb: "Add labels to", done: "labelled", labels: true,
    note: "Only ended executions get labels; a label with the same key is replaced, the others kept.",
    ids: (ids, labels) => call("POST", "/executions/labels/by-ids",
      { body: JSON.stringify({ executionsId: ids, executionLabels: labels }), headers: JSON_TYPE }),
    query: (qs, labels) => call("POST", `/executions/labels/by-query?${qs}`, { body: JSON.stringify(labels), headers: JSON_TYPE }) },
};

// `team:data env:prod` (spaces or commas) → ["team:data", "env:prod"]; null when one is not key:value.
function parseLabels(text) {
  const items = text.split(/[\s,]+/).filter(Boolean);
  return items.every((i) => /^[^:]+:.*$/.test(i)) ? items : null;
}

// The confirm dialog of a bulk action: says how many executions it touches; Enter confirms, Esc
// cancels; the labels action asks for the labels first. Resolves to the labels (or true), or null.
function confirmBulk(action, count, scope) {
  return new Promise((resolve) => {
    const labelsInput = action.labels ? h("input", { id: "bulk-labels-input", placeholder: "team:data env:prod",
      "aria-label": "Labels (key:value)", required: true }) : null;
    const problem = h("p", { class: "error", id: "bulk-problem", role: "alert" });
    const form = h("form", { method: "dialog" },
      h("h2", { text: `${action.verb} ${count} execution${count === 1 ? "" : "s"}?` }),
      h("p", { text: scope }),
      h("p", { class: "muted", text: action.note }),
      labelsInput ? h("label", {}, "Labels to add or replace (key:value) ", labelsInput) : null,
      problem,
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", id: "bulk-cancel", text: "Cancel", onclick: () => dialog.close() }),
        h("button", { type: "submit", id: "bulk-confirm", class: action.danger ? "danger" : "primary",
          text: `${action.text.replace("…", "")} ${count}` })));
    const dialog = h("dialog", { id: "bulk-dialog", "aria-label": `${action.verb} executions` }, form);
    let answer = null;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (labelsInput) {
        const items = parseLabels(labelsInput.value);
        if (!items || !items.length) { problem.textContent = "Write labels as key:value, separated by spaces."; labelsInput.focus(); return; }
        answer = items.map((i) => { const at = i.indexOf(":"); return { key: i.slice(0, at), value: i.slice(at + 1) }; });
      } else answer = true;
      dialog.close();
    });
    dialog.addEventListener("close", () => { dialog.remove(); resolve(answer); });
    document.body.append(dialog);
    dialog.showModal();
    (labelsInput || form.querySelector("#bulk-confirm")).focus();
  });
}

export async function executionsPage(view, params) {
  const input = (id, placeholder, key) => h("input", { type: "search", id, placeholder, "aria-label": placeholder,
    value: params.get(key) || "" });
  const ns = input("filter-namespace", "Namespace", "namespace");
  const flow = input("filter-flow", "Flow id", "flowId");
  const q = input("filter-q", "Search id, flow, namespace…", "q");
  const labels = h("input", { type: "search", id: "filter-labels", placeholder: "Labels key:value", "aria-label": "Labels key:value",
    value: params.getAll("labels").join(" ") });
  const state = h("select", { id: "filter-state", "aria-label": "State" }, ...STATES.map((s) => h("option", { value: s, text: s || "Any state" })));
  state.value = params.get("state") || "";
  const range = rangePicker(params, { anyTime: true, onChange: () => refilter() });
  const live = h("input", { type: "checkbox", id: "live-refresh", checked: true });
  const body = h("tbody");
  const info = h("span", { class: "muted", id: "executions-total" });
  const prev = h("button", { text: "‹ Newer", id: "page-prev" });
  const next = h("button", { text: "Older ›", id: "page-next" });
  const pageInfo = h("span", { class: "muted", id: "page-info" });
  const all = h("input", { type: "checkbox", id: "select-page", "aria-label": "Select every execution of this page" });
  const chosenInfo = h("span", { id: "selection-info" });
  const allMatching = h("button", { type: "button", id: "select-all-matching", class: "link", hidden: true });
  const buttons = Object.entries(ACTIONS).map(([key, a]) => h("button", { type: "button", id: `bulk-${key}`, text: a.text,
    class: a.danger ? "danger" : "", disabled: true, onclick: () => runBulk(a) }));
  let page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  let rows = []; // ids of the page shown
  let total = 0;
  const chosen = new Set();
  let everyMatching = false; // "all N matching": the bulk action goes by query

  view.append(h("h1", {}, "Executions"),
    h("div", { class: "toolbar" }, q, ns, flow, state, labels, ...range.elements, h("label", {}, live, " live"),
      h("span", { class: "spacer" })),
    h("div", { class: "toolbar bulk-bar", id: "bulk-bar" }, chosenInfo, allMatching, h("span", { class: "spacer" }), ...buttons),
    h("table", { id: "executions-table" },
      h("thead", {}, h("tr", {}, h("th", { class: "check" }, all),
        ...["Id", "Flow", "State", "Started", "Duration", "Trigger", "Labels"].map((t) => h("th", { text: t })))),
      body),
    h("div", { class: "pager" }, info, pageInfo, prev, next));

  function filters() {
    const f = { q: q.value.trim(), namespace: ns.value.trim(), flowId: flow.value.trim(), state: state.value,
      labels: parseLabels(labels.value.trim()) || [] };
    return f;
  }
  function queryString() {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...filters(), ...range.apiParams() })) {
      for (const one of [].concat(v)) if (one) qs.append(k, one);
    }
    return qs;
  }
  function showSelection() {
    const count = everyMatching ? total : chosen.size;
    chosenInfo.textContent = count ? `${count} selected${everyMatching ? " (every execution matching the filters)" : ""}` : "No execution selected";
    for (const b of buttons) b.disabled = count === 0;
    const pageFull = rows.length > 0 && rows.every((id) => chosen.has(id));
    all.checked = everyMatching || pageFull;
    all.indeterminate = !all.checked && rows.some((id) => chosen.has(id));
    allMatching.hidden = !everyMatching && !(pageFull && total > rows.length);
    allMatching.textContent = everyMatching ? "Clear selection" : `Select all ${total} matching`;
    for (const box of body.querySelectorAll("input[type=checkbox]")) {
      box.checked = everyMatching || chosen.has(box.dataset.id);
      box.disabled = everyMatching;
    }
  }
  function clearSelection() { chosen.clear(); everyMatching = false; }

  async function load() {
    const f = filters();
    labels.classList.toggle("invalid", labels.value.trim() !== "" && !parseLabels(labels.value.trim()));
    setHash("executions", { ...f, ...range.hashParams(), page: page > 1 ? page : "" });
    const qs = queryString();
    qs.set("page", page);
    qs.set("size", SIZE);
    const result = await get(`/executions/search?${qs}`);
    if (!result.results.length && page > 1 && result.total > 0) { // e.g. a shared link to a page that is gone
      page = Math.ceil(result.total / SIZE);
      return load();
    }
    rows = result.results.map((e) => e.id);
    total = result.total;
    body.replaceChildren();
    if (!result.results.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "empty", text: "No execution matches." })));
    for (const e of result.results) {
      const start = e.state.startDate ? Date.parse(e.state.startDate) : null;
      const end = e.state.endDate ? Date.parse(e.state.endDate) : Date.now();
      const box = h("input", { type: "checkbox", dataset: { id: e.id }, "aria-label": `Select ${e.id}` });
      box.addEventListener("change", () => { if (box.checked) chosen.add(e.id); else chosen.delete(e.id); showSelection(); });
      body.append(h("tr", { dataset: { execution: e.id } },
        h("td", { class: "check" }, box),
        h("td", { class: "mono" }, h("a", { href: `#/executions/${e.id}`, text: e.id })),
        h("td", {}, `${e.namespace}.${e.flowId}`),
        h("td", {}, badge(e.state.current)),
        h("td", { class: "muted", text: when(e.state.startDate) }),
        h("td", { text: start ? duration(end - start) : "" }),
        h("td", { class: "muted", text: e.trigger ? e.trigger.id : "" }),
        h("td", { class: "muted", text: (e.labels || []).filter((l) => !l.key.startsWith("system.")).map((l) => `${l.key}:${l.value}`).join(" ") })));
    }
    info.textContent = `${result.total} execution(s)`;
    const pages = Math.max(1, Math.ceil(result.total / SIZE));
    pageInfo.textContent = `page ${page} of ${pages}`;
    prev.disabled = page <= 1;
    next.disabled = page * SIZE >= result.total;
    showSelection();
  }

  async function runBulk(action) {
    const count = everyMatching ? total : chosen.size;
    let scope = everyMatching ? "Every execution matching the current filters." : "The executions selected in the list.";
    if (everyMatching && total > BY_QUERY_LIMIT) scope += ` At most ${BY_QUERY_LIMIT} are acted on at once: run it again for the rest.`;
    const answer = await confirmBulk(action, count, scope);
    if (answer === null) return;
    const chosenLabels = answer === true ? undefined : answer;
    try {
      const result = everyMatching ? await action.query(queryString(), chosenLabels) : await action.ids([...chosen], chosenLabels);
      toast(`${result ? result.count : count} execution(s) ${action.done}`);
      clearSelection();
    } catch (e) {
      const refused = e.problem && e.problem.invalids ? ` (${e.problem.invalids.length} refused; nothing was done)` : "";
      toast(e.message + refused, true);
    }
    await reload();
  }

  const reload = () => load().catch((e) => toast(e.message, true));
  let typing = null;
  const refilter = () => { page = 1; clearSelection(); clearTimeout(typing); typing = setTimeout(reload, 250); };
  for (const el of [ns, flow, q, labels]) el.addEventListener("input", refilter);
  state.addEventListener("change", refilter);
  all.addEventListener("change", () => {
    if (everyMatching) clearSelection();
    else for (const id of rows) { if (all.checked) chosen.add(id); else chosen.delete(id); }
    showSelection();
  });
  allMatching.addEventListener("click", () => { if (everyMatching) clearSelection(); else everyMatching = true; showSelection(); });
  prev.addEventListener("click", () => { page -= 1; reload(); });
  next.addEventListener("click", () => { page += 1; reload(); });
  await reload();
  let pending = null;
  const close = follow("/executions/follow", (id) => {
    if (id !== "progress" || !live.checked || pending) return;
    pending = setTimeout(() => { pending = null; reload(); }, 300);
  });
  return () => { close(); clearTimeout(pending); clearTimeout(typing); };
}
