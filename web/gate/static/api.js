// The gate's local API (/api/v1): every answer is JSON; a failure carries {"error": …}.
import { T } from "./catalog.js";

export async function api(method, path, body) {
  const response = await fetch("/api/v1/" + path, {
    method, headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = { error: T.ui.error }; }
  return { ok: response.ok, status: response.status, data };
}
