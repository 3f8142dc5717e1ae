// Plugin documentation pages generated from each type's JSON schema (GET /plugins): #/plugins lists
// every task and trigger type, #/plugins/<type> shows its properties (type, default, required,
// description), the outputs a run records (`schema.outputs`, tasks only) and a minimal example
// built from the required ones. Every text from the schema goes in through `text` (textContent).
import { h } from "./dom.js";
import { pluginCatalogue, typeLabel } from "./completions.js";

export async function pluginsPage(view) {
  const cat = await pluginCatalogue();
  const list = h("ul", { class: "plugin-list", id: "plugin-list" }, ...cat.types.map((t) => h("li", {},
    h("a", { href: `#/plugins/${t.type}`, text: t.type }), " ",
    h("span", { class: "muted", text: t.trigger ? "trigger" : t.summary }))));
  view.append(h("h1", {}, "Plugins"), list);
}

function example(type, schema) {
  const lines = ["id: my_task", `type: ${type}`];
  for (const name of schema.required || []) {
    if (name === "id" || name === "type") continue;
    const prop = (schema.properties || {})[name] || {};
    lines.push(`${name}: ${typeLabel(prop).startsWith("array") ? "[]" : "..."}`);
  }
  return lines.map((l, i) => (i ? "    " : "  - ") + l).join("\n");
}

// Outputs: a table of name, type, description; a task type that records none says so; a trigger
// (whose schema has no `outputs`) shows no section.
function outputsSection(outputs) {
  if (!outputs) return [];
  const entries = Object.entries(outputs.properties || {});
  if (!entries.length) return [h("h2", { text: "Outputs" }), h("p", { class: "muted", id: "plugin-outputs", text: "This task records no outputs of its own." })];
  const rows = entries.map(([name, out]) => h("tr", { dataset: { output: name } },
    h("td", {}, h("code", { text: name })), h("td", { text: typeLabel(out) || "any" }),
    h("td", { text: out.description || "" })));
  return [h("h2", { text: "Outputs" }), h("table", { id: "plugin-outputs" },
    h("thead", {}, h("tr", {}, ...["Name", "Type", "Description"].map((t) => h("th", { text: t })))),
    h("tbody", {}, ...rows))];
}

const shown = (value) => (value === undefined ? "" : JSON.stringify(value));

export async function pluginPage(view, type) {
  const cat = await pluginCatalogue();
  const schema = cat.schemas.get(type);
  if (!schema) {
    view.append(h("p", { class: "empty", text: `No plugin type ${type} in this installation.` }));
    return;
  }
  const required = new Set(schema.required || []);
  const rows = Object.entries(schema.properties || {}).map(([name, prop]) => h("tr", { dataset: { property: name } },
    h("td", {}, h("code", { text: name })), h("td", { text: typeLabel(prop) }),
    h("td", { text: required.has(name) ? "yes" : "" }), h("td", {}, h("code", { text: shown(prop.default) })),
    h("td", { text: prop.description || "" })));
  view.append(h("p", {}, h("a", { href: "#/plugins", text: "← Plugins" })),
    h("h1", { id: "plugin-type" }, type),
    schema.description ? h("p", { class: "plugin-doc", text: schema.description }) : null,
    h("h2", { text: "Properties" }),
    h("table", { id: "plugin-properties" }, h("thead", {}, h("tr", {}, ...["Name", "Type", "Required", "Default", "Description"]
      .map((t) => h("th", { text: t })))), h("tbody", {}, ...rows)),
    ...outputsSection(schema.outputs),
    h("h2", { text: "Example" }), h("pre", { class: "example", id: "plugin-example", text: `tasks:\n${example(type, schema)}` }));
}
