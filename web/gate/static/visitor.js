// The visitor form (外来人员登记): name, phone and ID number on the keypad overlay, where from, host household,
// reason (a code from the server's list; the ledger never stores the button's words), temperature measured or
// typed. Opened right after a walk-up without a card, the registration also closes that walk-up's alarm.
import { T } from "/static/common/catalog.js";
import { fmt, time } from "/static/common/format.js";
import { $, $$, choice } from "./dom.js";
import { pickHost } from "./host_picker.js";
import { openPad } from "./pad.js";
import { onEnter } from "./screens.js";
import { api, state } from "./state.js";
import { maskId } from "./words.js";

const visitor = { phone: "", id: "", host: null, temps: [], current: null, source: "manual", alarmSeq: null,
  known: null, knownSeq: null };

// The walk-up (no card) whose unknown-visitor alarm a registration right after it resolves.
let walkUp = null;
const WALK_UP_MS = 10 * 60 * 1000;

// A decision asked to register a visitor: remember its unknown-visitor alarm (null: it raised none).
export function noteWalkUp(alarmSeq) {
  walkUp = alarmSeq === null ? null : { seq: alarmSeq, at: Date.now(), ts: new Date().toISOString() };
}

$("#v-phone").addEventListener("click", () => openPad("phone", visitor.phone, 15, false, (value) => {
  visitor.phone = value; $("#v-phone").value = value;
  mark(null);
  lookUp(value);
}));

// The phone rule from the server (GET /rules visitor_form.phone; one definition, kiosk/privacy.py): the code of
// what is wrong with ``phone`` ("missing", "format"), or null.
function phoneProblem(phone) {
  const rule = (state.rules && state.rules.visitor_form && state.rules.visitor_form.phone) || null;
  if (!phone) return "missing";
  if (!rule) return null;  // rules not heard yet: the server checks anyway
  if (phone.length < rule.min_digits || phone.length > rule.max_digits) return "format";
  if (phone.startsWith(rule.mobile_prefix) && phone.length !== rule.mobile_digits) return "format";
  return null;
}

// A returning visitor: the last registration here with this phone, offered masked (never the full name).
async function lookUp(phone) {
  visitor.known = null;
  $("#v-known").hidden = true;
  if (phoneProblem(phone)) {
    $("#v-error").textContent = T.visitor_form.phone_invalid;
    mark("#v-phone");
    return;
  }
  const r = await api("GET", "visitors/known?phone=" + encodeURIComponent(phone));
  if (!r.ok || !r.data.visitor || phone !== visitor.phone) return;
  const known = r.data.visitor;
  visitor.known = known;
  const words = known.coming_from ? T.visitor_form.known : T.visitor_form.known_no_place;
  $("#v-known-text").textContent = fmt(words, { name: known.name, place: known.coming_from, household: known.household || "—" });
  $("#v-known").hidden = false;
}

$("#v-known-fill").addEventListener("click", () => {
  const known = visitor.known;
  if (!known) return;
  visitor.knownSeq = known.seq;
  $("#v-name").value = known.name;  // masked: the gate registers the full name from the earlier visit
  $("#v-from").value = known.coming_from || "";
  if (known.host_household_id !== null) {
    visitor.host = known.host_household_id;
    $("#v-host-label").textContent = known.household;
  }
  $$("#v-reason button").forEach((b) => b.classList.toggle("on", b.dataset.reason === known.reason));
  $("#v-known").hidden = true;
  mark(null);
});

// Outline the field a problem is about (null: none), from the page's own check or the server's ``field``.
const FIELD_IDS = { name: "#v-name", phone: "#v-phone", id_number: "#v-id", coming_from: "#v-from",
  host_household_id: "#v-host", reason: "#v-reason", temperatures_c: "#v-temp" };
function mark(selector) {
  $$("#screen-visitor .bad").forEach((e) => e.classList.remove("bad"));
  if (selector) $(selector).classList.add("bad");
}

// What the page checks before sending (the server checks again): the words are the server's own sentences.
function problem(body) {
  if (!body.name.trim()) return ["#v-name", T.visitor_form.name_missing];
  const phone = phoneProblem(body.phone);
  if (phone) return ["#v-phone", phone === "missing" ? T.visitor_form.phone_missing : T.visitor_form.phone_invalid];
  const form = state.rules && state.rules.visitor_form;
  if (form && form.host_required && body.host_household_id === null) return ["#v-host", T.visitor_form.host_missing];
  return null;
}
$("#v-id").addEventListener("click", () => openPad("id", visitor.id, 18, true, (value) => {
  visitor.id = value; $("#v-id").value = maskId(value);
}));
$("[data-pad-for='v-temp']").addEventListener("click", () => openPad("temp", "", 4, false, (value) => {
  visitor.current = parseFloat(value); visitor.source = "manual"; $("#v-temp").textContent = value + " °C";
}));
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

$("#v-host").addEventListener("click", () => pickHost((id, label) => {
  visitor.host = id;
  mark(null);
  $("#v-host-label").textContent = label;
}));

$("#v-save").addEventListener("click", async () => {
  const reason = $("#v-reason .on");
  const temps = visitor.current ? [...visitor.temps, visitor.current] : visitor.temps;
  const body = {
    name: $("#v-name").value, phone: visitor.phone, id_number: visitor.id || null, coming_from: $("#v-from").value,
    host_household_id: visitor.host, reason: reason ? reason.dataset.reason : null, temperatures_c: temps,
    source: visitor.source,
  };
  if (visitor.alarmSeq !== null) body.alarm_seq = visitor.alarmSeq;  // the walk-up's alarm: registering resolves it
  if (visitor.knownSeq !== null) body.known_seq = visitor.knownSeq;  // a returning visitor: the earlier visit
  const found = problem(body);
  if (found) { mark(found[0]); $("#v-error").textContent = found[1]; return; }
  const r = await api("POST", "visitors", body);
  if (!r.ok) { mark(FIELD_IDS[r.data.field] || null); $("#v-error").textContent = r.data.error; return; }
  mark(null);
  if (r.data.verdict === "remeasure") {
    visitor.temps = temps; visitor.current = null;
    $("#v-temp").textContent = "—";
    $("#v-error").textContent = temps.length === 0 ? T.visitor_form.temp_missing
      : fmt(T.visitor_form.measure_again, { why: (T.prompts[r.data.prompt] || [""])[0] });
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
  Object.assign(visitor, { phone: "", id: "", host: null, temps: [], current: null, source: "manual", alarmSeq: null,
    known: null, knownSeq: null });
  $("#v-alarm").hidden = true;
  $("#v-known").hidden = true;
  mark(null);
  for (const id of ["#v-name", "#v-phone", "#v-id", "#v-from"]) $(id).value = "";
  $("#v-temp").textContent = "—";
  $("#v-error").textContent = "";
  $("#v-host-label").textContent = $("#v-host-label").dataset.empty;
  $$("#v-reason .on").forEach((b) => b.classList.remove("on"));
}
$("#v-host-label").dataset.empty = $("#v-host-label").textContent;

onEnter("visitor", enterVisitor);
