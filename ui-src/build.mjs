// Bundles index.js and the npm packages it names into ONE ES module the web UI imports, written
// into the Python package so that `pip install` serves it without Node or a CDN.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const out = fileURLToPath(new URL("../src/lanner/server/ui/js/vendor/codemirror.bundle.js", import.meta.url));

await build({
  entryPoints: [fileURLToPath(new URL("./index.js", import.meta.url))],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  legalComments: "eof",
  outfile: out,
});
console.log(`wrote ${out}`);
