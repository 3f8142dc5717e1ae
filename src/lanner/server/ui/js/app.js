// The router: hash paths to pages. Each page returns an optional cleanup (closing live streams).
import { flowsPage, editorPage } from "./flows.js";
import { executionsPage } from "./executions.js";
import { executionPage } from "./execution.js";

const view = document.getElementById("view");
let cleanup = null;

const routes = [
  [/^#\/flows\/?$/, () => flowsPage(view), "flows"],
  [/^#\/flows\/new$/, () => editorPage(view, null, null), "new"],
  [/^#\/flows\/edit\/([^/]+)\/([^/]+)$/, (m) => editorPage(view, decodeURIComponent(m[1]), decodeURIComponent(m[2])), "flows"],
  [/^#\/executions\/?(\?.*)?$/, (m) => executionsPage(view, new URLSearchParams((m[1] || "").slice(1))), "executions"],
  [/^#\/executions\/([A-Za-z0-9]+)$/, (m) => executionPage(view, m[1]), "executions"],
];

async function route() {
  if (cleanup) { try { cleanup(); } catch (_) { /* ignore */ } cleanup = null; }
  const hash = location.hash || "#/flows";
  for (const [pattern, page, nav] of routes) {
    const m = hash.match(pattern);
    if (m) {
      document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === nav));
      view.replaceChildren();
      cleanup = (await page(m)) || null;
      return;
    }
  }
  location.hash = "#/flows";
}

window.addEventListener("hashchange", route);
route();
