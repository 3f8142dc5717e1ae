// The flow's YAML editor: CodeMirror 6 (vendored, see ui-src/) with YAML highlighting, the
// server's validation shown both as lint diagnostics and inline after the faulty line (quicker to
// read than a gutter marker alone), and completion of task types and properties.
import {
  EditorView, basicSetup, EditorState, StateField, StateEffect, Decoration, WidgetType, keymap,
  yaml, autocompletion, setDiagnostics, lintGutter, indentUnit, indentWithTab,
} from "./vendor/codemirror.bundle.js";

const setErrorsEffect = StateEffect.define();

// The message written after a faulty line, as the textarea editor did.
class ErrorNote extends WidgetType {
  constructor(line, text) { super(); this.line = line; this.text = text; }
  eq(other) { return other.line === this.line && other.text === this.text; }
  toDOM() {
    const span = document.createElement("span");
    span.className = "msg editor-error";
    span.dataset.line = String(this.line);
    span.textContent = "◀ " + this.text;
    return span;
  }
}

const errorNotes = StateField.define({
  create: () => Decoration.none,
  update(notes, tr) {
    for (const e of tr.effects) if (e.is(setErrorsEffect)) return e.value;
    return notes.map(tr.changes);
  },
  provide: (field) => EditorView.decorations.from(field),
});

const describe = (e) => e.message + (e.hint ? ` — ${e.hint}` : "");

export class YamlEditor {
  // onChange(text) after each edit; complete: a CodeMirror completion source (see completions.js).
  // onCursor(lineNumber) after the cursor moved; extensions: more CodeMirror extensions (hover docs).
  constructor(text, onChange, { complete = null, onCursor = null, extensions = [] } = {}) {
    this.el = document.createElement("div");
    this.el.className = "editor-wrap";
    this.view = new EditorView({
      parent: this.el,
      state: EditorState.create({
        doc: text,
        extensions: [
          basicSetup,
          keymap.of([indentWithTab]),
          indentUnit.of("  "), // YAML forbids tabs
          EditorState.tabSize.of(2),
          yaml(),
          lintGutter(),
          errorNotes,
          extensions,
          complete ? autocompletion({ override: [complete], activateOnTyping: true }) : [],
          EditorView.contentAttributes.of({ id: "flow-editor", "aria-label": "Flow YAML" }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange(this.value);
            if (onCursor && (u.selectionSet || u.docChanged)) onCursor(u.state.doc.lineAt(u.state.selection.main.head).number);
          }),
        ],
      }),
    });
  }

  get value() { return this.view.state.doc.toString(); }

  // Replaces the whole text (a restored revision), as one undoable change.
  setValue(text) {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
  }

  setErrors(errors) {
    const doc = this.view.state.doc;
    const byLine = new Map();
    const diagnostics = [];
    for (const err of errors || []) {
      const line = doc.line(Math.min(Math.max(err.line || 1, 1), doc.lines));
      const from = Math.min(line.from + Math.max((err.column || 1) - 1, 0), line.to);
      diagnostics.push({ from, to: line.to, severity: "error", message: describe(err) });
      if (!byLine.has(line.number)) byLine.set(line.number, []);
      byLine.get(line.number).push(describe(err));
    }
    const notes = [...byLine.entries()].sort((a, b) => a[0] - b[0]).flatMap(([n, texts]) => {
      const line = doc.line(n);
      return [Decoration.line({ class: "cm-error-line" }).range(line.from),
        Decoration.widget({ widget: new ErrorNote(n, texts.join("; ")), side: 1 }).range(line.to)];
    });
    this.view.dispatch(setDiagnostics(this.view.state, diagnostics));
    this.view.dispatch({ effects: setErrorsEffect.of(Decoration.set(notes, true)) });
  }

  goToLine(line) {
    const doc = this.view.state.doc;
    const target = doc.line(Math.min(Math.max(line, 1), doc.lines));
    this.view.dispatch({ selection: { anchor: target.from, head: target.to }, scrollIntoView: true });
    this.view.focus();
  }

  focus() { this.view.focus(); }
}
