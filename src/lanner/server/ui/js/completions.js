// Completion of a flow's YAML from the plugin schemas the server serves (GET /plugins): task and
// trigger types after `type:`, and the properties of the task a key is being written in. Read
// from the text around the cursor rather than a YAML parse, so it works while the flow is invalid.
import { get } from "./api.js";

let catalogue = null;

// {types: [{type, title, summary, trigger}], schemas: Map(type → JSON schema)}, fetched once.
export function pluginCatalogue() {
  if (!catalogue) {
    catalogue = get("/plugins").then((groups) => {
      const types = [];
      const schemas = new Map();
      for (const g of groups) {
        for (const [list, trigger] of [[g.tasks, false], [g.triggers || [], true]]) {
          for (const type of list) {
            const schema = g.schemas[type] || {};
            types.push({ type, title: schema.title || type.split(".").pop(), trigger,
              summary: (schema.description || "").split("\n")[0] });
            schemas.set(type, schema);
          }
        }
      }
      return { types, schemas };
    }).catch((e) => { catalogue = null; throw e; });
  }
  return catalogue;
}

// A property's JSON schema type, short: `string`, `integer | string`, `array`…
export function typeLabel(prop) {
  if (!prop) return "";
  if (prop.type) return prop.type;
  const alts = (prop.anyOf || prop.oneOf || []).map((p) => p.type || (p.$ref ? p.$ref.split("/").pop() : ""));
  return [...new Set(alts.filter((t) => t && t !== "null"))].join(" | ") || (prop.$ref ? prop.$ref.split("/").pop() : "");
}

const KEY = /^(\s*)(-\s+)?([\w.-]+)\s*:(.*)$/;
const indentOf = (text) => text.length - text.trimStart().length;
const isBlank = (text) => !text.trim() || text.trim().startsWith("#");

// The key a line writes at `column` (the column of its mapping's keys), or null.
function keyAt(text, column) {
  const m = text.match(KEY);
  if (!m || m[1].length + (m[2] || "").length !== column) return null;
  return { key: m[3], dash: Boolean(m[2]), value: m[4].trim().replace(/^["']|["']$/g, "") };
}

// The type and the keys already written of the mapping whose keys start at `column` on line `at`.
export function mappingAt(lines, at, column, startsHere) {
  const present = new Set();
  let type = null;
  const note = (k) => { present.add(k.key); if (k.key === "type") type = k.value; };
  for (let i = at - 1; i >= 0 && !startsHere; i--) {
    if (isBlank(lines[i])) continue;
    const k = keyAt(lines[i], column);
    if (k) { note(k); if (k.dash) break; continue; }
    if (indentOf(lines[i]) < column) break;
  }
  for (let i = at + 1; i < lines.length; i++) {
    if (isBlank(lines[i])) continue;
    const k = keyAt(lines[i], column);
    if (k && k.dash) break;
    if (k) { note(k); continue; }
    if (indentOf(lines[i]) < column) break;
  }
  return { type, present };
}

// The type of the task mapping line `at` (0-based) belongs to, or null.
export function typeAtLine(lines, at) {
  const m = (lines[at] || "").match(/^(\s*)(-\s+)?[\w.-]+\s*:/);
  if (!m) return null;
  const k = keyAt(lines[at], m[1].length + (m[2] || "").length);
  if (k && k.key === "type") return k.value || null;
  return mappingAt(lines, at, m[1].length + (m[2] || "").length, Boolean(m[2])).type;
}

function typeOptions(cat) {
  return cat.types.map((t) => ({ label: t.type, type: "class",
    detail: t.trigger ? `${t.title} (trigger)` : t.title, info: t.summary || undefined }));
}

function propertyOptions(schema, present) {
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {}).filter(([name]) => !present.has(name)).map(([name, prop]) => ({
    label: name, type: "property", apply: `${name}: `, boost: required.has(name) ? 1 : 0,
    detail: typeLabel(prop) + (required.has(name) ? " · required" : ""), info: prop.description || undefined,
  }));
}

// The CodeMirror completion source of the flow editor.
export async function completeFlow(context) {
  const line = context.state.doc.lineAt(context.pos);
  const before = line.text.slice(0, context.pos - line.from);
  const typed = before.match(/^(\s*(?:-\s+)?type:\s*)([\w.]*)$/);
  const key = typed ? null : before.match(/^(\s*)(-\s+)?(\w*)$/);
  if (!typed && !key) return null;
  if (key && !key[3] && !context.explicit) return null;
  let cat;
  try { cat = await pluginCatalogue(); } catch (_) { return null; }
  if (typed) return { from: line.from + typed[1].length, options: typeOptions(cat), validFor: /^[\w.]*$/ };
  const column = key[1].length + (key[2] || "").length;
  const lines = context.state.doc.toString().split("\n");
  const { type, present } = mappingAt(lines, line.number - 1, column, Boolean(key[2]));
  const schema = type && cat.schemas.get(type);
  if (!schema) return null;
  return { from: line.from + column, options: propertyOptions(schema, present), validFor: /^\w*$/ };
}
