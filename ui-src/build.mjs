// Bundles each entry and the npm packages it names into ONE ES module the web UI imports, written
// into the Python package so that `pip install` serves it without Node or a CDN:
//   index.js  → codemirror.bundle.js (the flow editor)
//   charts.js → charts.bundle.js (the dashboard's Chart.js)
import { build } from "esbuild";
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
  console.log(`wrote ${out}`);
}
