// The gate's touchscreen page: its screens (one partial each in templates/) and what switches them. Decisions
// arrive by server-sent events (stream.js); the page never polls for them. Every word comes from the server's
// translation catalog (catalog.js), so this file holds no UI text.
import { api } from "./api.js";
import { T } from "./catalog.js";
import { celsius, day, directionWord, duration, fmt, time } from "./format.js";
import { connect } from "./stream.js";

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => Array.from(document.querySelectorAll(sel));
const RESULT_HOME_MS = { admit: 4000, caution: 15000, deny: 20000, refer: 20000, abandoned: 8000 };
const IDLE_HOME_MS = 90000;
// While the gate waits for a person (measuring) or for a direction (asking), the screen stays until the passage's
// decision or its "abandoned" event; this is only the fallback if neither ever comes (the gate's pending time is 120 s).
const WAITING_FALLBACK_MS = 150000;
let homeTimer = null;
let idleTimer = null;
let status = null;

// -- small helpers -------------------------------------------------------------

function show(screen, { stay = false } = {}) {
  document.body.dataset.screen = screen;
  if (screen !== "alarms") $("#ack-dialog").hidden = true;
  clearTimeout(homeTimer);
  clearTimeout(idleTimer);
  if (screen !== "home" && !stay) idleTimer = setTimeout(() => show("home"), IDLE_HOME_MS);
  const enter = ENTER[screen];
  if (enter) enter();
}

function homeAfter(ms) {
  clearTimeout(homeTimer);
  homeTimer = setTimeout(() => show("home"), ms);
}

function keypad(container, onKey) {
  for (const key of container.dataset.keys) {
    const button = document.createElement("button");
    button.textContent = key;
    button.dataset.key = key;
    button.addEventListener("click", () => onKey(key));
    container.appendChild(button);
  }
}

function edit(value, key, max) {
  if (key === "⌫") return value.slice(0, -1);
  return value.length >= max ? value : value + key;
}

function choice(group, single = true) {
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || !group.contains(button)) return;
    if (single) group.querySelectorAll("button").forEach((b) => b.classList.remove("on"));
    button.classList.toggle("on", single ? true : !button.classList.contains("on"));
  });
}

function radio(group, onChange) {
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    group.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b === button));
    if (onChange) onChange(button);
  });
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child === null || child === undefined ? "" : child);
  return node;
}

function promptText(d) {
  // A decision's title and what to do, with the dates of its detail (valid_until, valid_from) filled in.
  const [title, todo] = T.prompts[d.prompt] || [T.verdicts[d.verdict] || "", ""];
  const detail = {};
  for (const [k, v] of Object.entries(d.detail || {})) detail[k] = /^valid_/.test(k) ? day(v) : v;
  return [fmt(title, detail), fmt(todo, detail)];
}

let toastTimer = null;
function toast(text) {
  $("#toast-text").textContent = text;
  $("#toast").hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { $("#toast").hidden = true; }, 5000);
}

// -- status bar ----------------------------------------------------------------

function chip(good, text) {
  return el("span", { class: "chip " + (good === null ? "neutral" : good ? "good" : "bad") }, good === false ? "✖ " : good ? "✔ " : "", text);
}

function renderStatus(s) {
  status = s;
  const chips = [];
  if (s.office) chips.push(chip(s.office.online, s.office.online ? T.ui.office : T.ui.office_offline));
  if (s.journal.backlog > 0) chips.push(chip(null, fmt(T.ui.backlog, { n: s.journal.backlog })));
  if (s.thermometer) chips.push(chip(s.thermometer.ok, s.thermometer.ok ? T.ui.thermometer : T.ui.thermometer_fault));
  if (s.camera) chips.push(chip(s.camera.state !== "error", s.camera.state !== "error" ? T.ui.camera : T.ui.camera_fault));
  if (s.disk && s.disk.low) chips.push(chip(false, T.ui.disk_low));
  // Faults first: when the bar is short of room (a volunteer signed in), the chips that do not fit drop out whole,
  // and those are the ✔ ones.
  const rank = (c) => (c.classList.contains("bad") ? 0 : c.classList.contains("neutral") ? 1 : 2);
  $("#chips").replaceChildren(...chips.sort((a, b) => rank(a) - rank(b)));
  const faults = [];
  if (s.thermometer && !s.thermometer.ok) faults.push(T.faults.thermometer);
  if (s.camera && s.camera.state === "error") faults.push(T.faults.camera);
  if (s.disk && s.disk.low) faults.push(T.faults.disk);
  for (const part of Object.keys(s.faults || {})) {
    if (!["thermometer", "camera", "disk"].includes(part)) faults.push(T.faults[part] || part);
  }
  const banner = $("#fault-banner");
  banner.hidden = faults.length === 0;
  banner.querySelector("span").textContent = faults.join(" · ");
  const volunteer = s.volunteer;
  $("#volunteer-label").textContent = volunteer ? `${volunteer.name} · ${fmt(T.ui.hours, { h: volunteer.hours.toFixed(1) })}` : T.ui.sign_in;
  $("#volunteer-chip").classList.toggle("on", !!volunteer);
  const badge = $("#alarm-badge");
  badge.hidden = !s.open_alarms;
  badge.textContent = s.open_alarms;
  if ("direction" in s) setDirection(s.direction);
}

// -- direction: the volunteer's 进 / 出 choice, on the waiting screen and when the gate asks ----------------

// chosen/source/lane as the gate sent them; `until` is when the choice runs out (this page's clock), `hold` its
// full length (for the bar): each tap and each passage that uses the choice renews it.
const direction = { chosen: null, source: null, lane: null, until: 0, hold: 0 };

function setDirection(d) {
  d = d || {};
  const left = typeof d.expires_in_s === "number" ? d.expires_in_s : null;
  if (d.chosen !== direction.chosen) direction.hold = 0;
  Object.assign(direction, { chosen: d.chosen || null, source: d.source || null, lane: d.lane || null,
    until: left === null ? 0 : performance.now() + left * 1000 });
  direction.hold = Math.max(direction.hold, left || 0, rules && direction.chosen ? rules.direction_hold_s || 0 : 0);
  renderDirection();
}

function directionLeft() {
  if (!direction.chosen) return 0;
  return direction.until ? Math.max(0, (direction.until - performance.now()) / 1000) : Infinity;
}

function renderDirection() {
  const panel = $("#direction-panel");
  const left = directionLeft();
  const chosen = direction.lane || (left > 0 ? direction.chosen : null);
  panel.dataset.chosen = chosen || "";
  if (direction.lane) panel.dataset.lane = direction.lane; else delete panel.dataset.lane;
  for (const b of $$(".dir-button")) {
    b.setAttribute("aria-pressed", String(b.dataset.direction === chosen));
    b.disabled = !!direction.lane && b.dataset.direction !== direction.lane;
  }
  const state = $("#direction-state");
  state.classList.remove("error");
  const dir = directionWord(chosen);
  state.textContent = direction.lane ? fmt(T.ui.direction_lane, { dir })
    : !chosen ? T.ui.direction_none
    : fmt(direction.source === "button" ? T.ui.direction_button : T.ui.direction_chosen, { dir, left: duration(left) });
  const bar = $("#direction-bar");
  bar.style.width = chosen && direction.hold && left !== Infinity ? Math.min(100, (100 * left) / direction.hold) + "%" : "100%";
}
setInterval(() => { if (direction.chosen && !direction.lane) renderDirection(); }, 1000);

async function chooseDirection(want) {
  const r = await api("POST", "direction", { direction: want });
  if (r.ok && r.data && r.data.direction) setDirection(r.data.direction);
  return r;
}

for (const b of $$(".dir-button")) {
  b.addEventListener("click", async () => {
    if (direction.lane) return;  // a one-way lane: nothing to choose
    const again = direction.chosen === b.dataset.direction && directionLeft() > 0;
    const r = await chooseDirection(again ? null : b.dataset.direction);  // the chosen one again: clear it
    if (!r.ok) { $("#direction-state").textContent = T.ui.error; $("#direction-state").classList.add("error"); }
  });
}

function showAsk(d) {
  const [title, todo] = promptText({ ...d, prompt: d.prompt || "ask_direction" });
  $("#ask-title").textContent = title;
  $("#ask-todo").textContent = todo;
  $("#ask-who").textContent = [d.name, d.household].filter(Boolean).join("  ");
  $("#ask-state").textContent = "";
  for (const b of $$("#ask-buttons button")) { b.disabled = false; b.classList.remove("sent"); }
  show("ask", { stay: true });
  homeAfter(d.expires_in_s ? (d.expires_in_s + 5) * 1000 : WAITING_FALLBACK_MS);
}

for (const b of $$("#ask-buttons button")) {
  b.addEventListener("click", async () => {
    for (const other of $$("#ask-buttons button")) other.disabled = true;
    b.classList.add("sent");
    $("#ask-state").textContent = fmt(T.ui.direction_sent, { dir: directionWord(b.dataset.direction) });
    // This person's direction only (hold: false): the next person is not taken to go the same way.
    const r = await api("POST", "direction", { direction: b.dataset.direction, hold: false });
    if (!r.ok) {
      for (const other of $$("#ask-buttons button")) other.disabled = false;
      b.classList.remove("sent");
      $("#ask-state").textContent = (r.data && r.data.error) || T.ui.error;
    }
  });
}

// -- decisions -----------------------------------------------------------------

let lastDecision = null;

function onMeasuring(m) {
  const [title, todo] = T.prompts[m.prompt] || ["", ""];
  $("#measure-title").textContent = title;
  $("#measure-todo").textContent = todo;
  $("#measure-reading").textContent = celsius(m.temperature_c);
  $("#measure-who").textContent = [m.name, m.household].filter(Boolean).join("  ");
  $("#measure-wait").textContent = "";
  if (document.body.dataset.screen === "vehicle" || document.body.dataset.screen === "visitor") return;
  show("measuring", { stay: true });  // as long as the gate waits for this person, the screen says so
  homeAfter(m.expires_in_s ? (m.expires_in_s + 5) * 1000 : WAITING_FALLBACK_MS);
}

// The walk-up (no card) whose unknown-visitor alarm a registration right after it resolves.
let walkUp = null;
const WALK_UP_MS = 10 * 60 * 1000;

function alarmSeqOf(d, kind) {
  const seqs = d.alarm_seqs || [];
  const i = (d.alarms || []).indexOf(kind);
  return i >= 0 && i < seqs.length ? seqs[i] : seqs.length ? seqs[0] : null;
}

function resultClass(d) {
  if (d.verdict === "admit" && d.prompt === "quarantine_return") return "caution";
  return d.verdict;
}

function onDecision(d) {
  // A card still in view continues its passage, and the gate sends that passage's decision again: show it again
  // where it is the news (waiting or result screen), never over a form the volunteer has opened since.
  const again = lastDecision && d.seq && d.seq.length && String(d.seq) === String(lastDecision.seq);
  lastDecision = d;
  if (again && !["home", "result"].includes(document.body.dataset.screen)) return;
  if (document.body.dataset.screen === "vehicle" && d.kind === "person" && d.verdict === "admit" && d.subject) {
    // The driver's card, scanned while the vehicle form is open: fill it in and stay on the form.
    vehicle.driver = d.subject;
    $("#vehicle-driver").textContent = [d.name, d.household].filter(Boolean).join(" ");
    return;
  }
  if (d.direction_source === "volunteer" || d.direction_source === "button") {
    api("GET", "status").then((r) => { if (r.ok) renderStatus(r.data); });  // the passage renewed the choice
  }
  if (d.verdict === "ask") { showAsk(d); return; }
  if (d.verdict === "remeasure") { onMeasuring(d); return; }
  if (d.prompt === "fever" && d.verdict === "deny") {
    $("#fever-temperature").textContent = celsius(d.temperature_c);
    $("#fever-who").textContent = [d.kind === "visitor" ? T.ui.visitor : null, d.name, d.household].filter(Boolean).join("  ");
    feverAlarmSeqs = d.alarm_seqs || (d.seq || []).slice(1);
    show("fever", { stay: true });
    return;
  }
  if (d.prompt === "register_visitor" && d.kind === "person") {
    const seq = alarmSeqOf(d, "unknown_visitor");
    walkUp = seq === null ? null : { seq, at: Date.now(), ts: new Date().toISOString() };
  }
  const [title, todo] = promptText(d);
  const look = resultClass(d);
  const box = $("#result");
  box.className = "result " + look;
  $("#result-icon use").setAttribute("href",
    look === "caution" ? "#i-home" : look === "admit" ? "#i-ok" : look === "deny" ? "#i-no" : "#i-warn");
  $("#result-verdict").textContent = (d.kind === "vehicle" ? T.ui.vehicle + " · " : d.kind === "visitor" ? T.ui.visitor + " · " : "") + T.verdicts[d.verdict];
  $("#result-title").textContent = title;
  $("#result-todo").textContent = todo;
  $("#result-name").textContent = d.name || d.plate || "";
  $("#result-household").textContent = d.household || "";
  $("#result-direction").textContent = directionWord(d.direction);
  $("#result-direction").hidden = !d.direction;
  $("#result-direction-source").textContent = d.direction && T.sources[d.direction_source] ? T.sources[d.direction_source] : "";
  $("#result-temperature").textContent = celsius(d.temperature_c);
  $("#result-register").hidden = d.prompt !== "register_visitor";
  $("#result-handheld").hidden = d.prompt !== "handheld_check";
  show("result");
  homeAfter(RESULT_HOME_MS[look] || 10000);
}

function onAbandoned(a) {
  const box = $("#result");
  box.className = "result deny";
  $("#result-icon use").setAttribute("href", "#i-warn");
  $("#result-verdict").textContent = T.verdicts.abandoned;
  $("#result-title").textContent = [a.name, a.household].filter(Boolean).join("  ");
  $("#result-todo").textContent = $("#result-name").textContent = $("#result-household").textContent = "";
  $("#result-direction").textContent = $("#result-temperature").textContent = "";
  $("#result-direction").hidden = true;
  $("#result-direction-source").textContent = "";
  $("#result-register").hidden = $("#result-handheld").hidden = true;
  show("result");
  homeAfter(RESULT_HOME_MS.abandoned);
}

$("#result-ok").addEventListener("click", () => show("home"));
$("#result-handheld").addEventListener("click", () => { temperature.source = "handheld_contact"; show("temperature"); });
let feverAlarmSeqs = [];
$("#fever-handheld").addEventListener("click", () => { temperature.source = "handheld_contact"; show("temperature", { stay: true }); });
$("#fever-ack").addEventListener("click", () => { alarms.preselect = feverAlarmSeqs; show("alarms"); });

// -- typed temperature ---------------------------------------------------------

const temperature = { value: "", source: "manual" };
keypad($("#screen-temperature .keypad"), (key) => {
  temperature.value = edit(temperature.value, key, 4);
  $("#temp-display").textContent = temperature.value || "—";
});
radio($("#screen-temperature .toggle"), (b) => { temperature.source = b.dataset.source; });
$("#temp-save").addEventListener("click", async () => {
  const celsius = parseFloat(temperature.value);
  if (!(celsius >= 25 && celsius <= 45)) { $("#temp-hint").textContent = T.ui.error; return; }
  const r = await api("POST", "readings", { celsius, source: temperature.source });
  if (!r.ok) $("#temp-hint").textContent = r.status === 409 ? T.ui.nobody_waiting : r.data.error;
});

// -- alarms: the list, and a dialog over it (tap the alarm, tap what was done, tap confirm) -----------------

let rules = null;  // GET /rules: the acknowledgement outcomes the gate takes, how long a direction holds, …
async function loadRules() {
  const r = await api("GET", "rules");
  if (r.ok) { rules = r.data; renderDirection(); }
  return rules;
}

const alarms = { selected: null, preselect: [], outcome: null };
let afterSignIn = null;
async function loadAlarms() {
  const r = await api("GET", "alarms");
  const list = $("#alarm-list");
  list.replaceChildren();
  const open = r.ok ? r.data : [];
  if (!open.length) list.append(el("li", {}, T.ui.no_alarms));
  for (const a of open) {
    list.append(el("li", { "data-seq": a.seq },
      el("span", { class: "tag deny" }, "⚠ " + (T.alarms[a.kind] || a.kind)), time(a.ts), " ",
      [a.name, a.household].filter(Boolean).join(" "),
      el("button", { class: "secondary", onclick: () => openAck(a) }, "✓ " + T.ui.acknowledge)));
  }
  const preselected = open.find((a) => alarms.preselect.includes(a.seq));
  alarms.preselect = [];
  if (preselected) openAck(preselected);
}

async function openAck(a) {
  if (!rules) await loadRules();
  alarms.selected = a;
  alarms.outcome = null;
  $("#ack-title").textContent = [T.alarms[a.kind] || a.kind, time(a.ts), [a.name, a.household].filter(Boolean).join(" ")]
    .filter(Boolean).join(" · ");
  const outcomes = $("#ack-outcomes");
  outcomes.replaceChildren();
  // The outcomes that fit this kind of alarm, as the server defines them (a fever is not "turned back at the gate").
  const byKind = (rules && rules.ack_outcomes_by_kind) || {};
  for (const code of byKind[a.kind] || (rules && rules.ack_outcomes_any) || (rules && rules.ack_outcomes) || []) {
    outcomes.append(el("button", { "data-outcome": code, "aria-pressed": "false", onclick: (event) => {
      alarms.outcome = alarms.outcome === code ? null : code;
      for (const b of outcomes.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.outcome === alarms.outcome));
      updateAckSave();
    } }, T.outcomes[code] || code));
  }
  $("#ack-note").value = "";
  $("#ack-error").textContent = "";
  $("#ack-sign-in").hidden = true;
  updateAckSave();
  $("#ack-dialog").hidden = false;
}

function updateAckSave() {
  $("#ack-save").disabled = !(alarms.outcome || $("#ack-note").value.trim());
}

$("#ack-note").addEventListener("input", updateAckSave);
$("#ack-cancel").addEventListener("click", () => { $("#ack-dialog").hidden = true; });
$("#ack-sign-in").addEventListener("click", () => {
  afterSignIn = { screen: "alarms", preselect: [alarms.selected.seq] };
  show("volunteer");
});
$("#ack-save").addEventListener("click", async () => {
  const a = alarms.selected;
  const note = $("#ack-note").value.trim();
  if (!alarms.outcome && !note) { $("#ack-error").textContent = T.ui.ack_needs; return; }
  const r = await api("POST", `alarms/${a.seq}/acknowledge`, { outcome: alarms.outcome, note });
  if (!r.ok) {
    const signedOut = r.status === 409 && !(status && status.volunteer);
    $("#ack-error").textContent = signedOut ? T.ui.sign_in_first : (r.data && r.data.error) || T.ui.error;
    $("#ack-sign-in").hidden = !signedOut;
    return;
  }
  $("#ack-dialog").hidden = true;
  toast([fmt(T.ui.ack_done, { alarm: T.alarms[a.kind] || a.kind }), alarms.outcome ? T.outcomes[alarms.outcome] : note]
    .filter(Boolean).join(" · "));
  loadAlarms();
});

// -- numeric pad overlay (phone, ID number, visitor temperature) ----------------

const pad = { value: "", target: null, max: 18, allowX: false };
keypad($("#pad-overlay .keypad"), (key) => {
  if (key === "X" && !pad.allowX) return;
  if (key === "." ) return;
  pad.value = edit(pad.value, key, pad.max);
  $("#pad-display").textContent = pad.target === "id" ? maskId(pad.value) : pad.value;
});
function maskId(v) { return v.length <= 7 ? v : v.slice(0, 3) + "*".repeat(v.length - 7) + v.slice(-4); }
function openPad(target, value, max, allowX) {
  Object.assign(pad, { target, value, max, allowX });
  $("#pad-overlay .keypad [data-key='X']").textContent = target === "temp" ? "." : "X";
  $("#pad-display").textContent = target === "id" ? maskId(value) : value;
  $("#pad-overlay").hidden = false;
}
$("#pad-overlay .keypad [data-key='X']").addEventListener("click", () => {
  if (pad.target === "temp" && !pad.value.includes(".")) { pad.value += "."; $("#pad-display").textContent = pad.value; }
});
$("#pad-cancel").addEventListener("click", () => { $("#pad-overlay").hidden = true; });
$("#pad-ok").addEventListener("click", () => {
  $("#pad-overlay").hidden = true;
  if (pad.target === "phone") { visitor.phone = pad.value; $("#v-phone").value = pad.value; }
  if (pad.target === "id") { visitor.id = pad.value; $("#v-id").value = maskId(pad.value); }
  if (pad.target === "temp") { visitor.current = parseFloat(pad.value); visitor.source = "manual"; $("#v-temp").textContent = pad.value + " °C"; }
});

// -- visitor registration ------------------------------------------------------

const visitor = { phone: "", id: "", host: null, temps: [], current: null, source: "manual", alarmSeq: null };
let households = [];
$("#v-phone").addEventListener("click", () => openPad("phone", visitor.phone, 15, false));
$("#v-id").addEventListener("click", () => openPad("id", visitor.id, 18, true));
$("[data-pad-for='v-temp']").addEventListener("click", () => openPad("temp", "", 4, false));
choice($("#v-reason"));
$("#v-measure").addEventListener("click", async () => {
  $("#v-temp").textContent = "…";
  const r = await api("POST", "measure");
  if (r.ok && r.data.reading && r.data.reading.object_c) {
    visitor.current = r.data.reading.object_c; visitor.source = "sensor";
    $("#v-temp").textContent = visitor.current.toFixed(1) + " °C";
  } else {
    $("#v-temp").textContent = "—";
    $("#v-error").textContent = r.ok ? T.ui.no_reading : r.data.error;
  }
});
$("#v-host").addEventListener("click", async () => {
  if (!households.length) households = (await api("GET", "households")).data;
  pickHost([]);
  $("#host-overlay").hidden = false;
});
function pickHost(path) {
  const levels = ["building", "unit", "room"];
  const level = levels[path.length];
  const matching = households.filter((h) => path.every((v, i) => h[levels[i]] === v));
  $("#host-crumbs").textContent = path.join(" - ") || "…";
  const options = $("#host-options");
  options.replaceChildren();
  for (const value of [...new Set(matching.map((h) => h[level]))]) {
    options.append(el("button", { "data-value": value, onclick: () => {
      const next = [...path, value];
      if (next.length === 3) {
        const household = matching.find((h) => h.room === value);
        visitor.host = household.id;
        $("#v-host-label").textContent = next.join("-");
        $("#host-overlay").hidden = true;
      } else pickHost(next);
    } }, value));
  }
}
$("#host-cancel").addEventListener("click", () => { $("#host-overlay").hidden = true; });
$("#v-save").addEventListener("click", async () => {
  const reason = $("#v-reason .on");
  const temps = visitor.current ? [...visitor.temps, visitor.current] : visitor.temps;
  const body = {
    name: $("#v-name").value, phone: visitor.phone, id_number: visitor.id || null, coming_from: $("#v-from").value,
    host_household_id: visitor.host, reason: reason ? reason.textContent : "", temperatures_c: temps, source: visitor.source,
  };
  if (visitor.alarmSeq !== null) body.alarm_seq = visitor.alarmSeq;  // the walk-up's alarm: registering resolves it
  const r = await api("POST", "visitors", body);
  if (!r.ok) { $("#v-error").textContent = r.data.error; return; }
  if (r.data.verdict === "remeasure") {
    visitor.temps = temps; visitor.current = null;
    $("#v-temp").textContent = "—";
    $("#v-error").textContent = T.ui.measure_again + " (" + (T.prompts[r.data.prompt] || [""])[0] + ")";
    return;
  }
  if (visitor.alarmSeq !== null && walkUp && walkUp.seq === visitor.alarmSeq) walkUp = null;
  resetVisitor();
});
function enterVisitor() {
  // Opened right after a walk-up (from its result, or from the waiting screen): this registration closes its alarm.
  const recent = walkUp && Date.now() - walkUp.at < WALK_UP_MS ? walkUp : null;
  visitor.alarmSeq = recent ? recent.seq : null;
  $("#v-alarm").hidden = !recent;
  $("#v-alarm").textContent = recent ? fmt(T.ui.closes_alarm, { time: time(recent.ts) }) : "";
}
function resetVisitor() {
  Object.assign(visitor, { phone: "", id: "", host: null, temps: [], current: null, source: "manual", alarmSeq: null });
  $("#v-alarm").hidden = true;
  for (const id of ["#v-name", "#v-phone", "#v-id", "#v-from"]) $(id).value = "";
  $("#v-temp").textContent = "—";
  $("#v-error").textContent = "";
  $("#v-host-label").textContent = $("#v-host-label").dataset.empty;
  $$("#v-reason .on").forEach((b) => b.classList.remove("on"));
}
$("#v-host-label").dataset.empty = $("#v-host-label").textContent;

// -- vehicle with the plate keyboard ------------------------------------------

const vehicle = { plate: "", passengers: 0, disinfected: false, direction: "in", driver: null };
function renderPlate() {
  $("#plate").textContent = vehicle.plate.length > 2 ? vehicle.plate.slice(0, 2) + "·" + vehicle.plate.slice(2) : vehicle.plate;
  $("#plate-provinces").hidden = vehicle.plate.length > 0;
  $("#plate-alnum").hidden = vehicle.plate.length === 0;
}
for (const keys of [$("#plate-provinces"), $("#plate-alnum")]) {
  keys.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    vehicle.plate = edit(vehicle.plate, button.dataset.key, 8);  // 8: new-energy plates
    renderPlate();
  });
}
$("#pass-minus").addEventListener("click", () => { vehicle.passengers = Math.max(0, vehicle.passengers - 1); $("#passengers").textContent = vehicle.passengers; });
$("#pass-plus").addEventListener("click", () => { vehicle.passengers = Math.min(60, vehicle.passengers + 1); $("#passengers").textContent = vehicle.passengers; });
$("#disinfected").addEventListener("click", (event) => {
  vehicle.disinfected = !vehicle.disinfected;
  event.currentTarget.setAttribute("aria-pressed", String(vehicle.disinfected));
});
radio($("#vehicle-direction"), (b) => { vehicle.direction = b.dataset.direction; });
$("#vehicle-save").addEventListener("click", async () => {
  if (vehicle.plate.length < 2) return;
  await api("POST", "vehicles", { plate: vehicle.plate, disinfected: vehicle.disinfected, passengers: vehicle.passengers,
    driver: vehicle.driver, direction: vehicle.direction });
  resetVehicle();
});
function resetVehicle() {
  Object.assign(vehicle, { plate: "", passengers: 0, disinfected: false, driver: null });
  $("#passengers").textContent = "0";
  $("#disinfected").setAttribute("aria-pressed", "false");
  $("#vehicle-driver").textContent = $("#vehicle-driver").dataset.empty;
  renderPlate();
}
$("#vehicle-driver").dataset.empty = $("#vehicle-driver").textContent;

// -- volunteer sign-in by PIN --------------------------------------------------

const signIn = { volunteer: null, pin: "" };
async function loadVolunteers() {
  const onDuty = status && status.volunteer;
  $("#on-duty").hidden = !onDuty;
  $("#sign-in").hidden = !!onDuty;
  if (onDuty) {
    $("#duty-name").textContent = onDuty.name;
    $("#duty-hours").textContent = fmt(T.ui.hours, { h: onDuty.hours.toFixed(1) });
    return;
  }
  const names = $("#volunteer-names");
  names.replaceChildren();
  for (const v of (await api("GET", "volunteers")).data) {
    names.append(el("button", { "data-id": v.id, onclick: () => { signIn.volunteer = v.id; } }, v.name));
  }
  signIn.pin = "";
  $("#pin-display").textContent = "";
  $("#pin-error").textContent = "";
}
choice($("#volunteer-names"));
keypad($("#sign-in .keypad"), async (key) => {
  if (key !== "✓") {
    signIn.pin = edit(signIn.pin, key, 8);
    $("#pin-display").textContent = "●".repeat(signIn.pin.length);
    return;
  }
  if (signIn.volunteer === null) return;
  const r = await api("POST", "shift", { volunteer_id: signIn.volunteer, pin: signIn.pin });
  signIn.pin = "";
  $("#pin-display").textContent = "";
  if (r.ok) {
    const next = afterSignIn;  // e.g. back to the alarm the volunteer was acknowledging
    afterSignIn = null;
    if (next) { alarms.preselect = next.preselect || []; show(next.screen); } else show("home");
    return;
  }
  $("#pin-error").textContent = r.status === 401 ? fmt(T.ui.tries_left, { n: r.data.tries_left })
    : r.status === 423 ? fmt(T.ui.locked, { time: time(r.data.locked_until) }) : r.data.error;
});
$("#sign-out").addEventListener("click", async () => { await api("DELETE", "shift"); show("home"); });

// -- today ---------------------------------------------------------------------

async function loadToday() {
  const today = (await api("GET", "today")).data;
  for (const k of ["in", "out", "refused", "vehicles", "visitors"]) $("#count-" + k).textContent = today.counts[k];
  $("#count-alarms").textContent = today.open_alarms;
  const list = $("#recent");
  list.replaceChildren();
  for (const p of today.recent) {
    const kind = p.kind === "vehicle" ? T.ui.vehicle : p.kind === "visitor_registration" ? T.ui.visitor : "";
    list.append(el("li", {}, el("span", { class: "tag " + p.verdict }, T.verdicts[p.verdict] || p.verdict), time(p.ts), " ",
      directionWord(p.direction) || "—", " ", kind, " ", p.name || p.plate || "", " ", p.household || "",
      p.temperature_c ? ` ${p.temperature_c.toFixed(1)} °C` : ""));
  }
}

// -- navigation, clock, stream -------------------------------------------------

const ENTER = { alarms: loadAlarms, volunteer: loadVolunteers, today: loadToday, vehicle: renderPlate, visitor: enterVisitor,
  home: renderDirection,
  temperature: () => { temperature.value = ""; $("#temp-display").textContent = "—";
    $$("#screen-temperature .toggle button").forEach((b) => b.classList.toggle("on", b.dataset.source === temperature.source)); } };
document.addEventListener("click", (event) => {
  const go = event.target.closest("[data-go]");
  if (go) {
    if (go.dataset.go !== "temperature") temperature.source = "manual";
    if (go.dataset.go !== "volunteer") afterSignIn = null;
    show(go.dataset.go);
  }
});
function tick() { $("#clock").textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false }); }
tick();
setInterval(tick, 10000);

async function onConnected() {
  const r = await api("GET", "status");
  if (!r.ok) return;
  renderStatus(r.data);
  // (Re)connected: show what the gate is doing now — asking for a direction, or nothing any more.
  const passage = r.data.passage;
  const screen = document.body.dataset.screen;
  if (passage && passage.state === "asking" && screen !== "ask") showAsk(passage);
  else if (passage === null && (screen === "ask" || screen === "measuring")) show("home");
}
loadRules();
renderDirection();
connect({ decision: onDecision, measuring: onMeasuring, abandoned: onAbandoned, status: renderStatus }, onConnected);
// For the browser tests and a look from the console: the screens and what feeds them.
Object.assign(window, { show, showAsk, setDirection, onDecision, onMeasuring });

// -- simulation panel (kiosk run --simulate only) --------------------------------

const sim = $("#sim-panel");
if (sim) {
  $("#sim-toggle").addEventListener("click", () => { const body = sim.querySelector(".sim-body"); body.hidden = !body.hidden; });
  $("#sim-cards").addEventListener("click", (event) => {
    const b = event.target.closest("button");
    if (b) api("POST", "simulation", { card: b.dataset.card });
  });
  choice($("#sim-person"));
  $("#sim-person").addEventListener("click", (event) => {
    const b = event.target.closest("button");
    if (b) api("POST", "simulation", { person_c: b.dataset.c ? parseFloat(b.dataset.c) : null });
  });
  $("#sim-fault").addEventListener("click", (event) => {
    const on = event.currentTarget.getAttribute("aria-pressed") !== "true";
    event.currentTarget.setAttribute("aria-pressed", String(on));
    api("POST", "simulation", { thermometer_fault: on });
  });
}
