// The actions on an ended execution, each through a dialog that asks first: Replay (whole, or from a
// chosen top-level task), Change status, Labels, Delete. Keyboard: the first field (or, for Delete,
// Cancel) has the focus, Tab moves, Enter confirms, Esc closes with nothing done. A refused action
// shows the server's message in its dialog, which stays open.
import { call, postJson, enc } from "./api.js";
import { h, toast } from "./dom.js";
import { openFormDialog } from "./dialogs.js";

const SETTABLE = ["SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED"];

// A modal form (dialogs.js): `body` its fields, `submit` its confirming button text; `act` runs on
// Enter or the button and closes the dialog when it resolves.
function formDialog(id, title, body, submit, act, { danger = false, focus = "first" } = {}) {
  return openFormDialog({ id, title, fields: body, submitText: submit, danger, focus, onSubmit: act });
}

// The task runs a replay can start from: those of the top-level `tasks` (a nested run shares its
// parent's state, which a copy cannot rebuild; the server refuses it with that reason).
export function replayStarts(exe) {
  return exe.taskRunList.filter((r) => !r.parentTaskRunId && (r.block || "tasks") === "tasks");
}

export function openReplayDialog(exe) {
  const select = h("select", { id: "replay-from" }, h("option", { value: "", text: "The whole execution" }),
    ...replayStarts(exe).map((r) => h("option", { value: r.id, text: `From ${r.taskId} (${r.state.current})` })));
  const note = h("p", { class: "muted", text: "A new execution runs the same flow revision with the same inputs; "
    + "from a task, the runs before it are copied with their outputs." });
  return formDialog("replay-dialog", "Replay the execution", [h("div", { class: "field" },
    h("label", { for: "replay-from", text: "Start" }), select), note], "Replay", async () => {
    const q = select.value ? `?taskRunId=${enc(select.value)}` : "";
    const fresh = await call("POST", `/executions/${enc(exe.id)}/replay${q}`);
    toast(`Replayed as ${fresh.id}`);
    location.hash = `#/executions/${fresh.id}`;
  });
}

export function openStatusDialog(exe, onChanged) {
  const select = h("select", { id: "status-to" }, ...SETTABLE.map((s) => h("option", { value: s, text: s })));
  select.value = SETTABLE.includes(exe.state.current) ? exe.state.current : "SUCCESS";
  return formDialog("status-dialog", "Change the status", [h("div", { class: "field" },
    h("label", { for: "status-to", text: `From ${exe.state.current} to` }), select)], "Change status", async () => {
    onChanged(await call("POST", `/executions/${enc(exe.id)}/change-status?status=${enc(select.value)}`));
    toast(`Status set to ${select.value}`);
  });
}

export function openLabelsDialog(exe, onChanged) {
  const rows = h("div", { id: "label-rows" });
  const system = exe.labels.filter((l) => l.key.startsWith("system."));
  const addRow = (key = "", value = "") => {
    const row = h("div", { class: "label-row" },
      h("input", { class: "label-key", "aria-label": "Label key", placeholder: "key", value: key }),
      h("input", { class: "label-value", "aria-label": "Label value", placeholder: "value", value }),
      h("button", { type: "button", class: "label-remove", "aria-label": `Remove label ${key}`, text: "×",
        onclick: () => row.remove() }));
    rows.append(row);
    return row;
  };
  exe.labels.filter((l) => !l.key.startsWith("system.")).forEach((l) => addRow(l.key, l.value));
  if (!rows.children.length) addRow();
  const add = h("button", { type: "button", id: "label-add", text: "Add a label",
    onclick: () => addRow().querySelector("input").focus() });
  const kept = system.length ? h("p", { class: "muted", text: `Kept as set by Lanner: ${system.map((l) => `${l.key}:${l.value}`).join(", ")}` }) : null;
  return formDialog("labels-dialog", "Labels", [rows, add, kept], "Save labels", async () => {
    const labels = [...rows.querySelectorAll(".label-row")].map((r) => ({
      key: r.querySelector(".label-key").value.trim(), value: r.querySelector(".label-value").value,
    })).filter((l) => l.key || l.value);
    onChanged(await postJson(`/executions/${enc(exe.id)}/labels`, labels));
    toast("Labels saved");
  });
}

export function openDeleteDialog(exe) {
  const text = h("p", {}, "Delete execution ", h("span", { class: "mono", text: exe.id }),
    ` of ${exe.namespace}.${exe.flowId}, with its logs and files? This cannot be undone.`);
  return formDialog("delete-dialog", "Delete the execution", [text], "Delete", async () => {
    await call("DELETE", `/executions/${enc(exe.id)}`);
    toast("Execution deleted");
    location.hash = "#/executions";
  }, { danger: true, focus: "cancel" });
}
