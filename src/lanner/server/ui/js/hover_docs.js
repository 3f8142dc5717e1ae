// Documentation on hover in the flow editor: over a task's `type:` value, the type's summary; over
// a property key, its JSON schema type, whether it is required, its default and description; over
// the type, also the names of the outputs its runs record. Each
// tooltip links to the type's generated page (#/plugins/<type>).
import { hoverTooltip } from "./vendor/codemirror.bundle.js";
import { pluginCatalogue, typeAtLine, typeLabel } from "./completions.js";
import { h } from "./dom.js";

const KEY = /^(\s*(?:-\s+)?)([\w.-]+)(\s*:\s*)(.*)$/;

function tooltip(from, to, ...children) {
  return { pos: from, end: to, above: true, create: () => ({ dom: h("div", { class: "hover-doc" }, ...children) }) };
}

function docLink(type) {
  return h("a", { href: `#/plugins/${type}`, text: `${type.split(".").pop()} documentation` });
}

export const hoverDocs = hoverTooltip(async (view, pos) => {
  const line = view.state.doc.lineAt(pos);
  const m = line.text.match(KEY);
  if (!m) return null;
  const keyFrom = line.from + m[1].length;
  const keyTo = keyFrom + m[2].length;
  const valueFrom = keyTo + m[3].length;
  let cat;
  try { cat = await pluginCatalogue(); } catch (_) { return null; }
  if (m[2] === "type" && pos >= valueFrom) {
    const type = m[4].trim().replace(/^["']|["']$/g, "");
    const schema = cat.schemas.get(type);
    if (!schema) return null;
    const outputs = Object.keys((schema.outputs || {}).properties || {});
    return tooltip(valueFrom, line.to, h("b", { text: type }), h("p", { text: schema.description || "" }),
      outputs.length ? h("p", { class: "muted hover-outputs", text: `Outputs: ${outputs.join(", ")}` }) : null,
      docLink(type));
  }
  if (pos < keyFrom || pos > keyTo) return null;
  const type = typeAtLine(view.state.doc.toString().split("\n"), line.number - 1);
  const schema = type && cat.schemas.get(type);
  const prop = schema && (schema.properties || {})[m[2]];
  if (!prop) return null;
  const required = (schema.required || []).includes(m[2]);
  return tooltip(keyFrom, keyTo, h("b", { text: m[2] }),
    h("span", { class: "muted", text: ` ${typeLabel(prop)}${required ? " · required" : ""}` +
      (prop.default !== undefined && prop.default !== null ? ` · default ${JSON.stringify(prop.default)}` : "") }),
    prop.description ? h("p", { text: prop.description }) : null, h("div", {}, docLink(type)));
});
