// The triggers page: every trigger of the stored flows with its state, next and last fire, the
// URL of a Webhook (with a copy button), enable/disable one or the selected ones, and for a
// Schedule its backfill — started from a dialog (dates, inputs, labels), then followed, paused,
// unpaused or deleted. Refreshed every 2 s while shown, so a backfill's progress moves.
// Keyboard: the backfill dialog opens with the start date focused; Tab moves, Enter starts, Esc closes.
import { get, call, postJson, enc } from "./api.js";
import { h, when, toast } from "./dom.js";
import { field, formValues, problemText } from "./execute.js";

const SCHEDULE = "io.kestra.plugin.core.trigger.Schedule";
const WEBHOOK = "io.kestra.plugin.core.trigger.Webhook";
const ALIASES = { "io.kestra.core.models.triggers.types.Schedule": SCHEDULE, "io.kestra.core.models.triggers.types.Webhook": WEBHOOK };
const REFRESH_MS = 2000;

const putJson = (path, data) => call("PUT", path, { body: JSON.stringify(data), headers: { "Content-Type": "application/json" } });
const keyOf = (c) => ({ namespace: c.namespace, flowId: c.flowId, triggerId: c.triggerId });
const kind = (type) => ALIASES[type] || type;

export function webhookUrl(c, definition) {
  return `${location.origin}/api/v1/executions/webhook/${enc(c.namespace)}/${enc(c.flowId)}/${enc(definition.key)}`;
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast("Webhook URL copied");
  } catch (_) { // no clipboard permission (plain http on another host): select it for Ctrl+C instead
    toast("Copy refused by the browser: select the URL and press Ctrl+C", true);
  }
}

function backfillCell(c, reload) {
  const bf = c.backfill;
  const act = (action) => async () => {
    try {
      if (action === "delete") await postJson("/triggers/backfill/delete", keyOf(c));
      else await putJson(`/triggers/backfill/${action}`, keyOf(c));
      await reload();
    } catch (err) { toast(problemText(err), true); }
  };
  if (bf) {
    const pct = bf.total ? Math.round((100 * bf.fired) / bf.total) : 0;
    return h("div", { class: "backfill" },
      h("progress", { max: bf.total, value: bf.fired, "aria-label": "backfill progress" }),
      h("span", { class: "backfill-count", text: ` ${bf.fired} / ${bf.total} (${pct}%)${bf.paused ? " · paused" : ""}` }),
      h("div", { class: "muted small", text: `${when(bf.start)} → ${when(bf.end)}` }),
      h("div", { class: "row-actions" },
        bf.paused ? h("button", { class: "backfill-unpause", text: "Unpause", onclick: act("unpause") })
          : h("button", { class: "backfill-pause", text: "Pause", onclick: act("pause") }),
        h("button", { class: "danger backfill-delete", text: "Delete", onclick: act("delete") })));
  }
  const last = c.lastBackfill;
  return h("div", {},
    last ? h("div", { class: "muted small backfill-last",
      text: `last backfill ${last.outcome}: ${last.fired} / ${last.total} (${when(last.start)} → ${when(last.end)})` }) : null,
    h("button", { class: "backfill-open", text: "Backfill…", disabled: c.disabled,
      title: c.disabled ? "enable the trigger first" : null, onclick: () => openBackfillDialog(c, reload) }));
}

// A refresh rebuilds the rows: the control that had the focus gets it back (keyboard users keep their place).
function focusOf(body) {
  const el = document.activeElement;
  const row = el && body.contains(el) ? el.closest("tr[data-trigger]") : null;
  return row ? { trigger: row.dataset.trigger, control: el.classList[el.classList.length - 1] || el.tagName } : null;
}

function refocus(body, focused) {
  if (!focused) return;
  const row = [...body.querySelectorAll("tr[data-trigger]")].find((r) => r.dataset.trigger === focused.trigger);
  const el = row && (row.querySelector(`.${CSS.escape(focused.control)}`) || row.querySelector(focused.control));
  if (el) el.focus();
}

export async function triggersPage(view) {
  const q = h("input", { type: "search", id: "trigger-search", placeholder: "Search flow, namespace or trigger" });
  const all = h("input", { type: "checkbox", id: "trigger-select-all", "aria-label": "select all" });
  const enable = h("button", { id: "triggers-enable", text: "Enable selected", disabled: true });
  const disable = h("button", { id: "triggers-disable", text: "Disable selected", disabled: true });
  const body = h("tbody");
  const info = h("span", { class: "muted" });
  view.append(h("h1", {}, "Triggers"),
    h("div", { class: "toolbar" }, q, h("span", { class: "spacer" }), enable, disable),
    h("table", { id: "triggers-table" },
      h("thead", {}, h("tr", {}, h("th", {}, all),
        ...["Flow", "Trigger", "Type", "State", "Next fire", "Last fire", "Webhook / backfill"].map((t) => h("th", { text: t })))),
      body),
    h("div", { class: "pager" }, info));
  const selected = new Set();
  let rows = [];

  function syncSelection() {
    enable.disabled = disable.disabled = selected.size === 0;
    all.checked = rows.length > 0 && selected.size === rows.length;
  }

  let latest = 0; // answers can come back out of order (typing, the refresh): only the newest is shown
  async function load() {
    const asked = ++latest;
    const page = await get(`/triggers/search?size=1000&sort=namespace:asc${q.value ? "&q=" + enc(q.value) : ""}`);
    if (asked !== latest) return;
    rows = page.results;
    const known = new Set(rows.map((r) => JSON.stringify(keyOf(r.triggerContext))));
    for (const k of [...selected]) if (!known.has(k)) selected.delete(k);
    const focused = focusOf(body);
    body.replaceChildren();
    if (!rows.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "empty", text: "No trigger: add `triggers` to a flow." })));
    for (const { abstractTrigger: def, triggerContext: c } of rows) {
      const key = JSON.stringify(keyOf(c));
      const type = kind(c.type);
      const box = h("input", { type: "checkbox", class: "trigger-select", "aria-label": `select ${c.triggerId}`, checked: selected.has(key) });
      box.addEventListener("change", () => { if (box.checked) selected.add(key); else selected.delete(key); syncSelection(); });
      const toggle = h("button", { class: "trigger-toggle", text: c.disabled ? "Enable" : "Disable",
        onclick: async () => {
          try { await putJson("/triggers", { ...keyOf(c), disabled: !c.disabled }); await load(); }
          catch (err) { toast(problemText(err), true); }
        } });
      let extra = null;
      if (type === WEBHOOK && def && def.key) {
        const url = webhookUrl(c, def);
        extra = h("div", { class: "webhook" }, h("input", { class: "mono webhook-url", readonly: true, value: url, size: 38, "aria-label": "webhook URL" }),
          h("button", { class: "webhook-copy", text: "Copy", onclick: () => copy(url) }));
      } else if (type === SCHEDULE) {
        extra = backfillCell(c, load);
      }
      body.append(h("tr", { dataset: { trigger: `${c.namespace}.${c.flowId}.${c.triggerId}` } },
        h("td", {}, box),
        h("td", {}, h("a", { href: `#/flows/edit/${enc(c.namespace)}/${enc(c.flowId)}`, text: `${c.namespace}.${c.flowId}` })),
        h("td", { class: "mono", text: c.triggerId }),
        h("td", { text: type.split(".").pop(), title: c.type }),
        h("td", {}, h("span", { class: `badge ${c.disabled ? "KILLED" : "SUCCESS"} trigger-state`, text: c.disabled ? "disabled" : "enabled" }),
          " ", toggle, c.stoppedBy ? h("div", { class: "muted small", text: `stopped after ${c.stoppedBy.state}` }) : null,
          c.lastError ? h("div", { class: "form-error small trigger-error", text: c.lastError }) : null),
        h("td", { class: "muted", text: type === SCHEDULE ? when(c.nextExecutionDate) : "" }),
        h("td", {}, c.date ? h("span", { class: "muted", text: when(c.date) + " " }) : null,
          c.executionId ? h("a", { class: "mono", href: `#/executions/${enc(c.executionId)}`, text: c.executionId.slice(0, 8) }) : null),
        h("td", {}, extra)));
    }
    info.textContent = `${page.total} trigger(s)`;
    syncSelection();
    refocus(body, focused);
  }

  async function bulk(disabled) {
    const triggers = [...selected].map((k) => JSON.parse(k));
    try {
      const r = await postJson("/triggers/set-disabled/by-triggers", { triggers, disabled });
      toast(`${r.count} trigger(s) ${disabled ? "disabled" : "enabled"}`);
      await load();
    } catch (err) { toast(problemText(err), true); }
  }
  all.addEventListener("change", () => {
    selected.clear();
    if (all.checked) rows.forEach((r) => selected.add(JSON.stringify(keyOf(r.triggerContext))));
    body.querySelectorAll(".trigger-select").forEach((b) => { b.checked = all.checked; });
    syncSelection();
  });
  enable.addEventListener("click", () => bulk(false));
  disable.addEventListener("click", () => bulk(true));
  q.addEventListener("input", () => load().catch((e) => toast(e.message, true)));
  await load();
  // Refresh for progress, but never under an open dialog or while the search field has the focus.
  const timer = setInterval(() => {
    if (document.querySelector("dialog[open]") || document.activeElement === q) return;
    load().catch(() => { /* a missed refresh is retried on the next tick */ });
  }, REFRESH_MS);
  return () => clearInterval(timer);
}

// `datetime-local` values are the browser's local time: sent as UTC instants.
function instant(value) {
  return value ? new Date(value).toISOString() : null;
}

function localValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export async function openBackfillDialog(c, onStarted) {
  let inputs = [];
  try { inputs = ((await get(`/flows/${enc(c.namespace)}/${enc(c.flowId)}`)).inputs || []).filter((i) => (i.type || "").toUpperCase() !== "FILE"); }
  catch (err) { toast(problemText(err), true); return null; }
  const now = new Date();
  const error = h("div", { class: "form-error", id: "backfill-error", role: "alert" });
  const start = h("input", { type: "datetime-local", id: "backfill-start", required: true, value: localValue(new Date(now - 86400000)) });
  const end = h("input", { type: "datetime-local", id: "backfill-end", value: localValue(now) });
  const labels = h("input", { type: "text", id: "backfill-labels", placeholder: "team:data, reason:outage" });
  const form = h("form", { method: "dialog" },
    h("h2", { text: `Backfill ${c.triggerId} of ${c.namespace}.${c.flowId}` }),
    h("p", { class: "muted small", text: "One execution per scheduled date in the range, oldest first (your local time)." }), error,
    h("div", { class: "field" }, h("label", { for: "backfill-start", text: "Start" }), start),
    h("div", { class: "field" }, h("label", { for: "backfill-end", text: "End (empty: now)" }), end),
    ...inputs.map(field),
    h("div", { class: "field" }, h("label", { for: "backfill-labels", text: "Labels" }), labels),
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", id: "backfill-cancel", text: "Cancel", onclick: () => dialog.close() }),
      h("button", { type: "submit", class: "primary", id: "backfill-submit", text: "Start backfill" })));
  const dialog = h("dialog", { id: "backfill-dialog" }, form);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const labelMap = {};
    for (const part of labels.value.split(",").map((s) => s.trim()).filter(Boolean)) {
      const at = part.indexOf(":");
      if (at < 1) { error.textContent = `label \`${part}\` is not key:value`; return; }
      labelMap[part.slice(0, at).trim()] = part.slice(at + 1).trim();
    }
    const backfill = { start: instant(start.value), end: instant(end.value),
      inputs: Object.fromEntries(formValues(form, inputs).entries()), labels: labelMap };
    try {
      await putJson("/triggers", { ...keyOf(c), backfill });
      dialog.close();
      toast("Backfill started");
      await onStarted();
    } catch (err) {
      error.textContent = problemText(err);
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  start.focus();
  return dialog;
}
