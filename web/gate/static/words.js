// The gate's own ways of putting codes into words (the shared ones are in /static/common/format.js): a direction,
// a decision's title and what to do, a person's name and household, a masked ID number.
import { T } from "/static/common/catalog.js";
import { day, fmt } from "/static/common/format.js";

export function directionWord(d) { return d === "out" ? T.ui.out : d === "in" ? T.ui.in : ""; }

export function promptText(d) {
  // A decision's title and what to do, with the dates of its detail (valid_until, valid_from) filled in.
  const [title, todo] = T.prompts[d.prompt] || [T.verdicts[d.verdict] || "", ""];
  const detail = {};
  for (const [k, v] of Object.entries(d.detail || {})) detail[k] = /^valid_/.test(k) ? day(v) : v;
  return [fmt(title, detail), fmt(todo, detail)];
}

// "王*山  1-1-101": who a passage is about, as the screens show it (the name arrives masked).
export function who(d, separator = "  ") { return [d.name, d.household].filter(Boolean).join(separator); }

// 110105194912310021 → 110***********0021: an ID number on screen, as it is typed.
export function maskId(v) { return v.length <= 7 ? v : v.slice(0, 3) + "*".repeat(v.length - 7) + v.slice(-4); }
