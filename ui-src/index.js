// The names the UI's ES modules import from the one vendored bundle (js/vendor/codemirror.bundle.js).
// jsdiff (`diff`) compares a flow revision with the editor text. Add an export here, then `npm run build`, rather than importing a package from the page.
export { EditorView, basicSetup } from "codemirror";
export { EditorState, StateField, StateEffect } from "@codemirror/state";
export { keymap, Decoration, WidgetType, hoverTooltip } from "@codemirror/view";
export { yaml } from "@codemirror/lang-yaml";
export { autocompletion, startCompletion } from "@codemirror/autocomplete";
export { setDiagnostics, lintGutter } from "@codemirror/lint";
export { indentUnit } from "@codemirror/language";
export { indentWithTab } from "@codemirror/commands";
export { diffLines } from "diff";
export { parse as parseYaml } from "yaml"; // the topology beside the editor reads the flow being typed
