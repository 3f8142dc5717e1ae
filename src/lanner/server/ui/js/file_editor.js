// The editor of a namespace file: the CodeMirror of the flow editor (the one vendored bundle),
// YAML highlighting and two-space indentation for .yml/.yaml files, plain text otherwise.
import { EditorView, basicSetup, EditorState, keymap, yaml, indentUnit, indentWithTab } from "./vendor/codemirror.bundle.js";

export class FileEditor {
  // onChange(text) after each edit.
  constructor(text, name, onChange) {
    this.el = document.createElement("div");
    this.el.className = "editor-wrap file-editor";
    const isYaml = /\.ya?ml$/i.test(name);
    this.view = new EditorView({
      parent: this.el,
      state: EditorState.create({
        doc: text,
        extensions: [
          basicSetup,
          keymap.of([indentWithTab]),
          isYaml ? [yaml(), indentUnit.of("  "), EditorState.tabSize.of(2)] : [],
          EditorView.contentAttributes.of({ id: "file-editor", "aria-label": `Content of ${name}` }),
          EditorView.updateListener.of((u) => { if (u.docChanged) onChange(this.value); }),
        ],
      }),
    });
  }

  get value() { return this.view.state.doc.toString(); }

  focus() { this.view.focus(); }

  destroy() { this.view.destroy(); }
}
