// The flows list and the flow editor (validation as you type, completion from the plugin schemas,
// Ctrl/Cmd+S to save, a question before unsaved edits are lost, execute).
import { get, del, postYaml, putYaml, enc } from "./api.js";
import { h, toast, when } from "./dom.js";
import { YamlEditor } from "./editor.js";
import { openExecuteDialog } from "./execute.js";
import { completeFlow, pluginCatalogue, typeAtLine } from "./completions.js";
import { guardLeaving } from "./leave_guard.js";
import { openRevisionsDialog } from "./revisions.js";
import { hoverDocs } from "./hover_docs.js";
import { renderTopology } from "./topology.js";
import { parseYaml } from "./vendor/codemirror.bundle.js";

const TEMPLATE = `id: hello_world
namespace: company.team

inputs:
  - id: name
    type: STRING
    defaults: World

tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.name }}!"

finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: Cleaning up
`;

export async function flowsPage(view) {
  const q = h("input", { type: "search", placeholder: "Search flows", id: "flow-search" });
  const body = h("tbody");
  const table = h("table", { id: "flows-table" },
    h("thead", {}, h("tr", {}, h("th", { text: "Id" }), h("th", { text: "Namespace" }), h("th", { text: "Revision" }),
      h("th", { text: "Triggers" }), h("th", { text: "Updated" }), h("th", { text: "" }))), body);
  view.append(h("h1", {}, "Flows"),
    h("div", { class: "toolbar" }, q, h("span", { class: "spacer" }),
      h("a", { class: "button", href: "#/flows/new", id: "new-flow" }, "New flow")), table);

  async function load() {
    const page = await get(`/flows/search?size=500&sort=namespace:asc${q.value ? "&q=" + enc(q.value) : ""}`);
    body.replaceChildren();
    if (!page.results.length) {
      body.append(h("tr", {}, h("td", { colspan: 6, class: "empty", text: "No flow yet: create one with New flow." })));
    }
    for (const f of page.results) {
      const edit = `#/flows/edit/${enc(f.namespace)}/${enc(f.id)}`;
      body.append(h("tr", { dataset: { flow: `${f.namespace}.${f.id}` } },
        h("td", {}, h("a", { href: edit, text: f.id })), h("td", { text: f.namespace }),
        h("td", { text: String(f.revision) }), h("td", { text: (f.triggers || []).map((t) => t.id).join(", ") }),
        h("td", { class: "muted", text: when(f.updated) }),
        h("td", {}, h("a", { href: `#/executions?namespace=${enc(f.namespace)}&flowId=${enc(f.id)}`, text: "Executions" }))));
    }
  }
  q.addEventListener("input", () => load().catch((e) => toast(e.message, true)));
  await load();
}

export async function editorPage(view, namespace, flowId) {
  const existing = namespace ? await get(`/flows/${enc(namespace)}/${enc(flowId)}`).catch(() => null) : null;
  if (namespace && !existing) {
    view.append(h("p", { class: "empty", text: `Flow ${namespace}.${flowId} was not found.` }));
    return;
  }
  pluginCatalogue().catch(() => null); // fetched now: the first completion should not wait for it
  const problems = h("div", { class: "problems", id: "problems" });
  const topo = h("div", { id: "editor-topology" });
  let timer = null;
  const editor = new YamlEditor(existing ? existing.source : TEMPLATE, () => {
    clearTimeout(timer);
    timer = setTimeout(validate, 350);
  }, { complete: completeFlow, extensions: [hoverDocs], onCursor: (line) => showTypeDoc(typeAtLine(editor.value.split("\n"), line - 1)) });
  const typeDoc = h("a", { id: "type-doc-link", hidden: true });
  function showTypeDoc(type) { // the documentation of the task under the cursor, one click away
    typeDoc.hidden = !type;
    if (type) { typeDoc.href = `#/plugins/${type}`; typeDoc.textContent = `Docs: ${type.split(".").pop()}`; }
  }
  let savedText = existing ? existing.source : TEMPLATE; // the untouched template is nothing to lose
  const unguard = guardLeaving(() => (editor.value !== savedText
    ? "This flow has unsaved changes. Leave and lose them?" : null));
  const save = h("button", { class: "primary", id: "save-flow", text: existing ? "Save" : "Create" });
  const execute = h("button", { id: "execute-flow", text: "Execute…", disabled: !existing });
  const title = h("h1", {}, existing ? `${existing.namespace}.${existing.id}` : "New flow",
    existing ? h("span", { class: "muted", id: "flow-revision", text: `revision ${existing.revision}` }) : null);
  const history = existing ? h("button", { id: "revisions-button", text: "Revisions…" }) : null;
  const del_ = existing ? h("button", { class: "danger", id: "delete-flow", text: "Delete" }) : null;
  view.append(title, h("div", { class: "toolbar" }, save, execute, history,
    existing ? h("a", { href: `#/executions?namespace=${enc(existing.namespace)}&flowId=${enc(existing.id)}`, text: "Executions" }) : null,
    typeDoc, h("span", { class: "spacer" }), del_),
  h("div", { class: "editor-layout" }, editor.el, h("aside", { class: "editor-topology", "aria-label": "Topology" }, topo)),
  problems);

  // The topology of the text as typed, redrawn after each validation; kept as it was while the YAML does not parse.
  function drawTopology() {
    let flow;
    try { flow = parseYaml(editor.value); } catch (_) { return; }
    if (flow && typeof flow === "object") renderTopology(topo, flow, null);
  }

  let current = existing;

  function showProblems(errors) {
    editor.setErrors(errors);
    problems.replaceChildren(...errors.map((e) => h("div", { class: "problem", onclick: () => e.line && editor.goToLine(e.line) },
      h("span", { class: "where", text: e.line ? `line ${e.line}${e.column ? ":" + e.column : ""}` : "flow" }),
      e.message + (e.hint ? ` — ${e.hint}` : ""))));
    if (!errors.length) problems.append(h("div", { class: "ok-note", id: "valid-note", text: "✓ valid" }));
  }

  let asked = 0; // answers can come back out of order (the first one loads every plugin): show the newest only
  async function validate() {
    const mine = ++asked;
    drawTopology();
    try {
      const [result] = await postYaml("/flows/validate", editor.value);
      if (mine !== asked) return false;
      showProblems(result ? result.errors : []);
      return !result || !result.errors.length;
    } catch (e) {
      if (mine === asked) showProblems([{ message: e.message }]);
      return false;
    }
  }

  async function saveFlow() {
    try {
      const text = editor.value;
      const path = current ? `/flows/${enc(current.namespace)}/${enc(current.id)}` : "/flows";
      const saved = current ? await putYaml(path, text) : await postYaml(path, text);
      savedText = text;
      toast(`Saved ${saved.namespace}.${saved.id} (revision ${saved.revision})`);
      showProblems([]);
      if (!current) { location.hash = `#/flows/edit/${enc(saved.namespace)}/${enc(saved.id)}`; return; }
      current = saved;
      const rev = document.getElementById("flow-revision");
      if (rev) rev.textContent = `revision ${saved.revision}`;
    } catch (e) {
      showProblems(e.problem && e.problem.errors ? e.problem.errors : [{ message: e.message }]);
      toast(e.message, true);
    }
  }
  save.addEventListener("click", saveFlow);
  const onKey = (e) => {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "s") {
      e.preventDefault(); // not the browser's "save page"
      saveFlow();
    }
  };
  window.addEventListener("keydown", onKey);
  execute.addEventListener("click", async () => {
    const flow = await get(`/flows/${enc(current.namespace)}/${enc(current.id)}`);
    openExecuteDialog(flow);
  });
  if (history) {
    history.addEventListener("click", () => openRevisionsDialog(current.namespace, current.id, editor.value,
      (text) => { editor.setValue(text); editor.focus(); }).catch((e) => toast(e.message, true)));
  }
  if (del_) {
    del_.addEventListener("click", async () => {
      if (!confirm(`Delete flow ${current.namespace}.${current.id}? Its executions stay.`)) return;
      await del(`/flows/${enc(current.namespace)}/${enc(current.id)}`);
      unguard();
      toast("Deleted");
      location.hash = "#/flows";
    });
  }
  validate();
  return () => { clearTimeout(timer); window.removeEventListener("keydown", onKey); unguard(); };
}
