// The alarms screen: the list (open, handled or all), live, and the form that handles one (an outcome and a note).
import { T } from "/static/common/catalog.js";
import { celsius, dateTime, el, fmt } from "/static/common/format.js";
import { api } from "./desk.js";

const list = document.getElementById("alarm-list");
const canHandle = document.body.dataset.role !== "viewer";
let status = "open";
let before = null;

const SEVERITY = { fever: "bad", quarantine_breach: "bad", invalid_card: "bad", gate_offline: "warn", unstaffed_gate: "warn",
  sensor_fault: "warn", overdue_return: "warn", unknown_visitor: "info", quarantine_return: "info", outing_limit: "info" };

function who(alarm) {
  const w = alarm.who || {};
  const parts = [T.subjects[w.subject_kind], w.name_masked, w.household?.label].filter(Boolean);
  return parts.length ? parts.join(" · ") : "—";
}

function readingsText(r) {
  const values = (r?.readings || []).map((x) => x.object_c ?? x.temperature_c).filter((x) => typeof x === "number");
  if (!values.length && typeof r?.temperature_c === "number") values.push(r.temperature_c);
  return values.map(celsius).join(" → ");
}

function handledText(h) {
  const by = h.by_kind === "gate" ? fmt(T.ui.by_volunteer, { name: h.by || "" }) : fmt(T.ui.by_staff, { name: h.by || "" });
  const outcome = T.outcomes[h.outcome] || h.outcome || "";
  return [outcome, h.note, by, dateTime(h.at)].filter(Boolean).join(" · ");
}

function handleForm(alarm) {
  const form = el("form", { class: "handle", "data-event-id": alarm.event_id });
  const chosen = { outcome: null };
  const outcomes = el("div", { class: "outcomes", role: "group", "aria-label": T.ui.outcome });
  for (const code of alarm.outcomes || []) {
    const b = el("button", { type: "button", "data-outcome": code, "aria-pressed": "false", text: T.outcomes[code] || code });
    b.addEventListener("click", () => {
      chosen.outcome = code;
      for (const other of outcomes.children) other.setAttribute("aria-pressed", String(other === b));
    });
    outcomes.append(b);
  }
  const note = el("textarea", { name: "note", maxlength: "500", placeholder: T.ui.note, "aria-label": T.ui.note });
  const problem = el("div", { class: "error-box", hidden: true });
  const save = el("button", { type: "submit", class: "primary", text: T.ui.handle });
  form.append(outcomes, note, problem, el("div", { class: "row" }, save));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!chosen.outcome) { problem.textContent = T.ui.choose_outcome; problem.hidden = false; return; }
    save.disabled = true;
    const r = await api("POST", `alarms/${encodeURIComponent(alarm.event_id)}/handle`, { outcome: chosen.outcome, note: note.value });
    save.disabled = false;
    if (!r.ok) { problem.textContent = r.data.error; problem.hidden = false; return; }
    load();
  });
  return form;
}

function card(alarm) {
  const handled = alarm.status === "handled";
  const readings = readingsText(alarm.readings);
  const decision = alarm.gate_action || {};
  const did = [T.verdicts[decision.verdict], T.directions[decision.direction]].filter(Boolean).join(" · ");
  const gate = [alarm.gate?.compound, alarm.gate?.name || alarm.gate?.id].filter(Boolean).join(" · ");
  const node = el("article", { class: `card ${SEVERITY[alarm.kind] || "info"}`, "data-kind": alarm.kind, "data-event-id": alarm.event_id },
    el("div", { class: "head" },
      el("span", { class: "title", text: T.alarms[alarm.kind] || alarm.kind }),
      el("span", { class: `tag ${handled ? "ok" : SEVERITY[alarm.kind] || ""}`, text: handled ? T.ui.handled : T.ui.open })),
    el("dl", {},
      el("dt", { text: T.ui.who }), el("dd", { text: who(alarm) }),
      el("dt", { text: T.ui.where }), el("dd", { text: gate || "—" }),
      el("dt", { text: T.ui.when }), el("dd", { text: dateTime(alarm.raised_at) }),
      readings ? [el("dt", { text: T.ui.readings }), el("dd", { text: readings })] : null,
      did ? [el("dt", { text: T.ui.gate_did }), el("dd", { text: did })] : null,
      (alarm.acknowledgements || []).map((a) => [el("dt", { text: T.ui.handling }), el("dd", { text: handledText(a) })])));
  if (canHandle && (alarm.outcomes || []).length) node.append(handleForm(alarm));
  return node;
}

async function load(more = false) {
  const query = new URLSearchParams({ status });
  if (more && before) query.set("before", before);
  const r = await api("GET", "alarms?" + query);
  const error = document.getElementById("alarm-error");
  error.hidden = r.ok;
  if (!r.ok) { error.textContent = r.data.error; return; }
  // A card whose alarm did not change is kept as it is, so a form someone is filling survives a refresh.
  const kept = new Map([...list.children].map((node) => [node.dataset.eventId + "|" + node.dataset.state, node]));
  const nodes = r.data.alarms.map((alarm) => {
    const state = alarm.status + ":" + (alarm.acknowledgements || []).length;
    const node = kept.get(alarm.event_id + "|" + state) || card(alarm);
    node.dataset.state = state;
    return node;
  });
  if (more) list.append(...nodes); else list.replaceChildren(...nodes);
  before = r.data.next;
  document.getElementById("alarm-more").hidden = !before;
  document.getElementById("alarm-empty").hidden = list.children.length > 0;
  document.body.dataset.alarmsLoaded = String(Number(document.body.dataset.alarmsLoaded || 0) + 1);
}

for (const b of document.querySelectorAll("#alarm-filter button")) {
  b.addEventListener("click", () => {
    status = b.dataset.status;
    for (const o of document.querySelectorAll("#alarm-filter button")) o.setAttribute("aria-pressed", String(o === b));
    load();
  });
}
document.getElementById("alarm-more").addEventListener("click", () => load(true));
document.addEventListener("desk:event", (e) => { if (e.detail.type.startsWith("alarm")) load(); });
load();
