// A passage on screen, as the stream tells it: measuring (step up to the thermometer), the result (admit, deny,
// refer; amber for a quarantined resident coming home), the full-screen fever alarm, and a passage abandoned.
import { T } from "/static/common/catalog.js";
import { celsius } from "/static/common/format.js";
import { preselectAlarms } from "./alarms.js";
import { showAsk, WAITING_FALLBACK_MS } from "./ask.js";
import { $ } from "./dom.js";
import { current, homeAfter, show } from "./screens.js";
import { api } from "./state.js";
import { renderStatus } from "./status_bar.js";
import { setTemperatureSource } from "./temperature.js";
import { onVehicleDecision } from "./vehicle.js";
import { noteWalkUp } from "./visitor.js";
import { directionWord, promptText, who } from "./words.js";

const RESULT_HOME_MS = { admit: 4000, caution: 15000, deny: 20000, refer: 20000, abandoned: 8000 };
let lastDecision = null;
let feverAlarmSeqs = [];

export function onMeasuring(m) {
  const [title, todo] = T.prompts[m.prompt] || ["", ""];
  $("#measure-title").textContent = title;
  $("#measure-todo").textContent = todo;
  $("#measure-reading").textContent = celsius(m.temperature_c);
  $("#measure-who").textContent = who(m);
  $("#measure-wait").textContent = "";
  if (current() === "vehicle" || current() === "visitor") return;
  show("measuring", { stay: true });  // as long as the gate waits for this person, the screen says so
  homeAfter(m.expires_in_s ? (m.expires_in_s + 5) * 1000 : WAITING_FALLBACK_MS);
}

function alarmSeqOf(d, kind) {
  const seqs = d.alarm_seqs || [];
  const i = (d.alarms || []).indexOf(kind);
  return i >= 0 && i < seqs.length ? seqs[i] : seqs.length ? seqs[0] : null;
}

function resultClass(d) {
  if (d.verdict === "admit" && d.prompt === "quarantine_return") return "caution";
  return d.verdict;
}

export function onDecision(d) {
  // A card still in view continues its passage, and the gate sends that passage's decision again: show it again
  // where it is the news (waiting or result screen), never over a form the volunteer has opened since.
  const again = lastDecision && d.seq && d.seq.length && String(d.seq) === String(lastDecision.seq);
  lastDecision = d;
  if (again && !["home", "result"].includes(current())) return;
  if (current() === "vehicle" && d.kind === "vehicle" && d.verdict !== "admit" && d.prompt !== "fever") {
    onVehicleDecision(d);  // a refusal stays on the vehicle form, with the tap that fixes it (vehicle.js)
    return;
  }
  if (d.direction_source === "volunteer" || d.direction_source === "button") {
    api("GET", "status").then((r) => { if (r.ok) renderStatus(r.data); });  // the passage renewed the choice
  }
  if (d.verdict === "ask") { showAsk(d); return; }
  if (d.verdict === "remeasure") { onMeasuring(d); return; }
  if (d.prompt === "fever" && d.verdict === "deny") {
    $("#fever-temperature").textContent = celsius(d.temperature_c);
    $("#fever-who").textContent = [d.kind === "visitor" ? T.ui.visitor : null, d.name || d.driver_name, d.plate, d.household]
      .filter(Boolean).join("  ");  // a vehicle's driver: who drives, and the plate
    // A visitor's handheld reading that is still a fever raises no second alarm: keep the one the screen acknowledges.
    const raised = d.alarm_seqs || (d.seq || []).slice(1);
    if (raised.length || d.kind !== "visitor") feverAlarmSeqs = raised;
    show("fever", { stay: true });
    return;
  }
  if (d.prompt === "register_visitor" && d.kind === "person") noteWalkUp(alarmSeqOf(d, "unknown_visitor"));
  const [title, todo] = promptText(d);
  const look = resultClass(d);
  $("#result").className = "result " + look;
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

export function onAbandoned(a) {
  $("#result").className = "result deny";
  $("#result-icon use").setAttribute("href", "#i-warn");
  $("#result-verdict").textContent = T.verdicts.abandoned;
  $("#result-title").textContent = who(a);
  $("#result-todo").textContent = $("#result-name").textContent = $("#result-household").textContent = "";
  $("#result-direction").textContent = $("#result-temperature").textContent = "";
  $("#result-direction").hidden = true;
  $("#result-direction-source").textContent = "";
  $("#result-register").hidden = $("#result-handheld").hidden = true;
  show("result");
  homeAfter(RESULT_HOME_MS.abandoned);
}

$("#result-ok").addEventListener("click", () => show("home"));
$("#result-handheld").addEventListener("click", () => { setTemperatureSource("handheld_contact"); show("temperature"); });
$("#fever-handheld").addEventListener("click", () => { setTemperatureSource("handheld_contact"); show("temperature", { stay: true }); });
$("#fever-ack").addEventListener("click", () => { preselectAlarms(feverAlarmSeqs); show("alarms"); });
