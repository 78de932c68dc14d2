// A JSON API client for one app's API (the gate's /api/v1/, the desk's /desk/api/): every answer is JSON; a failure
// carries {"error": …}. State-changing requests carry the page's CSRF token when it has one (<meta name="csrf-token">).
import { T } from "./catalog.js";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content;

export function client(base) {
  return async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && csrf()) headers["X-CSRF-Token"] = csrf();
    let response;
    try {
      response = await fetch(base + path, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, status: 0, data: { error: T.ui?.offline || T.ui?.error || "offline" } };
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = { error: T.ui?.error || String(response.status) }; }
    return { ok: response.ok, status: response.status, data };
  };
}
