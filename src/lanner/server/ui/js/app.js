// The router: hash paths to pages. Each page returns an optional cleanup (closing live streams).
import { flowsPage, editorPage } from "./flows.js";
import { executionsPage } from "./executions.js";
import { executionPage } from "./execution.js";
import { mayLeave } from "./leave_guard.js";
import { pluginsPage, pluginPage } from "./plugins.js";
import { namespacesPage, namespacePage } from "./namespaces.js";
import { dashboardPage } from "./dashboard.js";
import { triggersPage } from "./triggers.js";
import { logsPage } from "./logs.js";

const view = document.getElementById("view");
let cleanup = null;
let shown = null; // the hash of the page on screen

const routes = [
  [/^#\/flows\/?$/, () => flowsPage(view), "flows"],
  [/^#\/flows\/new$/, () => editorPage(view, null, null), "new"],
  [/^#\/flows\/edit\/([^/]+)\/([^/]+)$/, (m) => editorPage(view, decodeURIComponent(m[1]), decodeURIComponent(m[2])), "flows"],
  [/^#\/executions\/?(\?.*)?$/, (m) => executionsPage(view, new URLSearchParams((m[1] || "").slice(1))), "executions"],
  [/^#\/executions\/([A-Za-z0-9]+)$/, (m) => executionPage(view, m[1]), "executions"],
  [/^#\/plugins\/?$/, () => pluginsPage(view), "plugins"],
  [/^#\/plugins\/([\w.]+)$/, (m) => pluginPage(view, m[1]), "plugins"],
  [/^#\/namespaces\/?$/, () => namespacesPage(view), "namespaces"],
  [/^#\/namespaces\/([a-z0-9._-]+)(?:\/(flows|files|kv))?$/, (m) => namespacePage(view, m[1], m[2] || "flows"), "namespaces"],
  [/^#\/dashboard\/?(\?.*)?$/, (m) => dashboardPage(view, new URLSearchParams((m[1] || "").slice(1))), "dashboard"],
  [/^#\/triggers\/?$/, () => triggersPage(view), "triggers"],
  [/^#\/logs\/?(\?.*)?$/, (m) => logsPage(view, new URLSearchParams((m[1] || "").slice(1))), "logs"],
];

async function route() {
  const hash = location.hash || "#/dashboard"; // the dashboard is the home page
  if (hash === shown) return;
  if (shown !== null && !mayLeave()) { history.replaceState(null, "", shown); return; } // stay, edits kept
  shown = hash;
  if (cleanup) { try { cleanup(); } catch (_) { /* ignore */ } cleanup = null; }
  for (const [pattern, page, nav] of routes) {
    const m = hash.match(pattern);
    if (m) {
      document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === nav));
      view.replaceChildren();
      cleanup = (await page(m)) || null;
      return;
    }
  }
  location.hash = "#/dashboard";
}

window.addEventListener("hashchange", route);
// a page that writes its filters into the hash (ranges.js setHash) is still the page on screen
window.addEventListener("lanner:hash", () => { shown = location.hash; });
route();
