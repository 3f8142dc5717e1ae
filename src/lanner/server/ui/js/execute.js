// The Execute dialog, generated from the flow's typed inputs; sends them as multipart form data
// (files included) and opens the new execution.
import { postForm, enc } from "./api.js";
import { h } from "./dom.js";

export function field(input) {
  const name = `input-${input.id}`;
  const type = (input.type || "STRING").toUpperCase();
  const def = input.defaults ?? input.prefill;
  let control;
  if (type === "BOOLEAN" || type === "BOOL") {
    control = h("select", { name, id: name }, h("option", { value: "true", text: "true" }), h("option", { value: "false", text: "false" }));
    control.value = def === undefined || def === null ? (input.required === false ? "" : "false") : String(def);
  } else if ((type === "SELECT" || type === "ENUM") && Array.isArray(input.values)) {
    control = h("select", { name, id: name }, ...input.values.map((v) => h("option", { value: String(v), text: String(v) })));
    if (def !== undefined && def !== null) control.value = String(def);
  } else if (type === "MULTISELECT" && Array.isArray(input.values)) {
    control = h("select", { name, id: name, multiple: true }, ...input.values.map((v) => h("option", { value: String(v), text: String(v) })));
  } else if (type === "JSON" || type === "YAML" || type === "ARRAY" || type === "OBJECT" || type === "TABLE") {
    control = h("textarea", { name, id: name, placeholder: recordShape(input, type) });
    if (def !== undefined && def !== null) control.value = typeof def === "string" ? def : JSON.stringify(def, null, 2);
  } else if (type === "FILE") {
    control = h("input", { type: "file", name, id: name });
  } else {
    const htmlType = { INT: "number", FLOAT: "number", SECRET: "password", EMAIL: "email", URI: "url", DATE: "date",
      TIME: "time", DATETIME: "text" }[type] || "text";
    control = h("input", { type: htmlType, name, id: name, step: type === "FLOAT" ? "any" : null,
      placeholder: type === "DATETIME" ? "2024-01-31T10:00:00Z" : type === "DURATION" ? "PT5M" : null });
    if (def !== undefined && def !== null && type !== "SECRET") control.value = String(def);
  }
  return h("div", { class: "field" },
    h("label", { for: name }, input.displayName || input.id, h("span", { class: "muted", text: `  ${type}${input.required === false ? "" : " · required"}` })),
    control, input.description ? h("div", { class: "desc", text: input.description }) : null);
}

// What an OBJECT or TABLE value looks like, from its fields: `{"size_gb": INT}`, `[{"size_gb": INT}]`.
function recordShape(input, type) {
  const fields = type === "OBJECT" ? input.properties : type === "TABLE" ? input.columns : null;
  if (!Array.isArray(fields)) return null;
  const one = `{${fields.map((f) => `"${f.id}": ${f.type}${f.required === false ? "?" : ""}`).join(", ")}}`;
  return type === "TABLE" ? `[${one}, …]` : one;
}

// The values of the fields `field` built, as multipart form data (files included; empty ones left out).
export function formValues(form, inputs) {
  const data = new FormData();
  for (const input of inputs) {
    const el = form.querySelector(`[name="input-${CSS.escape(input.id)}"]`);
    if (!el) continue;
    if (el.type === "file") { if (el.files[0]) data.append(input.id, el.files[0]); }
    else if (el.multiple) { const v = [...el.selectedOptions].map((o) => o.value); if (v.length) data.append(input.id, JSON.stringify(v)); }
    else if (el.value !== "") data.append(input.id, el.value);
  }
  return data;
}

// Every problem of a refused request, one a line.
export function problemText(err) {
  const items = err.problem && err.problem.errors ? err.problem.errors.map((i) => i.text || i.message) : [err.message];
  return items.join("\n");
}

export function openExecuteDialog(flow) {
  const inputs = flow.inputs || [];
  const error = h("div", { class: "form-error", id: "execute-error" });
  const labels = h("input", { type: "text", id: "execute-labels", placeholder: "team:data, env:dev" });
  const form = h("form", { method: "dialog" },
    h("h2", { text: `Execute ${flow.namespace}.${flow.id}` }), error,
    ...inputs.map(field),
    h("div", { class: "field" }, h("label", { for: "execute-labels", text: "Labels" }), labels),
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", id: "execute-cancel", text: "Cancel", onclick: () => dialog.close() }),
      h("button", { type: "submit", class: "primary", id: "execute-submit", text: "Execute" })));
  const dialog = h("dialog", { id: "execute-dialog" }, form);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = formValues(form, inputs);
    const query = labels.value.split(",").map((s) => s.trim()).filter(Boolean).map((l) => "labels=" + enc(l)).join("&");
    try {
      const exe = await postForm(`/executions/${enc(flow.namespace)}/${enc(flow.id)}${query ? "?" + query : ""}`, data);
      dialog.close();
      location.hash = `#/executions/${exe.id}`;
    } catch (err) {
      error.textContent = problemText(err);
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
