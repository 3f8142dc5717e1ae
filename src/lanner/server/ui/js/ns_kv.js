// The KV tab of a namespace: its live keys (`GET …/kv`, Kestra's KVEntry list) with each one's
// type and a preview of its value (`GET …/kv/{key}`), description, expiry; add or edit a key with
// a type selector and a TTL; delete with a question first.
//
// The value is sent as Kestra's API reads a PUT body, shaped by the chosen type: a STRING as a
// quoted JSON text (so `42` or `2024-05-01` typed as a STRING stay strings), a NUMBER, BOOLEAN or
// JSON as JSON, a DATE, DATETIME or DURATION as its bare ISO text. The ttl and description go in
// the `ttl` and `description` headers. Values and descriptions are user data: textContent only.
import { call, enc } from "./api.js";
import { h, toast, when } from "./dom.js";
import { confirmDelete, field, openFormDialog, problemMessage } from "./dialogs.js";

export const TYPES = ["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON"];
const PREVIEW = 80; // characters of a value shown in the table
const FETCHES = 6; // values read at once
const HINTS = { STRING: "any text", NUMBER: "e.g. 42 or 3.14", BOOLEAN: "true or false",
  DATETIME: "e.g. 2024-05-01T10:00:00Z", DATE: "e.g. 2024-05-01", DURATION: "ISO-8601, e.g. PT5M or P1D",
  JSON: 'an object or a list, e.g. {"a": 1}' };
const DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DURATION = /^-?P(?=.)(\d+W)?(\d+D)?(T(?=.)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/; // JSON's number
const KEY = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/; // Kestra's key pattern, as the server checks it
const KEY_RULE = "Key must start with an alphanumeric character (uppercase or lowercase) and can contain alphanumeric "
  + "characters (uppercase or lowercase), dots (.), underscores (_), and hyphens (-) only; at most 255 characters.";
const HEADER_TEXT = /^[\x20-\x7e]*$/;

// The request body for `text` as a value of `type`; throws an Error saying what is wrong.
export function bodyFor(type, text) {
  const bare = text.trim();
  const wrong = (what) => { throw new Error(`the value is not ${what} (${HINTS[type]})`); };
  switch (type) {
    case "STRING": return JSON.stringify(text);
    case "NUMBER": if (!NUMBER.test(bare)) wrong("a number"); return bare;
    case "BOOLEAN": if (bare !== "true" && bare !== "false") wrong("a boolean"); return bare;
    case "DATETIME": if (!DATETIME.test(bare)) wrong("a date-time"); return bare;
    case "DATE": if (!DATE.test(bare)) wrong("a date"); return bare;
    case "DURATION": if (!DURATION.test(bare.toUpperCase())) wrong("a duration"); return bare.toUpperCase();
    case "JSON": {
      let parsed;
      try { parsed = JSON.parse(bare); } catch (e) { wrong(`JSON: ${e.message}`); }
      if (parsed === null || typeof parsed !== "object") wrong("a JSON object or list");
      return JSON.stringify(parsed);
    }
    default: throw new Error(`unknown type ${type}`);
  }
}

// A stored value as text in the form (and, cut, in the table).
export function valueText(type, value) {
  if (type === "JSON") return JSON.stringify(value, null, 2);
  return typeof value === "string" ? value : JSON.stringify(value);
}

// `changed()` is called after each change, for the counts around the tab.
export async function kvTab(panel, namespace, changed = () => null) {
  const base = `/namespaces/${enc(namespace)}/kv`;
  const body = h("tbody");
  const add = h("button", { class: "primary", id: "add-kv", text: "Add a key…" });
  panel.append(h("div", { class: "toolbar" }, h("span", { class: "muted", id: "kv-count" }), h("span", { class: "spacer" }), add),
    h("table", { id: "kv-table" }, h("thead", {}, h("tr", {}, ...["Key", "Type", "Value", "Description", "Expires", "Updated", ""]
      .map((t) => h("th", { text: t })))), body));

  async function values(entries) {
    const out = new Map();
    let next = 0;
    async function worker() {
      while (next < entries.length) {
        const entry = entries[next++];
        try { out.set(entry.key, await call("GET", `${base}/${enc(entry.key)}`)); } catch (_) { out.set(entry.key, null); }
      }
    }
    await Promise.all(Array.from({ length: Math.min(FETCHES, entries.length) }, worker));
    return out;
  }

  async function load() {
    const entries = await call("GET", base);
    const typed = await values(entries);
    document.getElementById("kv-count").textContent = `${entries.length} key${entries.length === 1 ? "" : "s"}`;
    body.replaceChildren();
    if (!entries.length) body.append(h("tr", {}, h("td", { colspan: 7, class: "empty", id: "kv-empty", text: "No key yet: add one." })));
    for (const entry of entries) {
      const got = typed.get(entry.key);
      const text = got ? valueText(got.type, got.value).replace(/\s+/g, " ") : "";
      body.append(h("tr", { dataset: { key: entry.key } },
        h("td", { class: "mono", text: entry.key }),
        h("td", {}, got ? h("span", { class: "kv-type", text: got.type }) : h("span", { class: "muted", text: "expired" })),
        h("td", { class: "mono kv-value", title: text.length > PREVIEW ? text.slice(0, 2000) : null,
          text: text.length > PREVIEW ? text.slice(0, PREVIEW) + "…" : text }),
        h("td", { class: "kv-description", text: entry.description || "" }),
        h("td", { class: "muted", text: entry.expirationDate ? when(entry.expirationDate) : "never" }),
        h("td", { class: "muted", text: when(entry.updateDate) }),
        h("td", {}, h("button", { class: "kv-edit", text: "Edit…", disabled: !got, "aria-label": `Edit ${entry.key}`,
          onclick: () => edit(entry, got) }), " ",
        h("button", { class: "danger kv-delete", text: "Delete…", "aria-label": `Delete ${entry.key}`,
          onclick: () => remove(entry.key) }))));
    }
  }

  function edit(entry, current) {
    const key = h("input", { type: "text", id: "kv-key", value: entry ? entry.key : "", autocomplete: "off",
      spellcheck: "false", readonly: entry ? true : null, maxlength: "255" });
    const type = h("select", { id: "kv-type" }, ...TYPES.map((t) => h("option", { value: t, text: t })));
    type.value = current ? current.type : "STRING";
    const value = h("textarea", { id: "kv-value", rows: "4", spellcheck: "false" });
    value.value = current ? valueText(current.type, current.value) : "";
    const hint = h("span", { class: "desc", id: "kv-value-hint" });
    const showHint = () => { hint.textContent = HINTS[type.value]; value.placeholder = HINTS[type.value]; };
    type.addEventListener("change", showHint);
    showHint();
    // Enter saves from the one-line fields; in the value box it adds a line unless Ctrl/Cmd is held.
    value.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); value.form.requestSubmit(); }
    });
    const ttl = h("input", { type: "text", id: "kv-ttl", placeholder: "e.g. PT1H, P7D (empty: never expires)", autocomplete: "off" });
    const description = h("input", { type: "text", id: "kv-description", value: entry && entry.description ? entry.description : "",
      maxlength: "1000" });
    const expiry = entry && entry.expirationDate ? `Now expires ${when(entry.expirationDate)}; saving sets a new TTL from now.` : null;
    openFormDialog({ id: "kv-dialog", title: entry ? `Edit ${entry.key}` : "Add a key", submitText: "Save",
      fields: [field("Key", key), field("Type", type), h("div", { class: "field" },
        h("label", { for: "kv-value", text: "Value" }), value, hint),
      field("Time to live (ISO-8601 duration)", ttl, expiry), field("Description", description)],
      onSubmit: async () => {
        const name = key.value.trim();
        if (!KEY.test(name) || name.length > 255) throw new Error(`invalid KV key: ${KEY_RULE}`); // a `/` would not even reach the key's route
        const payload = bodyFor(type.value, value.value);
        const headers = { "Content-Type": "application/json" };
        if (ttl.value.trim()) headers.ttl = ttl.value.trim();
        if (description.value) {
          if (!HEADER_TEXT.test(description.value)) throw new Error("the description travels in an HTTP header: use plain ASCII characters");
          headers.description = description.value;
        }
        await call("PUT", `${base}/${enc(name)}`, { body: payload, headers });
        toast(`Saved ${name}`);
        await load();
        changed();
      } });
  }

  function remove(name) {
    confirmDelete({ id: "kv-delete-dialog", title: "Delete the key?", text: `Delete the key ${name} of ${namespace}?`,
      onConfirm: async () => {
        await call("DELETE", `${base}/${enc(name)}`);
        toast(`Deleted ${name}`);
        await load();
        changed();
      } });
  }

  add.addEventListener("click", () => edit(null, null));
  await load().catch((e) => toast(problemMessage(e), true));
  return null;
}
