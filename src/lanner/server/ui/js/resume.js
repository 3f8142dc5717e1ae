// The Resume dialog of a PAUSED execution, generated from the `onResume` inputs of its paused
// tasks (found in the flow revision it runs). Sent as multipart form data, files included; a
// refused resume shows each problem in the dialog, and the execution stays PAUSED.
// Keyboard: Tab moves between fields, Enter resumes, Esc closes without resuming.
import { postForm, enc } from "./api.js";
import { h } from "./dom.js";
import { field, formValues, problemText } from "./execute.js";

// The `onResume` inputs of each PAUSED task run, looked up by task id anywhere in the flow's YAML.
export function resumeInputs(flow, exe) {
  const paused = new Set(exe.taskRunList.filter((r) => r.state.current === "PAUSED").map((r) => r.taskId));
  const found = [];
  const seen = new Set();
  (function walk(node) {
    if (Array.isArray(node)) { node.forEach(walk); return; }
    if (!node || typeof node !== "object") return;
    if (paused.has(node.id) && Array.isArray(node.onResume) && !seen.has(node.id)) {
      seen.add(node.id);
      found.push(...node.onResume.filter((i) => i && i.id));
    }
    Object.values(node).forEach(walk);
  })(flow.tasks ? [flow.tasks, flow.errors, flow.finally] : []);
  return found;
}

export function openResumeDialog(id, inputs, onResumed) {
  const error = h("div", { class: "form-error", id: "resume-error", role: "alert" });
  const form = h("form", { method: "dialog" },
    h("h2", { text: "Resume the execution" }), error,
    ...inputs.map(field),
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", id: "resume-cancel", text: "Cancel", onclick: () => dialog.close() }),
      h("button", { type: "submit", class: "primary", id: "resume-submit", text: "Resume" })));
  const dialog = h("dialog", { id: "resume-dialog" }, form);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await postForm(`/executions/${enc(id)}/resume`, formValues(form, inputs));
      dialog.close();
      onResumed();
    } catch (err) {
      error.textContent = problemText(err);
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
