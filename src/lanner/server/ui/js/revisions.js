// The Revisions dialog of the flow editor: every saved revision of the flow (GET …/revisions), the
// chosen one compared line by line with the editor's text, and Restore, which puts that revision's
// text in the editor (unsaved: saving it makes a new revision, as Kestra does, history is kept).
import { get, enc } from "./api.js";
import { h, when } from "./dom.js";
import { diffLines } from "./vendor/codemirror.bundle.js";

function diffView(older, current) {
  const rows = [];
  for (const part of diffLines(older, current)) {
    const kind = part.added ? "added" : part.removed ? "removed" : "same";
    const mark = part.added ? "+ " : part.removed ? "- " : "  ";
    for (const line of part.value.replace(/\n$/, "").split("\n")) rows.push(h("div", { class: `diff-${kind}`, text: mark + line }));
  }
  return rows;
}

// Opens the dialog; `restore(text)` is called with the chosen revision's source.
export async function openRevisionsDialog(namespace, flowId, currentText, restore) {
  const revisions = (await get(`/flows/${enc(namespace)}/${enc(flowId)}/revisions`)).reverse();
  const select = h("select", { id: "revision-select", "aria-label": "Revision" },
    ...revisions.map((r) => h("option", { value: String(r.revision), text: `revision ${r.revision} — ${when(r.updated)}` })));
  const diff = h("pre", { class: "diff", id: "revision-diff", tabindex: "0", "aria-label": "Changes from the revision to the editor text" });
  const chosen = () => revisions.find((r) => String(r.revision) === select.value);
  const show = () => diff.replaceChildren(...diffView(chosen().source, currentText));
  select.addEventListener("change", show);
  const form = h("form", { method: "dialog" },
    h("h2", { text: `Revisions of ${namespace}.${flowId}` }),
    h("div", { class: "field" }, h("label", { for: "revision-select", text: "Compare the editor text with" }), select),
    h("p", { class: "muted", text: "− lines only in the revision, + lines only in the editor" }), diff,
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", id: "revisions-close", text: "Close", onclick: () => dialog.close() }),
      h("button", { type: "submit", class: "primary", id: "restore-revision", text: "Restore in the editor" })));
  const dialog = h("dialog", { id: "revisions-dialog", class: "wide" }, form);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    restore(chosen().source);
    dialog.close();
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  if (revisions.length > 1) select.value = String(revisions[1].revision); // the one before the latest
  show();
  dialog.showModal();
  select.focus();
  return dialog;
}
