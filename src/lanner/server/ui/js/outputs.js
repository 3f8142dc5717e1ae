// The Outputs tab: the flow's outputs and each task run's, as a tree of keys, where every
// internal-storage URI (`kestra:///…`) becomes the file's name with Preview and Download.
// Preview opens a dialog: images drawn, CSV as a table, JSON indented, anything else as text
// (the server's `file/preview` reads at most the first rows of the file).
import { get, API, enc } from "./api.js";
import { h } from "./dom.js";

const SCHEME = "kestra:///";
const IMAGES = ["png", "jpg", "jpeg", "gif", "webp", "bmp", "svg", "ico", "avif"];
const PAGE = 100;  // task runs' outputs drawn at a time

export const fileUrl = (executionId, uri) => `${API}/executions/${enc(executionId)}/file?path=${enc(uri)}`;

export const isFile = (v) => typeof v === "string" && v.startsWith(SCHEME) && v.length > SCHEME.length;

function fileName(uri) {
  return uri.slice(uri.lastIndexOf("/") + 1) || uri;
}

function extension(uri) {
  const name = fileName(uri);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}

function fileLink(executionId, uri) {
  return h("span", { class: "file-ref", dataset: { uri } },
    h("span", { class: "mono file-name", title: uri, text: fileName(uri) }), " ",
    h("button", { type: "button", class: "small preview-file", text: "Preview", onclick: () => openPreview(executionId, uri) }), " ",
    h("a", { class: "button small download-file", href: fileUrl(executionId, uri), download: fileName(uri), text: "Download" }));
}

const EXECUTION_ID = /^[A-Za-z0-9]{10,40}$/;

// A value as a tree: objects and lists nested, scalars as JSON, file URIs as links, and the
// `executionId` a Subflow or ForEachItem outputs as a link to that execution.
export function valueTree(executionId, value, key = null) {
  if (isFile(value)) return fileLink(executionId, value);
  if (key === "executionId" && typeof value === "string" && EXECUTION_ID.test(value)) {
    return h("a", { class: "mono execution-link", href: `#/executions/${value}`, text: value });
  }
  if (Array.isArray(value)) {
    if (!value.length) return h("span", { class: "mono", text: "[]" });
    return h("ol", { class: "out-list", start: "0" }, ...value.map((v) => h("li", {}, valueTree(executionId, v))));
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (!keys.length) return h("span", { class: "mono", text: "{}" });
    return h("dl", { class: "out-map" }, ...keys.flatMap((k) => [h("dt", { class: "mono", text: k }),
      h("dd", {}, valueTree(executionId, value[k], k))]));
  }
  return h("span", { class: "mono out-scalar", text: JSON.stringify(value) });
}

export function renderOutputs(container, e) {
  const rows = e.taskRunList.filter((r) => r.outputs && Object.keys(r.outputs).length);
  const parts = [];
  if (e.outputs && Object.keys(e.outputs).length) {
    parts.push(h("section", { class: "out-block", dataset: { flowOutputs: "true" } },
      h("h2", { text: "Flow outputs" }), valueTree(e.id, e.outputs)));
  }
  const list = h("div", { class: "out-runs" });
  let shown = 0;
  const more = h("button", { type: "button", class: "more", id: "more-outputs" });
  function showMore() {
    const next = rows.slice(shown, shown + PAGE);
    shown += next.length;
    list.append(...next.map((r) => h("section", { class: "out-block", dataset: { taskId: r.taskId, taskRunId: r.id } },
      h("h2", { class: "mono", text: r.value != null ? `${r.taskId} [${r.value}]` : r.taskId }),
      valueTree(e.id, r.outputs))));
    more.hidden = shown >= rows.length;
    more.textContent = `Show more (${(rows.length - shown).toLocaleString("en")} left)`;
  }
  more.addEventListener("click", showMore);
  showMore();
  if (rows.length) parts.push(list, more);
  container.replaceChildren(...(parts.length ? parts : [h("div", { class: "empty", text: "No outputs." })]));
}

// CSV text as rows of cells: quoted fields with "" escapes, commas and newlines inside quotes.
export function parseCsv(text, separator = ",") {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === separator) { row.push(cell); cell = ""; } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

function table(rows) {
  const [head, ...body] = rows;
  return h("table", { class: "preview-table" },
    h("thead", {}, h("tr", {}, ...(head || []).map((c) => h("th", { text: c })))),
    h("tbody", {}, ...body.map((r) => h("tr", {}, ...r.map((c) => h("td", { text: c }))))));
}

function objectsTable(list) {
  const keys = [...new Set(list.flatMap((o) => Object.keys(o)))];
  return table([keys, ...list.map((o) => keys.map((k) => (o[k] === undefined ? "" : typeof o[k] === "string" ? o[k] : JSON.stringify(o[k]))))]);
}

async function previewBody(executionId, uri) {
  const ext = extension(uri);
  if (IMAGES.includes(ext)) {
    return h("img", { class: "preview-image", src: fileUrl(executionId, uri), alt: fileName(uri) });
  }
  const answer = await get(`/executions/${enc(executionId)}/file/preview?path=${enc(uri)}&maxRows=200`);
  const note = answer.truncated ? h("p", { class: "muted", text: "Only the first rows are shown: download the file for all of it." }) : null;
  if (answer.type === "LIST") {
    const list = answer.content || [];
    const body = list.length && list.every((o) => o && typeof o === "object" && !Array.isArray(o))
      ? objectsTable(list) : h("pre", { class: "json preview-text", text: list.map((o) => JSON.stringify(o)).join("\n") });
    return h("div", {}, body, note);
  }
  const text = String(answer.content || "");
  if ((ext === "csv" || ext === "tsv") && text.trim()) return h("div", {}, table(parseCsv(text, ext === "tsv" ? "\t" : ",")), note);
  if (ext === "json" && !answer.truncated) {
    try {
      return h("div", {}, h("pre", { class: "json preview-text", text: JSON.stringify(JSON.parse(text), null, 2) }));
    } catch (_) { /* not valid JSON: shown as it is */ }
  }
  return h("div", {}, h("pre", { class: "json preview-text", text: text || "(empty file)" }), note);
}

// The preview dialog: Close has the focus, Esc closes, Download fetches the whole file.
export async function openPreview(executionId, uri) {
  const body = h("div", { class: "preview-body", id: "preview-body", "aria-busy": "true", text: "Loading…" });
  const close = h("button", { type: "button", id: "preview-close", text: "Close", onclick: () => dialog.close() });
  const size = h("span", { class: "muted", id: "preview-size" });
  const dialog = h("dialog", { id: "preview-dialog", class: "wide", "aria-label": `Preview of ${fileName(uri)}` },
    h("form", { method: "dialog" },
      h("h2", { class: "mono", text: fileName(uri) }), size, body,
      h("div", { class: "dialog-actions" },
        h("a", { class: "button", href: fileUrl(executionId, uri), download: fileName(uri), text: "Download" }), close)));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  get(`/executions/${enc(executionId)}/file/metas?path=${enc(uri)}`)
    .then((m) => { size.textContent = `${Number(m.size).toLocaleString("en")} bytes`; }).catch(() => {});
  try {
    body.replaceChildren(await previewBody(executionId, uri));
  } catch (err) {
    body.replaceChildren(h("div", { class: "form-error", role: "alert", text: err.message }));
  }
  body.removeAttribute("aria-busy");
  return dialog;
}
