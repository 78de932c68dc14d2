// The gates screen: one card per gate, refreshed every 5 s and on each event the stream brings.
import { T } from "/static/common/catalog.js";
import { dateTime, duration, el, fmt, time } from "/static/common/format.js";
import { api } from "./desk.js";

const list = document.getElementById("gate-list");

function state(gate) {
  if (gate.revoked) return ["", T.ui.gate_revoked];
  if (!gate.online) return ["bad", gate.silent_s == null ? T.ui.never_heard : fmt(T.ui.silent_for, { d: duration(gate.silent_s) })];
  if (!gate.on_duty) return ["warn", T.ui.unstaffed];
  if ((gate.faults || []).length) return ["warn", T.ui.online];
  return ["ok", T.ui.online];
}

function lastHeard(gate) {
  const times = [gate.last_heartbeat, gate.last_event_at].filter(Boolean).sort();
  return times.length ? dateTime(times[times.length - 1]) : "—";
}

function card(gate) {
  const [severity, words] = state(gate);
  const volunteer = gate.on_duty
    ? fmt(T.ui.on_duty_since, { name: gate.on_duty.name || gate.on_duty.volunteer_id || "", time: time(gate.on_duty.since) })
    : T.ui.nobody_on_duty;
  const faults = (gate.faults || []).map((f) => T.parts[f.part] || f.part).join("、");
  const offset = gate.clock_offset_s == null ? "—"
    : Math.abs(gate.clock_offset_s) < 2 ? T.ui.clock_ok : fmt(T.ui.clock_off, { s: Math.round(gate.clock_offset_s) });
  // the gate's own word on its clock (kiosk/gate/clock.py): its events then carry times the office corrects
  const distrust = gate.clock_trust && gate.clock_trust !== "trusted" ? T.ui["clock_" + gate.clock_trust] || gate.clock_trust : null;
  const clock = distrust ? `${offset} · ${distrust}` : offset;
  return el("article", { class: `card ${severity}`, "data-gate": gate.id, "data-online": String(!!gate.online) },
    el("div", { class: "head" },
      el("span", { class: "title", text: [gate.compound, gate.name || gate.id].filter(Boolean).join(" · ") }),
      el("span", { class: `tag ${severity}`, text: words })),
    el("dl", {},
      el("dt", { text: T.ui.volunteer }), el("dd", { class: gate.on_duty ? "" : "muted", text: volunteer }),
      el("dt", { text: T.ui.today_in_out }), el("dd", { text: fmt(T.ui.in_out, { i: gate.today?.in ?? 0, o: gate.today?.out ?? 0 }) }),
      el("dt", { text: T.ui.last_heard }), el("dd", { text: lastHeard(gate) }),
      el("dt", { text: T.ui.backlog }), el("dd", { text: gate.backlog == null ? "—" : String(gate.backlog) }),
      el("dt", { text: T.ui.clock }),
      el("dd", { class: gate.clock_off || distrust ? "tag bad" : "", "data-clock-trust": gate.clock_trust || null, text: clock }),
      faults ? [el("dt", { text: T.ui.faults }), el("dd", { class: "tag warn", text: faults })] : null,
      leafRow(gate.gate_leaf)));
}

// The gate leaf's reed switch, when the gate has one: 门开着 N 分钟 (red once its alarm is raised) or 已关.
function leafRow(leaf) {
  if (!leaf) return null;
  const words = leaf.open ? fmt(T.ui.leaf_open, { n: leaf.minutes ?? 0 }) : T.ui.leaf_shut;
  return [el("dt", { text: T.ui.leaf }),
    el("dd", { class: leaf.open ? (leaf.alarm ? "tag bad" : "tag warn") : "", "data-leaf": leaf.open ? "open" : "shut", text: words })];
}

async function load() {
  const r = await api("GET", "gates");
  const error = document.getElementById("gates-error");
  error.hidden = r.ok;
  if (!r.ok) { error.textContent = r.data.error; return; }
  list.replaceChildren(...r.data.gates.map(card));
  document.getElementById("gates-empty").hidden = r.data.gates.length > 0;
  document.getElementById("gates-updated").textContent = fmt(T.ui.updated_at, { time: time(new Date().toISOString()) });
  document.body.dataset.gatesLoaded = String(Number(document.body.dataset.gatesLoaded || 0) + 1);
}

let pending = null;
document.addEventListener("desk:event", () => {  // many passages a second: one refresh for the lot
  if (!pending) pending = setTimeout(() => { pending = null; load(); }, 1000);
});
setInterval(load, 5000);
load();
