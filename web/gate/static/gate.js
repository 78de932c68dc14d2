// The gate's touchscreen page. Decisions arrive by server-sent events (/api/v1/stream); the page never polls
// for them. Every word comes from the server's translation catalog (#catalog), so this file holds no UI text.
"use strict";
const T = JSON.parse(document.getElementById("catalog").textContent);
const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => Array.from(document.querySelectorAll(sel));
const fmt = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => values[k]);
const RESULT_HOME_MS = { admit: 4000, deny: 20000, refer: 20000, abandoned: 8000 };
const IDLE_HOME_MS = 90000;
let homeTimer = null;
let idleTimer = null;
let status = null;

// -- small helpers -------------------------------------------------------------

async function api(method, path, body) {
  const response = await fetch("/api/v1/" + path, {
    method, headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = { error: T.ui.error }; }
  return { ok: response.ok, status: response.status, data };
}

function show(screen, { stay = false } = {}) {
  document.body.dataset.screen = screen;
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

function time(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

// -- status bar ----------------------------------------------------------------

function chip(good, text) {
  return el("span", { class: "chip " + (good === null ? "neutral" : good ? "good" : "bad") }, good === false ? "✖ " : good ? "✔ " : "", text);
}

function renderStatus(s) {
  status = s;
  const chips = $("#chips");
  chips.replaceChildren();
  if (s.office) chips.append(chip(s.office.online, s.office.online ? T.ui.office : T.ui.office_offline));
  if (s.journal.backlog > 0) chips.append(chip(null, fmt(T.ui.backlog, { n: s.journal.backlog })));
  if (s.thermometer) chips.append(chip(s.thermometer.ok, s.thermometer.ok ? T.ui.thermometer : T.ui.thermometer_fault));
  if (s.camera) chips.append(chip(s.camera.state !== "error", s.camera.state !== "error" ? T.ui.camera : T.ui.camera_fault));
  if (s.disk && s.disk.low) chips.append(chip(false, T.ui.disk_low));
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
}

// -- decisions -----------------------------------------------------------------

let lastDecision = null;

function onMeasuring(m) {
  const [title, todo] = T.prompts[m.prompt] || ["", ""];
  $("#measure-title").textContent = title;
  $("#measure-todo").textContent = todo;
  $("#measure-reading").textContent = m.temperature_c ? m.temperature_c.toFixed(1) + " °C" : "";
  $("#measure-who").textContent = [m.name, m.household].filter(Boolean).join("  ");
  if (document.body.dataset.screen !== "vehicle" && document.body.dataset.screen !== "visitor") show("measuring");
}

function onDecision(d) {
  lastDecision = d;
  if (document.body.dataset.screen === "vehicle" && d.kind === "person" && d.verdict === "admit" && d.subject) {
    // The driver's card, scanned while the vehicle form is open: fill it in and stay on the form.
    vehicle.driver = d.subject;
    $("#vehicle-driver").textContent = [d.name, d.household].filter(Boolean).join(" ");
    return;
  }
  if (d.verdict === "remeasure") { onMeasuring(d); return; }
  if (d.prompt === "fever" && d.verdict === "deny") {
    $("#fever-temperature").textContent = d.temperature_c ? d.temperature_c.toFixed(1) + " °C" : "";
    $("#fever-who").textContent = [d.kind === "visitor" ? T.ui.visitor : null, d.name, d.household].filter(Boolean).join("  ");
    feverAlarmSeq = d.seq && d.seq.length > 1 ? d.seq[1] : null;
    show("fever", { stay: true });
    return;
  }
  const [title, todo] = T.prompts[d.prompt] || [T.verdicts[d.verdict], ""];
  const box = $("#result");
  box.className = "result " + d.verdict;
  $("#result-icon use").setAttribute("href", d.verdict === "admit" ? "#i-ok" : d.verdict === "deny" ? "#i-no" : "#i-warn");
  $("#result-verdict").textContent = (d.kind === "vehicle" ? T.ui.vehicle + " · " : d.kind === "visitor" ? T.ui.visitor + " · " : "") + T.verdicts[d.verdict];
  $("#result-title").textContent = title;
  $("#result-todo").textContent = todo;
  $("#result-name").textContent = d.name || d.plate || "";
  $("#result-household").textContent = d.household || "";
  $("#result-direction").textContent = d.direction === "out" ? T.ui.out : T.ui.in;
  $("#result-temperature").textContent = d.temperature_c ? d.temperature_c.toFixed(1) + " °C" : "";
  $("#result-register").hidden = d.prompt !== "register_visitor";
  $("#result-handheld").hidden = d.prompt !== "handheld_check";
  show("result");
  homeAfter(RESULT_HOME_MS[d.verdict] || 10000);
}

function onAbandoned(a) {
  const box = $("#result");
  box.className = "result deny";
  $("#result-icon use").setAttribute("href", "#i-warn");
  $("#result-verdict").textContent = T.verdicts.abandoned;
  $("#result-title").textContent = [a.name, a.household].filter(Boolean).join("  ");
  $("#result-todo").textContent = $("#result-name").textContent = $("#result-household").textContent = "";
  $("#result-direction").textContent = $("#result-temperature").textContent = "";
  $("#result-register").hidden = $("#result-handheld").hidden = true;
  show("result");
  homeAfter(RESULT_HOME_MS.abandoned);
}

$("#result-ok").addEventListener("click", () => show("home"));
$("#result-handheld").addEventListener("click", () => { temperature.source = "handheld_contact"; show("temperature"); });
let feverAlarmSeq = null;
$("#fever-handheld").addEventListener("click", () => { temperature.source = "handheld_contact"; show("temperature", { stay: true }); });
$("#fever-ack").addEventListener("click", () => { alarms.preselect = feverAlarmSeq; show("alarms"); });

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

// -- alarms --------------------------------------------------------------------

const alarms = { selected: null, preselect: null };
async function loadAlarms() {
  const r = await api("GET", "alarms");
  const list = $("#alarm-list");
  list.replaceChildren();
  $("#ack-form").hidden = true;
  if (!r.data.length) list.append(el("li", {}, T.ui.no_alarms));
  for (const a of r.data) {
    const pick = () => selectAlarm(a);
    list.append(el("li", { "data-seq": a.seq },
      el("span", { class: "tag deny" }, "⚠ " + (T.alarms[a.kind] || a.kind)), time(a.ts), " ",
      [a.name, a.household].filter(Boolean).join(" "),
      el("button", { class: "secondary", onclick: pick }, "✓ " + T.ui.acknowledge)));
    if (alarms.preselect === a.seq) selectAlarm(a);
  }
  alarms.preselect = null;
}
function selectAlarm(a) {
  alarms.selected = a.seq;
  $("#ack-form").hidden = false;
  $("#ack-title").textContent = `${T.alarms[a.kind] || a.kind} · ${time(a.ts)} · ${[a.name, a.household].filter(Boolean).join(" ")}`;
  $("#ack-note").value = "";
  $("#ack-error").textContent = "";
}
$("#ack-notes").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (button) $("#ack-note").value = [$("#ack-note").value, button.textContent].filter(Boolean).join("；");
});
$("#ack-save").addEventListener("click", async () => {
  const r = await api("POST", `alarms/${alarms.selected}/acknowledge`, { note: $("#ack-note").value });
  if (!r.ok) { $("#ack-error").textContent = r.status === 409 && !(status && status.volunteer) ? T.ui.sign_in_first : r.data.error; return; }
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

const visitor = { phone: "", id: "", host: null, temps: [], current: null, source: "manual" };
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
  const r = await api("POST", "visitors", body);
  if (!r.ok) { $("#v-error").textContent = r.data.error; return; }
  if (r.data.verdict === "remeasure") {
    visitor.temps = temps; visitor.current = null;
    $("#v-temp").textContent = "—";
    $("#v-error").textContent = T.ui.measure_again + " (" + (T.prompts[r.data.prompt] || [""])[0] + ")";
    return;
  }
  resetVisitor();
});
function resetVisitor() {
  Object.assign(visitor, { phone: "", id: "", host: null, temps: [], current: null, source: "manual" });
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
  if (r.ok) { show("home"); return; }
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
      p.direction === "out" ? T.ui.out : T.ui.in, " ", kind, " ", p.name || p.plate || "", " ", p.household || "",
      p.temperature_c ? ` ${p.temperature_c.toFixed(1)} °C` : ""));
  }
}

// -- navigation, clock, stream -------------------------------------------------

const ENTER = { alarms: loadAlarms, volunteer: loadVolunteers, today: loadToday, vehicle: renderPlate,
  temperature: () => { temperature.value = ""; $("#temp-display").textContent = "—";
    $$("#screen-temperature .toggle button").forEach((b) => b.classList.toggle("on", b.dataset.source === temperature.source)); } };
document.addEventListener("click", (event) => {
  const go = event.target.closest("[data-go]");
  if (go) { if (go.dataset.go !== "temperature") temperature.source = "manual"; show(go.dataset.go); }
});
function tick() { $("#clock").textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false }); }
tick();
setInterval(tick, 10000);

function connect() {
  const stream = new EventSource("/api/v1/stream");
  stream.addEventListener("decision", (e) => onDecision(JSON.parse(e.data)));
  stream.addEventListener("measuring", (e) => onMeasuring(JSON.parse(e.data)));
  stream.addEventListener("abandoned", (e) => onAbandoned(JSON.parse(e.data)));
  stream.addEventListener("status", (e) => renderStatus(JSON.parse(e.data)));
  stream.addEventListener("open", () => api("GET", "status").then((r) => { if (r.ok) renderStatus(r.data); document.body.dataset.live = "1"; }));
  stream.onerror = () => { document.body.dataset.live = "0"; };  // EventSource reconnects by itself
}
connect();

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
