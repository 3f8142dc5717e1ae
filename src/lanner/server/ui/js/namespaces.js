// The namespaces: the list (every namespace that holds flows, namespace files or KV keys, nested
// under its parents, with what each holds) and one namespace's page with its tabs — its flows
// (links to the editor), its files (ns_files.js) and its KV store (ns_kv.js).
import { call, enc } from "./api.js";
import { h, toast, when } from "./dom.js";
import { filesTab } from "./ns_files.js";
import { kvTab } from "./ns_kv.js";
import { problemMessage } from "./dialogs.js";

const PAGE = 1000;

async function allNamespaces() {
  const out = [];
  for (let page = 1; ; page++) {
    const answer = await call("GET", `/namespaces/search?size=${PAGE}&page=${page}`);
    out.push(...answer.results);
    if (out.length >= answer.total || !answer.results.length) return out;
  }
}

// The namespaces as a tree: each one under its nearest listed parent, children by name.
function nest(namespaces) {
  const byId = new Map(namespaces.map((n) => [n.id, { ...n, children: [] }]));
  const roots = [];
  for (const node of byId.values()) {
    const parts = node.id.split(".");
    let parent = null;
    for (let n = parts.length - 1; n > 0 && !parent; n--) parent = byId.get(parts.slice(0, n).join(".")) || null;
    (parent ? parent.children : roots).push(node);
  }
  const order = (list) => { list.sort((a, b) => a.id.localeCompare(b.id)); list.forEach((n) => order(n.children)); };
  order(roots);
  return roots;
}

export async function namespacesPage(view) {
  const q = h("input", { type: "search", placeholder: "Filter namespaces", id: "namespace-search", "aria-label": "Filter namespaces" });
  const body = h("tbody");
  view.append(h("h1", {}, "Namespaces"), h("div", { class: "toolbar" }, q),
    h("table", { id: "namespaces-table" }, h("thead", {}, h("tr", {}, h("th", { text: "Namespace" }), h("th", { text: "Flows" }),
      h("th", { text: "Files" }), h("th", { text: "KV keys" }))), body));
  let tree = [];

  function draw() {
    const needle = q.value.trim().toLowerCase();
    const shown = (node) => !needle || node.id.toLowerCase().includes(needle) || node.children.some(shown);
    const rows = [];
    (function walk(list, depth) {
      for (const node of list) {
        if (!shown(node)) continue;
        const name = depth ? node.id.slice(node.id.lastIndexOf(".") + 1) : node.id;
        rows.push(h("tr", { dataset: { namespace: node.id } },
          h("td", { style: `padding-left: ${10 + depth * 22}px` }, depth ? h("span", { class: "muted", text: "└ " }) : null,
            h("a", { href: `#/namespaces/${enc(node.id)}`, text: name, title: node.id })),
          h("td", {}, node.flowCount ? h("a", { href: `#/namespaces/${enc(node.id)}/flows`, text: String(node.flowCount) }) : "0"),
          h("td", {}, node.fileCount ? h("a", { href: `#/namespaces/${enc(node.id)}/files`, text: String(node.fileCount) }) : "0"),
          h("td", {}, node.kvCount ? h("a", { href: `#/namespaces/${enc(node.id)}/kv`, text: String(node.kvCount) }) : "0")));
        walk(node.children, depth + 1);
      }
    })(tree, 0);
    body.replaceChildren(...rows);
    if (!rows.length) {
      body.append(h("tr", {}, h("td", { colspan: 4, class: "empty", id: "namespaces-empty",
        text: needle ? "No namespace matches." : "No namespace yet: deploy a flow, upload namespace files or set a KV key." })));
    }
  }
  q.addEventListener("input", draw);
  try { tree = nest(await allNamespaces()); } catch (e) { toast(problemMessage(e), true); }
  draw();
}

const TABS = [["flows", "Flows"], ["files", "Files"], ["kv", "KV store"]];

export async function namespacePage(view, namespace, tab) {
  let summary;
  try {
    summary = await call("GET", `/namespaces/${enc(namespace)}`);
  } catch (e) {
    view.append(h("p", { class: "form-error", id: "namespace-error", text: problemMessage(e) }));
    return null;
  }
  const parts = namespace.split(".");
  const crumbs = parts.map((p, i) => {
    const id = parts.slice(0, i + 1).join(".");
    return i < parts.length - 1 ? [h("a", { href: `#/namespaces/${enc(id)}`, text: p }), "."] : [h("span", { text: p })];
  }).flat();
  const counts = { flows: summary.flowCount, files: summary.fileCount, kv: summary.kvCount };
  const panel = h("div", { id: `namespace-${tab}`, class: "ns-panel" });
  view.append(h("h1", {}, h("a", { href: "#/namespaces", text: "Namespaces" }), h("span", { class: "muted", text: "/" }),
    h("span", { id: "namespace-title" }, ...crumbs)),
  h("nav", { class: "tabs", "aria-label": "Namespace" }, ...TABS.map(([name, label]) => h("a", {
    href: `#/namespaces/${enc(namespace)}/${name}`, id: `tab-${name}`, class: "tab" + (name === tab ? " active" : ""),
    "aria-current": name === tab ? "page" : null, text: `${label} (${counts[name]})` }))), panel);
  // After a change in a tab, the counts on the tabs are read again.
  const recount = () => call("GET", `/namespaces/${enc(namespace)}`).then((now) => {
    const fresh = { flows: now.flowCount, files: now.fileCount, kv: now.kvCount };
    for (const [name, label] of TABS) {
      const link = document.getElementById(`tab-${name}`);
      if (link) link.textContent = `${label} (${fresh[name]})`;
    }
  }).catch(() => null);
  if (tab === "files") return filesTab(panel, namespace, recount);
  if (tab === "kv") return kvTab(panel, namespace, recount);
  return flowsTab(panel, namespace);
}

async function flowsTab(panel, namespace) {
  const flows = await call("GET", `/flows/${enc(namespace)}`);
  const body = h("tbody");
  panel.append(h("table", { id: "namespace-flows" }, h("thead", {}, h("tr", {}, ...["Id", "Revision", "Triggers", "Updated", ""]
    .map((t) => h("th", { text: t })))), body));
  if (!flows.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "empty", text: "No flow in this namespace." })));
  for (const f of flows) {
    body.append(h("tr", { dataset: { flow: f.id } },
      h("td", {}, h("a", { href: `#/flows/edit/${enc(namespace)}/${enc(f.id)}`, text: f.id })),
      h("td", { text: String(f.revision) }), h("td", { text: (f.triggers || []).map((t) => t.id).join(", ") }),
      h("td", { class: "muted", text: when(f.updated) }),
      h("td", {}, h("a", { href: `#/executions?namespace=${enc(namespace)}&flowId=${enc(f.id)}`, text: "Executions" }))));
  }
  return null;
}
