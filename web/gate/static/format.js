// Formatting for the touchscreen: templates from the catalog, times, dates, durations, directions.
import { T } from "./catalog.js";

// "{n} waiting" with {n: 3} → "3 waiting"; a field the values lack shows as a dash, never "undefined".
export const fmt = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => (values[k] ?? "—"));

export function time(ts) {  // an ISO timestamp → "08:45"
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

export function day(iso) {  // "2026-12-31" → the catalog's way of writing a date (2026年12月31日)
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
  return m ? fmt(T.ui.date, { y: m[1], m: String(+m[2]), d: String(+m[3]) }) : iso;
}

export function duration(seconds) {  // 105 → "1分45秒"
  const s = Math.max(0, Math.ceil(seconds));
  return s >= 60 ? fmt(T.ui.minutes_seconds, { m: Math.floor(s / 60), s: s % 60 }) : fmt(T.ui.seconds, { s });
}

export function directionWord(d) { return d === "out" ? T.ui.out : d === "in" ? T.ui.in : ""; }

export function celsius(c) { return c ? c.toFixed(1) + " °C" : ""; }
