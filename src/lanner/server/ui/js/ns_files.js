// The Files tab of a namespace: its namespace files as a tree (folders opened one level at a time
// from `GET …/files/directory`), new file or folder, upload (a .zip is unpacked), rename/move,
// delete with a question first, download, and the chosen file in the CodeMirror editor:
// Ctrl/Cmd+S saves it, and unsaved edits are not lost by leaving the page or opening another file
// without being asked. Names are shown with textContent only: a file name is user data.
import { API, call, enc } from "./api.js";
import { h, toast } from "./dom.js";
import { FileEditor } from "./file_editor.js";
import { guardLeaving, mayLeave } from "./leave_guard.js";
import { confirmDelete, field, openFormDialog, problemMessage } from "./dialogs.js";

const MAX_EDITABLE = 2 * 1024 * 1024; // larger files are downloaded, not edited in the page

const parentOf = (path) => path.slice(0, path.lastIndexOf("/")) || "/";
const nameOf = (path) => path.slice(path.lastIndexOf("/") + 1);
const join = (folder, name) => (folder === "/" ? "" : folder) + "/" + name;
// A typed path as the API reads it: from the namespace root, with a leading `/`.
const rooted = (text) => (text.startsWith("/") ? text : "/" + text);

// `changed()` is called after each change, for the counts around the tab.
export async function filesTab(panel, namespace, changed = () => null) {
  const base = `/namespaces/${enc(namespace)}/files`;
  const expanded = new Set(["/"]);
  let selected = { path: "/", dir: true };
  let open = null; // { path, editor, saved } of the file in the editor
  const tree = h("ul", { class: "file-tree", id: "file-tree", role: "tree", "aria-label": `Files of ${namespace}` });
  const pane = h("section", { class: "file-pane", id: "file-pane" });
  const newFile = h("button", { id: "new-file", text: "New file…" });
  const newFolder = h("button", { id: "new-folder", text: "New folder…" });
  const upload = h("button", { id: "upload-file", text: "Upload…" });
  panel.append(h("div", { class: "ns-files" },
    h("aside", { class: "file-side" }, h("div", { class: "toolbar" }, newFile, newFolder, upload), tree), pane));

  const currentFolder = () => (selected.dir ? selected.path : parentOf(selected.path));
  const dirty = () => open !== null && open.editor.value !== open.saved;
  const unguard = guardLeaving(() => (dirty() ? `The file ${open.path} has unsaved changes. Leave and lose them?` : null));

  async function listing(path) {
    return call("GET", `${base}/directory?path=${enc(path)}`);
  }

  async function drawFolder(path, depth) {
    const rows = [];
    let entries;
    try {
      entries = await listing(path);
    } catch (e) {
      if (path !== "/") { expanded.delete(path); return rows; } // moved or deleted meanwhile
      throw e;
    }
    for (const entry of entries) {
      const full = join(path, entry.fileName);
      const dir = entry.type === "Directory";
      const isOpen = dir && expanded.has(full);
      const row = h("li", { role: "treeitem", "aria-expanded": dir ? String(isOpen) : null,
        "aria-selected": String(selected.path === full), class: "file-row" + (selected.path === full ? " selected" : "") },
      h("button", { type: "button", class: dir ? "entry dir" : "entry file", style: `padding-left: ${8 + depth * 16}px`,
        dataset: { path: full, type: dir ? "dir" : "file" }, onclick: () => choose(full, dir) },
      h("span", { class: "icon", "aria-hidden": "true", text: dir ? (isOpen ? "▾ " : "▸ ") : "· " }), entry.fileName,
      dir ? null : h("span", { class: "muted size", text: ` ${entry.size} B` })));
      rows.push(row);
      if (isOpen) rows.push(...await drawFolder(full, depth + 1));
    }
    return rows;
  }

  async function redraw() {
    const rows = await drawFolder("/", 0);
    const root = h("li", { role: "treeitem", class: "file-row" + (selected.path === "/" ? " selected" : "") },
      h("button", { type: "button", class: "entry dir root", dataset: { path: "/", type: "dir" }, onclick: () => choose("/", true) },
        h("span", { class: "icon", "aria-hidden": "true", text: "▾ " }), `/ (${namespace})`));
    tree.replaceChildren(root, ...rows);
    if (rows.length === 0) tree.append(h("li", { class: "empty", id: "files-empty", text: "No file yet: create one or upload." }));
  }

  async function choose(path, dir) {
    if (dir) {
      selected = { path, dir: true };
      if (path !== "/") { if (expanded.has(path)) expanded.delete(path); else expanded.add(path); }
      await redraw().catch(report);
      showPane();
      return;
    }
    if (open && open.path === path) { selected = { path, dir: false }; await redraw().catch(report); showPane(); return; }
    if (dirty() && !mayLeave()) return; // the browser's question: Esc stays, edits kept
    selected = { path, dir: false };
    await openFile(path);
    await redraw().catch(report);
  }

  function closeEditor() {
    if (open) open.editor.destroy();
    open = null;
  }

  async function openFile(path) {
    closeEditor();
    showPane(h("p", { class: "muted", text: "Loading…" }));
    let res;
    try {
      res = await call("GET", `${base}?path=${enc(path)}`, { raw: true });
    } catch (e) { showPane(h("p", { class: "form-error", text: problemMessage(e) })); return; }
    const bytes = new Uint8Array(await res.arrayBuffer());
    let text = null;
    if (bytes.length <= MAX_EDITABLE && !bytes.includes(0)) {
      try { text = new TextDecoder("utf-8", { fatal: true }).decode(bytes); } catch (_) { text = null; }
    }
    if (text === null) {
      showPane(h("p", { class: "muted", id: "file-not-text",
        text: `${nameOf(path)} (${bytes.length} B) is not UTF-8 text under 2 MiB: download it to read it.` }));
      return;
    }
    const editor = new FileEditor(text, nameOf(path), () => markDirty());
    open = { path, editor, saved: text };
    showPane(editor.el);
    editor.focus();
  }

  function markDirty() {
    const state = document.getElementById("file-state");
    if (state) { state.textContent = dirty() ? "● unsaved" : "saved"; state.dataset.dirty = String(dirty()); }
  }

  function showPane(content = null) {
    const path = selected.path;
    const isFile = !selected.dir;
    const save = h("button", { class: "primary", id: "save-file", text: "Save", disabled: !(open && open.path === path),
      onclick: () => saveFile() });
    const download = isFile ? h("a", { class: "button", id: "download-file", href: `${API}${base}?path=${enc(path)}`,
      download: nameOf(path), text: "Download" }) : null;
    const rename = path !== "/" ? h("button", { id: "move-entry", text: "Rename/Move…", onclick: () => moveDialog() }) : null;
    const remove = h("button", { class: "danger", id: "delete-entry", text: path === "/" ? "Delete all…" : "Delete…",
      onclick: () => deleteDialog() });
    const header = h("div", { class: "toolbar" }, h("span", { class: "mono", id: "selected-path", text: path }),
      isFile ? h("span", { class: "muted", id: "file-state", dataset: { dirty: String(dirty()) },
        text: dirty() ? "● unsaved" : "" }) : null,
      h("span", { class: "spacer" }), isFile ? save : null, download, rename, remove);
    const body = content || (open && open.path === path ? open.editor.el : (selected.dir
      ? h("p", { class: "muted", text: "Choose a file to edit it, or create one in this folder." }) : null));
    pane.replaceChildren(header, body || "");
  }

  async function saveFile() {
    if (!open) return;
    const text = open.editor.value;
    const form = new FormData();
    form.append("fileContent", new Blob([text]), "content"); // not the file's name: a name ending in .zip is unpacked
    try {
      await call("POST", `${base}?path=${enc(open.path)}`, { body: form });
      open.saved = text;
      markDirty();
      toast(`Saved ${open.path}`);
      await redraw();
      changed();
    } catch (e) { toast(problemMessage(e), true); }
  }

  async function exists(path) {
    try { await call("GET", `${base}/stats?path=${enc(path)}`); return true; } catch (e) {
      if (e.status === 404) return false;
      throw e;
    }
  }

  function pathInput(id, value) {
    return h("input", { type: "text", id, value, autocomplete: "off", spellcheck: "false", maxlength: "2048" });
  }

  newFile.addEventListener("click", () => {
    const input = pathInput("new-file-path", join(currentFolder(), ""));
    openFormDialog({ id: "new-file-dialog", title: "New file", submitText: "Create",
      fields: [field("Path from the namespace root", input, "Folders in the path are created too.")],
      onSubmit: async () => {
        const path = rooted(input.value.trim());
        if (await exists(path)) throw new Error(`${path} already exists: choose another name`);
        if (dirty() && !mayLeave()) throw new Error(`${open.path} has unsaved changes: save it first (Ctrl+S), or leave them`);
        const form = new FormData();
        form.append("fileContent", new Blob([""]), "content");
        await call("POST", `${base}?path=${enc(path)}`, { body: form });
        expandTo(path);
        selected = { path, dir: false };
        await openFile(path);
        await redraw();
        changed();
        toast(`Created ${path}`);
      } });
  });

  newFolder.addEventListener("click", () => {
    const input = pathInput("new-folder-path", join(currentFolder(), ""));
    openFormDialog({ id: "new-folder-dialog", title: "New folder", submitText: "Create",
      fields: [field("Path from the namespace root", input)],
      onSubmit: async () => {
        const path = rooted(input.value.trim().replace(/\/+$/, ""));
        await call("POST", `${base}/directory?path=${enc(path)}`);
        expandTo(path);
        expanded.add(path);
        selected = { path, dir: true };
        await redraw();
        showPane();
        changed();
        toast(`Created folder ${path}`);
      } });
  });

  upload.addEventListener("click", () => {
    const file = h("input", { type: "file", id: "upload-input" });
    const folder = pathInput("upload-folder", currentFolder());
    openFormDialog({ id: "upload-dialog", title: "Upload a file", submitText: "Upload",
      fields: [field("File (a .zip is unpacked into the folder)", file), field("Into the folder", folder)],
      onSubmit: async () => {
        if (!file.files.length) throw new Error("choose a file to upload");
        const chosen = file.files[0];
        const into = rooted(folder.value.trim().replace(/\/+$/, "")) || "/";
        const path = join(into === "" ? "/" : into, chosen.name);
        const form = new FormData();
        form.append("fileContent", chosen, chosen.name);
        await call("POST", `${base}?path=${enc(path)}`, { body: form });
        expandTo(path);
        await redraw();
        changed();
        toast(`Uploaded ${chosen.name}`);
      } });
  });

  function expandTo(path) {
    let folder = parentOf(path);
    while (folder !== "/") { expanded.add(folder); folder = parentOf(folder); }
  }

  function moveDialog() {
    const from = selected.path;
    const input = pathInput("move-path", from);
    openFormDialog({ id: "move-dialog", title: `Rename or move ${nameOf(from)}`, submitText: "Move",
      fields: [field("New path from the namespace root", input)],
      onSubmit: async () => {
        const to = rooted(input.value.trim().replace(/\/+$/, ""));
        await call("PUT", `${base}?from=${enc(from)}&to=${enc(to)}`);
        if (open && (open.path === from || open.path.startsWith(from + "/"))) open.path = to + open.path.slice(from.length);
        if (expanded.delete(from)) expanded.add(to);
        expandTo(to);
        selected = { path: to, dir: selected.dir };
        await redraw();
        showPane();
        changed();
        toast(`Moved to ${to}`);
      } });
  }

  function deleteDialog() {
    const { path, dir } = selected;
    const what = path === "/" ? `every file of ${namespace}` : dir ? `the folder ${path} and everything in it` : path;
    confirmDelete({ id: "delete-dialog", title: "Delete?", text: `Delete ${what}? This cannot be undone.`,
      onConfirm: async () => {
        await call("DELETE", `${base}?path=${enc(path)}`);
        if (open && (path === "/" || open.path === path || open.path.startsWith(path + "/"))) closeEditor();
        expanded.delete(path);
        selected = { path: parentOf(path), dir: true };
        await redraw();
        showPane();
        changed();
        toast(`Deleted ${path}`);
      } });
  }

  function report(e) { toast(problemMessage(e), true); }

  const onKey = (e) => {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "s") {
      e.preventDefault(); // not the browser's "save page"
      if (open && !document.querySelector("dialog[open]")) saveFile();
    }
  };
  window.addEventListener("keydown", onKey);
  await redraw();
  showPane();
  return () => { window.removeEventListener("keydown", onKey); unguard(); closeEditor(); };
}
