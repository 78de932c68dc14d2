// The visitor form (外来人员登记): name, phone and ID number on the keypad overlay, where from, host household,
// reason (a code from the server's list; the ledger never stores the button's words), temperature measured or
// typed. Opened right after a walk-up without a card, the registration also closes that walk-up's alarm.
import { T } from "/static/common/catalog.js";
import { fmt, time } from "/static/common/format.js";
import { $, $$, choice } from "./dom.js";
import { pickHost } from "./host_picker.js";
import { openPad } from "./pad.js";
import { onEnter } from "./screens.js";
import { api } from "./state.js";
import { maskId } from "./words.js";

const visitor = { phone: "", id: "", host: null, temps: [], current: null, source: "manual", alarmSeq: null };

// The walk-up (no card) whose unknown-visitor alarm a registration right after it resolves.
let walkUp = null;
const WALK_UP_MS = 10 * 60 * 1000;

// A decision asked to register a visitor: remember its unknown-visitor alarm (null: it raised none).
export function noteWalkUp(alarmSeq) {
  walkUp = alarmSeq === null ? null : { seq: alarmSeq, at: Date.now(), ts: new Date().toISOString() };
}

$("#v-phone").addEventListener("click", () => openPad("phone", visitor.phone, 15, false, (value) => {
  visitor.phone = value; $("#v-phone").value = value;
}));
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

onEnter("visitor", enterVisitor);
