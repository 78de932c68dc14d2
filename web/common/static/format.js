// Formatting both apps share: templates from the catalog, times, dates, durations, temperatures.
import { T } from "./catalog.js";

// "{n} waiting" with {n: 3} → "3 waiting"; a field the values lack shows as a dash, never "undefined".
export const fmt = (template, values) => (template || "").replace(/\{(\w+)\}/g, (_, k) => (values[k] ?? "—"));

// Times are shown on the community's clock when the page says which (T.timezone: the office desk, whose staff may
// sit anywhere); else on the device's own (the gate's Pi is set to local time).
const zone = () => T.timezone || undefined;

export function time(ts) {  // an ISO timestamp → "08:45"
  return new Date(ts).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone() });
}

export function dateTime(ts) {  // an ISO timestamp → "12月1日 08:45" (the catalog's short date and the time)
  const d = new Date(ts);
  if (isNaN(d)) return "";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", { month: "numeric", day: "numeric", timeZone: zone() })
    .formatToParts(d).map((p) => [p.type, p.value]));
  return fmt(T.ui.short_date || "{m}/{d}", { m: parts.month, d: parts.day }) + " " + time(ts);
}

export function day(iso) {  // "2026-12-31" → the catalog's way of writing a date (2026年12月31日)
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
  return m ? fmt(T.ui.date, { y: m[1], m: String(+m[2]), d: String(+m[3]) }) : iso;
}

export function duration(seconds) {  // 105 → "1分45秒"; 7200 → "2小时0分"
  const s = Math.max(0, Math.ceil(seconds));
  if (s >= 3600 && T.ui.hours_minutes) return fmt(T.ui.hours_minutes, { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return s >= 60 ? fmt(T.ui.minutes_seconds, { m: Math.floor(s / 60), s: s % 60 }) : fmt(T.ui.seconds, { s });
}

export function celsius(c) { return c ? Number(c).toFixed(1) + " °C" : ""; }

// Text into an element without HTML: every value from the server goes through here or textContent.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}
