// Talking to the API: JSON in and out, problems turned into Error objects with `.problem`.
export const API = "/api/v1";

export class ApiError extends Error {
  constructor(problem, status) {
    super(problem && problem.message ? problem.message : `HTTP ${status}`);
    this.problem = problem || {};
    this.status = status;
  }
}

export async function call(method, path, { body, headers = {}, raw = false } = {}) {
  const res = await fetch(API + path, { method, body, headers, credentials: "same-origin" });
  if (!res.ok) {
    let problem = null;
    try { problem = await res.json(); } catch (_) { /* not JSON */ }
    throw new ApiError(problem, res.status);
  }
  if (raw) return res;
  if (res.status === 204 || res.status === 202) return null;
  const type = res.headers.get("content-type") || "";
  return type.includes("json") ? res.json() : res.text();
}

export const get = (path) => call("GET", path);
export const del = (path) => call("DELETE", path);
export const postJson = (path, data) =>
  call("POST", path, { body: JSON.stringify(data), headers: { "Content-Type": "application/json" } });
export const postYaml = (path, text) => call("POST", path, { body: text, headers: { "Content-Type": "application/x-yaml" } });
export const putYaml = (path, text) => call("PUT", path, { body: text, headers: { "Content-Type": "application/x-yaml" } });
export const postForm = (path, form) => call("POST", path, { body: form });

// A server-sent event stream; returns a function that closes it.
export function follow(path, onEvent) {
  const source = new EventSource(API + path);
  source.onmessage = (e) => onEvent(e.lastEventId, e.data);
  source.addEventListener("error", () => { /* the browser reconnects by itself */ });
  return () => source.close();
}

export const enc = encodeURIComponent;
