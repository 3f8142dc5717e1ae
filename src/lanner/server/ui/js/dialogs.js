// The app's form dialogs (the namespaces pages' files and KV keys, an execution's replay, status,
// labels and delete): one form per dialog. Keyboard: the first field has the focus, Tab moves
// through fields and buttons, Enter submits (in a text field, on the primary button, or in a
// select), Esc closes without change. An action the server refuses (a path with `..`, a bad key, a
// system label) keeps the dialog open with the server's message and hint, so the user can correct
// what they typed.
import { h } from "./dom.js";

// The message of an API error, with its hint ("what to do") and each listed problem.
export function problemMessage(err) {
  const p = (err && err.problem) || {};
  const items = Array.isArray(p.errors) && p.errors.length > 1 ? p.errors.map((i) => i.text || i.message) : [];
  const head = (err && err.message) || "failed";
  const hint = p.hint && !head.includes(p.hint) ? ` — ${p.hint}` : "";
  return [head + hint, ...items].join("\n");
}

// A labelled field around an input, select or textarea (given its id).
export function field(label, control, note = null) {
  return h("div", { class: "field" }, h("label", { for: control.id, text: label }), control,
    note ? h("span", { class: "desc", text: note }) : null);
}

// Opens a modal form. `onSubmit()` does the work (async); when it throws, its message is shown
// and the dialog stays; when it returns, the dialog closes. `focus`: "first" (the first field),
// "submit" or "cancel". Returns the dialog element.
export function openFormDialog({ id, title, fields = [], submitText, danger = false, focus = "first", onSubmit }) {
  const error = h("div", { class: "form-error", id: `${id}-error`, role: "alert" });
  const submit = h("button", { type: "submit", class: danger ? "danger" : "primary", id: `${id}-submit`, text: submitText });
  const cancel = h("button", { type: "button", id: `${id}-cancel`, text: "Cancel" });
  const form = h("form", { method: "dialog" }, h("h2", { text: title }), error, ...fields,
    h("div", { class: "dialog-actions" }, cancel, submit));
  const dialog = h("dialog", { id, class: "form-dialog", "aria-label": title }, form);
  cancel.addEventListener("click", () => dialog.close());
  let busy = false;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (busy) return;
    busy = true;
    submit.disabled = true;
    error.textContent = "";
    try {
      await onSubmit();
      dialog.close();
    } catch (err) {
      error.textContent = problemMessage(err);
    } finally {
      busy = false;
      submit.disabled = false;
    }
  });
  // Enter confirms from a select too (a browser submits a form on Enter in a text field only)
  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.tagName === "SELECT") { e.preventDefault(); form.requestSubmit(); }
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  const first = focus === "submit" ? submit : focus === "cancel" ? cancel
    : form.querySelector("input:not([readonly]):not([type=hidden]), select, textarea");
  (first || submit).focus();
  if (first && first.select && first.type === "text") first.select();
  return dialog;
}

// A question before something is deleted: Enter (on the focused Delete button) confirms, Esc keeps it.
export function confirmDelete({ id, title, text, onConfirm }) {
  return openFormDialog({ id, title, fields: [h("p", { id: `${id}-text`, text })], submitText: "Delete",
    danger: true, focus: "submit", onSubmit: onConfirm });
}
