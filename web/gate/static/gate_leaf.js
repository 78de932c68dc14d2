// The gate leaf's chip in the top bar (status.gate_leaf, from the reed switch): nothing while the gate is shut or
// has no switch; amber "门开 5分钟" while it is open; red once it has been open too long (the gate-left-open alarm).
import { T } from "/static/common/catalog.js";
import { el, fmt } from "/static/common/format.js";

export function leafChip(s) {
  const leaf = s.gate_leaf;
  if (!leaf || !leaf.open) return null;
  const text = leaf.minutes >= 1 ? fmt(T.ui.leaf_open_min, { n: leaf.minutes }) : T.ui.leaf_open;
  // "neutral" ranks it with the other notices when the bar is short of room; "warn" paints it amber.
  return el("span", { class: leaf.alarm ? "chip bad leaf" : "chip neutral warn leaf", id: "leaf-chip" }, leaf.alarm ? "✖ " : "", text);
}
