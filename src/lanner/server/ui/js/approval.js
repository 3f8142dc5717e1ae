// The Review dialog of an Approval waiting for its decision: the Approval's `inputs` as fields,
// a comment, and Approve / Deny. Sent as JSON to `/executions/{id}/actions/approve|deny` for that
// task run; a refused decision (a missing value, a required comment) shows each problem in the
// dialog and the execution stays PAUSED.
// Keyboard: Tab moves between fields and buttons, Enter approves, Esc closes without deciding.
import { postJson, enc } from "./api.js";
import { h } from "./dom.js";
import { field, formValues, problemText } from "./execute.js";

const APPROVAL = "io.kestra.plugin.core.flow.Approval";

// Each PAUSED Approval run with its task (found by task id anywhere in the flow's YAML).
export function waitingApprovals(flow, exe) {
  const tasks = {};
  (function walk(node) {
    if (Array.isArray(node)) { node.forEach(walk); return; }
    if (!node || typeof node !== "object") return;
    if (node.type === APPROVAL && node.id && !tasks[node.id]) tasks[node.id] = node;
    Object.values(node).forEach(walk);
  })(flow.tasks ? [flow.tasks, flow.errors, flow.finally] : []);
  return exe.taskRunList.filter((r) => r.state.current === "PAUSED" && tasks[r.taskId])
    .map((r) => ({ runId: r.id, taskId: r.taskId, task: tasks[r.taskId] }));
}

export function openApprovalDialog(id, approval, onDecided) {
  const inputs = (approval.task.inputs || []).filter((i) => i && i.id && (i.type || "").toUpperCase() !== "FILE");
  const required = approval.task.commentRequired || "NEVER";
  const error = h("div", { class: "form-error", id: "approval-error", role: "alert" });
  const comment = h("textarea", { id: "approval-comment", name: "comment" });
  const form = h("form", { method: "dialog" },
    h("h2", { text: `Review ${approval.taskId}` }), error,
    ...inputs.map(field),
    h("div", { class: "field" }, h("label", { for: "approval-comment" }, "Comment",
      h("span", { class: "muted", text: required === "NEVER" ? "" : `  required ${required.toLowerCase().replace("_", " ")}` })),
    comment),
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", id: "approval-cancel", text: "Cancel", onclick: () => dialog.close() }),
      h("button", { type: "button", class: "danger", id: "approval-deny", text: "Deny", onclick: () => send("deny") }),
      h("button", { type: "submit", class: "primary", id: "approval-approve", text: "Approve" })));
  const dialog = h("dialog", { id: "approval-dialog" }, form);
  async function send(action) {
    const values = Object.fromEntries(formValues(form, inputs).entries());
    try {
      await postJson(`/executions/${enc(id)}/actions/${action}`,
        { taskRunId: approval.runId, comment: comment.value || null, inputs: values });
      dialog.close();
      onDecided(action === "approve" ? "Approved" : "Denied");
    } catch (err) {
      error.textContent = problemText(err);
    }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); send("approve"); });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
