// The vehicle form: the plate on the plate keyboard (province first, then letters and digits), passengers,
// disinfected, direction, and its driver. While the form is on screen the page holds a lease on the gate
// (POST vehicle/form, renewed every 10 s): a card scanned then is checked by the gate and comes back as a `driver`
// stream event (the first card drives, the next ride along) and nothing is journaled until the vehicle is saved.
// A refusal stays on the form with the one tap that fixes it: 已消毒，放行 re-sends the same vehicle disinfected;
// an unknown vehicle opens the driver's visitor registration (name on the hanzi keyboard, phone on the keypad,
// host household, reason, temperature) and the same button registers the driver and records the vehicle.
import { T } from "/static/common/catalog.js";
import { $, $$, choice, edit, radio } from "./dom.js";
import { pickHost } from "./host_picker.js";
import { openPad } from "./pad.js";
import { current, onEnter, onShow } from "./screens.js";
import { api } from "./state.js";
import { promptText, who } from "./words.js";

const RENEW_MS = 10000;  // the gate's lease lasts 30 s (kiosk/gate/vehicle_form.py): renewed well before it lapses
const blank = () => ({ plate: "", passengers: 0, disinfected: false, direction: "in", driver: null, riding: [],
  refused: null, visitorMode: false, phone: "", host: null, temps: [], reading: null, source: "manual" });
const vehicle = blank();
let renewTimer = null;
let saving = false;

function renderPlate() {
  $("#plate").textContent = vehicle.plate.length > 2 ? vehicle.plate.slice(0, 2) + "·" + vehicle.plate.slice(2) : vehicle.plate;
  $("#plate-provinces").hidden = vehicle.plate.length > 0 || vehicle.visitorMode;
  $("#plate-alnum").hidden = vehicle.plate.length === 0 || vehicle.visitorMode;
  $("#vehicle-visitor").hidden = !vehicle.visitorMode;
}

// What the save button does now: record, fix a disinfection refusal, open the driver's registration, or send it.
function mode() {
  if (vehicle.visitorMode) return "visitor";
  const refused = vehicle.refused;
  if (refused && refused.prompt === "disinfect_vehicle" && !vehicle.disinfected) return "disinfected";
  if (refused && refused.prompt === "register_vehicle" && !vehicle.driver) return "register";
  return "save";
}

function render() {
  renderPlate();
  $("#passengers").textContent = vehicle.passengers;
  $("#disinfected").setAttribute("aria-pressed", String(vehicle.disinfected));
  $$("#vehicle-direction button").forEach((b) => b.classList.toggle("on", b.dataset.direction === vehicle.direction));
  $("#vehicle-driver").textContent = vehicle.driver ? vehicle.driver.label : $("#vehicle-driver").dataset.empty;
  $("#vehicle-riding").textContent = vehicle.riding.map((p) => p.label).join("，");
  const save = $("#vehicle-save");
  save.textContent = save.dataset[mode()];
  save.dataset.mode = mode();
  const refused = vehicle.refused;
  $("#vehicle-outcome").hidden = !refused || vehicle.visitorMode;  // registering the driver answers it
  if (refused) {
    const [title, todo] = promptText(refused);
    $("#vehicle-outcome").className = "vehicle-outcome " + refused.verdict;
    $("#vehicle-outcome-title").textContent = [refused.name, title].filter(Boolean).join(" · ");
    $("#vehicle-outcome-todo").textContent = todo;
  }
}

// A card scanned while the form is open (the gate's `driver` event): the driver, a passenger, or a card refused.
export function onDriver(d) {
  if (current() !== "vehicle") return;
  $("#vehicle-error").textContent = "";
  const person = { subject: d.subject, label: who(d, " ") };
  if (d.role === "driver") {
    vehicle.driver = person;
    vehicle.visitorMode = false;  // a resident drives after all: no registration needed
  } else if (d.role === "passenger" && !vehicle.riding.some((p) => p.subject === d.subject)) {
    vehicle.riding.push(person);
    vehicle.passengers = Math.max(vehicle.passengers, vehicle.riding.length);
  }
  // The walking rules' answer for this person in the form's direction: shown now, decided again on saving.
  vehicle.refused = d.verdict === "admit" ? (vehicle.refused && vehicle.refused.occupant ? null : vehicle.refused)
    : { ...d, occupant: true };
  render();
}

// A vehicle's decision the stream sends while the form is open (a vehicle card shown to the camera): a refusal
// stays on the form. The form's own saves are answered by the request itself.
export function onVehicleDecision(d) {
  if (saving || d.verdict === "admit") return;
  vehicle.refused = d;
  if (d.plate && !vehicle.plate) vehicle.plate = d.plate;
  render();
}

function lease(open, fresh = false) {
  return api("POST", "vehicle/form", open ? { open: true, direction: vehicle.direction, fresh } : { open: false });
}

function reset() {
  Object.assign(vehicle, blank());
  $("#vd-name").value = $("#vd-phone").value = "";
  $("#vd-temp").textContent = "—";
  $("#vd-host-label").textContent = $("#vd-host-label").dataset.empty;
  $$("#vd-reason .on").forEach((b) => b.classList.remove("on"));
  $("#vehicle-error").textContent = "";
  render();
}

async function save() {
  const how = mode();
  if (how === "register") { vehicle.visitorMode = true; render(); return; }
  if (vehicle.plate.length < 2) { $("#vehicle-error").textContent = T.ui.vehicle_plate_first; return; }
  if (how === "disinfected") vehicle.disinfected = true;
  const body = { plate: vehicle.plate, disinfected: vehicle.disinfected, passengers: vehicle.passengers,
    direction: vehicle.direction, driver: vehicle.driver ? vehicle.driver.subject : null };
  if (vehicle.refused && vehicle.refused.vehicle_seq) body.supersedes_seq = vehicle.refused.vehicle_seq;
  if (how === "visitor") {
    const reason = $("#vd-reason .on");
    const temps = vehicle.reading !== null ? [...vehicle.temps, vehicle.reading] : vehicle.temps;
    Object.assign(body, { driver: null, visitor_name: $("#vd-name").value.trim(), visitor_phone: vehicle.phone,
      visitor_host_household_id: vehicle.host, visitor_reason: reason ? reason.dataset.reason : null,
      temperatures_c: temps, source: vehicle.source });
  }
  saving = true;
  const r = await api("POST", "vehicles", body).finally(() => { saving = false; });
  if (!r.ok) { $("#vehicle-error").textContent = r.data.error; render(); return; }
  $("#vehicle-error").textContent = "";
  if (r.data.verdict === "remeasure") {  // the visitor driving needs one more reading
    vehicle.temps = body.temperatures_c || []; vehicle.reading = null;
    $("#vd-temp").textContent = "—";
    $("#vehicle-error").textContent = vehicle.temps.length
      ? T.ui.measure_again + "（" + (T.prompts[r.data.prompt] || [""])[0] + "）" : T.ui.vehicle_measure_driver;
    return;
  }
  // Through, or a driver with a fever: the stream's decision shows the result or the fever screen (its alarm).
  if (r.data.verdict === "admit" || r.data.prompt === "fever") { reset(); return; }
  vehicle.refused = { ...r.data, name: r.data.driver_name || r.data.name };
  if (r.data.prompt !== "register_vehicle") vehicle.visitorMode = false;
  render();
}

for (const keys of [$("#plate-provinces"), $("#plate-alnum")]) {
  keys.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    vehicle.plate = edit(vehicle.plate, button.dataset.key, 8);  // 8: new-energy plates
    vehicle.refused = null;  // another plate: what was refused was another vehicle's
    render();
  });
}
$("#pass-minus").addEventListener("click", () => { vehicle.passengers = Math.max(vehicle.riding.length, vehicle.passengers - 1); render(); });
$("#pass-plus").addEventListener("click", () => { vehicle.passengers = Math.min(60, vehicle.passengers + 1); render(); });
$("#disinfected").addEventListener("click", () => { vehicle.disinfected = !vehicle.disinfected; render(); });
radio($("#vehicle-direction"), (b) => { vehicle.direction = b.dataset.direction; vehicle.refused = null; lease(true); render(); });
$("#vehicle-save").addEventListener("click", save);
$("#vehicle-new").addEventListener("click", () => { reset(); lease(true, true); });

// The driver's registration as a visitor: the visitor form's keypad and host picker.
$("#vd-phone").addEventListener("click", () => openPad("phone", vehicle.phone, 15, false, (value) => {
  vehicle.phone = value; $("#vd-phone").value = value;
}));
$("#vd-type").addEventListener("click", () => openPad("temp", "", 4, false, (value) => {
  const c = parseFloat(value);
  vehicle.reading = Number.isFinite(c) ? c : null; vehicle.source = "manual";
  $("#vd-temp").textContent = vehicle.reading !== null ? value + " °C" : "—";
}));
$("#vd-measure").addEventListener("click", async () => {
  $("#vd-temp").textContent = "…";
  const r = await api("POST", "measure");
  if (r.ok && r.data.reading && r.data.reading.object_c) {
    vehicle.reading = r.data.reading.object_c; vehicle.source = "sensor";
    $("#vd-temp").textContent = vehicle.reading.toFixed(1) + " °C";
  } else {
    $("#vd-temp").textContent = "—";
    $("#vehicle-error").textContent = r.ok ? T.ui.no_reading : r.data.error;
  }
});
$("#vd-host").addEventListener("click", () => pickHost((id, label) => { vehicle.host = id; $("#vd-host-label").textContent = label; }));
choice($("#vd-reason"));
$("#vd-host-label").dataset.empty = $("#vd-host-label").textContent;

// The lease: opened on entering (afresh when the form is empty), renewed while on screen, closed on leaving.
onEnter("vehicle", () => {
  lease(true, !vehicle.plate && !vehicle.driver);
  clearInterval(renewTimer);
  renewTimer = setInterval(() => { if (current() === "vehicle") lease(true); }, RENEW_MS);
  render();
});
onShow((screen) => {
  if (screen === "vehicle" || !renewTimer) return;
  clearInterval(renewTimer);
  renewTimer = null;
  lease(false);  // cards are passages again; the gate forgets the cards it held
  reset();
});
render();
