// A YAML editor without dependencies: a textarea over a backdrop that mirrors its lines, so that
// lines with validation errors are highlighted and carry their message inline; a gutter of line
// numbers marks them too.
import { h } from "./dom.js";

export class YamlEditor {
  constructor(text, onChange) {
    this.textarea = h("textarea", { id: "flow-editor", spellcheck: "false", autocomplete: "off",
      "aria-label": "Flow YAML", wrap: "off" });
    this.textarea.value = text;
    this.backdrop = h("div", { class: "backdrop", "aria-hidden": "true" });
    this.gutter = h("div", { class: "gutter", "aria-hidden": "true" });
    this.el = h("div", { class: "editor-wrap" }, this.gutter, h("div", { class: "editor-area" }, this.backdrop, this.textarea));
    this.errors = [];
    this.textarea.addEventListener("input", () => { this.render(); onChange(this.value); });
    this.textarea.addEventListener("scroll", () => this.sync());
    this.textarea.addEventListener("keydown", (e) => this.keys(e));
    this.render();
  }

  get value() { return this.textarea.value; }

  setErrors(errors) {
    this.errors = errors || [];
    this.render();
  }

  keys(e) {
    if (e.key === "Tab") { // two spaces: YAML forbids tabs
      e.preventDefault();
      const { selectionStart: s, selectionEnd: end, value } = this.textarea;
      this.textarea.value = value.slice(0, s) + "  " + value.slice(end);
      this.textarea.selectionStart = this.textarea.selectionEnd = s + 2;
      this.textarea.dispatchEvent(new Event("input"));
    }
  }

  render() {
    const lines = this.value.split("\n");
    const byLine = new Map();
    for (const err of this.errors) {
      const line = err.line || 1;
      if (!byLine.has(line)) byLine.set(line, []);
      byLine.get(line).push(err);
    }
    this.gutter.replaceChildren(...lines.map((_, i) => h("div", {
      class: byLine.has(i + 1) ? "err" : null, text: String(i + 1),
      title: byLine.has(i + 1) ? byLine.get(i + 1).map((e) => e.message).join("\n") : null,
    })));
    this.backdrop.replaceChildren(...lines.map((text, i) => {
      const errs = byLine.get(i + 1);
      return h("div", { class: errs ? "line err" : "line", dataset: { line: i + 1 } },
        text || " ",
        errs ? h("span", { class: "msg editor-error", dataset: { line: i + 1 },
          text: "◀ " + errs.map((e) => e.message + (e.hint ? ` — ${e.hint}` : "")).join("; ") }) : null);
    }), h("div", { class: "line", text: " " }));
    this.sync();
  }

  sync() {
    this.backdrop.scrollTop = this.textarea.scrollTop;
    this.backdrop.scrollLeft = this.textarea.scrollLeft;
    this.gutter.scrollTop = this.textarea.scrollTop;
  }

  goToLine(line) {
    const lines = this.value.split("\n");
    let pos = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) pos += lines[i].length + 1;
    this.textarea.focus();
    this.textarea.setSelectionRange(pos, pos + (lines[line - 1] || "").length);
    this.textarea.scrollTop = Math.max(0, (line - 5) * 20);
    this.sync();
  }
}
