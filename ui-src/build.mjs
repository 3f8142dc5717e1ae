// Bundles each entry and the npm packages it names into ONE ES module the web UI imports, written
// into the Python package so that `pip install` serves it without Node or a CDN:
//   index.js  → codemirror.bundle.js (the flow editor)
//   charts.js → charts.bundle.js (the dashboard's Chart.js)
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entries = { "index.js": "codemirror.bundle.js", "charts.js": "charts.bundle.js" };

for (const [entry, bundle] of Object.entries(entries)) {
  const out = fileURLToPath(new URL(`../src/lanner/server/ui/js/vendor/${bundle}`, import.meta.url));
  await build({
    entryPoints: [fileURLToPath(new URL(`./${entry}`, import.meta.url))],
    bundle: true,
    format: "esm",
    minify: true,
    target: "es2020",
    legalComments: "eof",
    outfile: out,
  });
  // The served UI names no outside address (tests/integration/server/test_restarts_and_security.py),
  // so the license notices at the end keep each project's address without its scheme.
  const text = readFileSync(out, "utf8");
  const notices = text.indexOf("/*! Bundled license information:");
  if (notices >= 0) {
    writeFileSync(out, text.slice(0, notices) + text.slice(notices).replace(/https?:\/\//g, ""));
  }
  console.log(`wrote ${out}`);
}
