// Date ranges shared by the dashboard and the executions list: quick ranges ("last 24 hours") kept
// in the URL hash as `range=24h`, a custom range as `startDate`/`endDate` (ISO instants, UTC).
import { h } from "./dom.js";

export const QUICK = [["1h", "Last hour", 3600e3], ["24h", "Last 24 hours", 86400e3], ["7d", "Last 7 days", 7 * 86400e3],
  ["30d", "Last 30 days", 30 * 86400e3], ["90d", "Last 90 days", 90 * 86400e3], ["365d", "Last year", 365 * 86400e3]];

// `<input type=datetime-local>` value (local time) of an ISO instant, and back.
export const toLocalInput = (iso) => {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
};
export const fromLocalInput = (value) => (value ? new Date(value).toISOString() : "");

// A range picker: a select of quick ranges (plus "any time" when `anyTime`, and "custom") and two
// date-time inputs shown for a custom range. `state()` gives {range} or {startDate, endDate}.
export function rangePicker(params, { anyTime, fallback, onChange }) {
  const select = h("select", { id: "filter-range", "aria-label": "Date range" },
    anyTime ? h("option", { value: "", text: "Any time" }) : null,
    ...QUICK.map(([v, label]) => h("option", { value: v, text: label })),
    h("option", { value: "custom", text: "Custom range…" }));
  const start = h("input", { type: "datetime-local", id: "filter-start", "aria-label": "Start date",
    value: toLocalInput(params.get("startDate")) });
  const end = h("input", { type: "datetime-local", id: "filter-end", "aria-label": "End date",
    value: toLocalInput(params.get("endDate")) });
  const custom = params.get("startDate") || params.get("endDate");
  const known = QUICK.some(([v]) => v === params.get("range"));
  select.value = custom ? "custom" : (known ? params.get("range") : (anyTime ? "" : fallback));
  const sync = () => { start.hidden = end.hidden = select.value !== "custom"; };
  sync();
  select.addEventListener("change", () => { sync(); if (select.value !== "custom") onChange(); });
  for (const el of [start, end]) el.addEventListener("change", onChange);
  return {
    elements: [select, start, end],
    // what goes in the URL hash
    hashParams() {
      if (select.value === "custom") {
        return { startDate: fromLocalInput(start.value), endDate: fromLocalInput(end.value) };
      }
      return select.value ? { range: select.value } : {};
    },
    // what goes to the API: instants
    apiParams() {
      if (select.value === "custom") return { startDate: fromLocalInput(start.value), endDate: fromLocalInput(end.value) };
      const quick = QUICK.find(([v]) => v === select.value);
      if (!quick) return {};
      const now = Date.now();
      return { startDate: new Date(now - quick[2]).toISOString(), endDate: new Date(now).toISOString() };
    },
  };
}

// Write `params` (empty values left out) as the page's hash without re-rendering the page: a
// filtered view is a URL one can share or reload.
export function setHash(path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of [].concat(v)) if (one !== "" && one !== null && one !== undefined) qs.append(k, one);
  }
  const text = qs.toString();
  history.replaceState(null, "", `#/${path}${text ? "?" + text : ""}`);
  window.dispatchEvent(new Event("lanner:hash")); // app.js: no new page for this hash
}
