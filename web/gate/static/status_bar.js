// The top bar and the banners under it, from the gate's status (GET /status and the stream's status events):
// chips for the office link, sync backlog and sensors; the fault banner; the unstaffed banner (no volunteer signed
// in for a while: status.unstaffed_since); the clock banner (the gate's clock not trusted: status.clock, see
// kiosk/gate/clock.py); the volunteer chip; the alarm badge; the clock.
import { T } from "/static/common/catalog.js";
import { duration, el, fmt } from "/static/common/format.js";
import { setDirection } from "./direction.js";
import { $ } from "./dom.js";
import { leafChip } from "./gate_leaf.js";
import { state } from "./state.js";

// A sensor or link chip. At 800×480 with a volunteer signed in the bar has room for icons, not words: a part that
// works is its icon and a ✔ (the word in title/aria-label), a faulty one is red with its word ("测温仪故障");
// ``short`` replaces the word on the chip (the backlog: its icon and the count).
function chip(good, text, icon, short) {
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = icon ? document.createElementNS(svgNS, "svg") : null;
  if (svg) {
    const use = document.createElementNS(svgNS, "use");
    use.setAttribute("href", "#" + icon);
    svg.append(use);
  }
  const quiet = good === true && svg !== null;
  return el("span", { class: "chip " + (good === null ? "neutral" : good ? "good" : "bad") + (quiet ? " icon-only" : ""),
                      title: text, "aria-label": text, "data-part": icon || null },
            svg, good === true ? "✔" : "", quiet ? null : el("span", { class: "chip-word" }, short ?? text));
}

// GET /status sends the disk's figures; the stream's status events only whether it is low.
const diskLow = (s) => (s.disk ? !!s.disk.low : !!s.disk_low);

function renderChips(s) {
  const chips = [];
  if (s.office) chips.push(chip(s.office.online, s.office.online ? T.ui.office : T.ui.office_offline, "i-office"));
  if (s.journal && s.journal.backlog > 0) chips.push(chip(null, fmt(T.ui.backlog, { n: s.journal.backlog }), "i-sync", String(s.journal.backlog)));
  if (s.thermometer) chips.push(chip(s.thermometer.ok, s.thermometer.ok ? T.ui.thermometer : T.ui.thermometer_fault, "i-temp"));
  if (s.camera) chips.push(chip(s.camera.state !== "error", s.camera.state !== "error" ? T.ui.camera : T.ui.camera_fault, "i-camera"));
  if (diskLow(s)) chips.push(chip(false, T.ui.disk_low, "i-warn"));
  const leaf = leafChip(s);  // the gate leaf open (gate_leaf.js)
  if (leaf) chips.push(leaf);
  // Faults first: when the bar is short of room (a volunteer signed in), the chips that do not fit drop out whole,
  // and those are the ✔ ones.
  const rank = (c) => (c.classList.contains("bad") ? 0 : c.classList.contains("neutral") ? 1 : 2);
  $("#chips").replaceChildren(...chips.sort((a, b) => rank(a) - rank(b)));
}

function renderFaults(s) {
  const faults = [];
  if (s.thermometer && !s.thermometer.ok) faults.push(T.faults.thermometer);
  if (s.camera && s.camera.state === "error") faults.push(T.faults.camera);
  if (diskLow(s)) faults.push(T.faults.disk);
  for (const part of Object.keys(s.faults || {})) {
    if (!["thermometer", "camera", "disk"].includes(part)) faults.push(T.faults[part] || part);
  }
  const banner = $("#fault-banner");
  banner.hidden = faults.length === 0;
  banner.querySelector("span").textContent = faults.join(" · ");
}

// Since when nobody has been signed in (this page's clock), while the gate says so; the banner counts up.
let unstaffedSince = null;

function renderUnstaffed() {
  const banner = $("#unstaffed-banner");
  banner.hidden = unstaffedSince === null;
  banner.querySelector("span").textContent = unstaffedSince === null ? ""
    : fmt(T.ui.unstaffed, { time: duration((Date.now() - unstaffedSince) / 1000) });
}
setInterval(() => { if (unstaffedSince !== null) renderUnstaffed(); }, 1000);

// The gate's clock not trusted (gone back, far from the office's, not synchronised): a banner saying which.
function renderClock(s) {
  const code = s.clock && !s.clock.trusted ? s.clock.trust : null;
  const banner = $("#clock-banner");
  banner.hidden = code === null;
  banner.dataset.trust = code || "";
  banner.querySelector("span").textContent = code === null ? "" : (T.clock[code] || T.clock.unsynchronised);
}

export function renderStatus(s) {
  state.status = s;
  renderChips(s);
  renderFaults(s);
  renderClock(s);
  // Absent (an older gate) or null: staffed, or not yet long enough to say so. A time that does not parse is shown
  // as just now rather than hidden: the gate did say nobody is here.
  const since = s.unstaffed_since ? Date.parse(s.unstaffed_since) : NaN;
  unstaffedSince = s.unstaffed_since ? Math.min(Date.now(), isNaN(since) ? Date.now() : since) : null;
  renderUnstaffed();
  const volunteer = s.volunteer;
  // The name only: at 800×480 the bar has no room for "已值班 2.5 小时" beside a fault; the hours are the chip's
  // title and on the volunteer screen.
  $("#volunteer-label").textContent = volunteer ? volunteer.name : T.ui.sign_in;
  $("#volunteer-chip").title = volunteer ? fmt(T.ui.hours, { h: volunteer.hours.toFixed(1) }) : "";
  $("#volunteer-chip").classList.toggle("on", !!volunteer);
  const badge = $("#alarm-badge");
  badge.hidden = !s.open_alarms;
  badge.textContent = s.open_alarms;
  if ("direction" in s) setDirection(s.direction);
}

function tick() { $("#clock").textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false }); }

export function startClock() {
  tick();
  setInterval(tick, 10000);
}
