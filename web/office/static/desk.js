// Every desk page: the live stream (/desk/stream), the banner for a new fever or quarantine alarm, the sound, and
// the count of open alarms in the top bar. Screens listen for "desk:event" on document to refresh themselves.
import { T } from "/static/common/catalog.js";
import { client } from "/static/common/api.js";
import { connect } from "/static/common/stream.js";
import { fmt, time } from "/static/common/format.js";

export const api = client("/desk/api/");

// Kinds that must not be missed: a banner on every page and a sound, until someone has looked.
const LOUD = new Set(["fever", "quarantine_breach", "invalid_card"]);
const SOUND_KEY = "desk.sound";

let audio = null;
function beep() {
  if (localStorage.getItem(SOUND_KEY) !== "on") return;
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    for (let i = 0; i < 3; i++) {  // three short high tones: unlike any notification sound of the PC
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, now + i * 0.35);
      gain.gain.exponentialRampToValueAtTime(0.4, now + i * 0.35 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.35 + 0.3);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.35);
      osc.stop(now + i * 0.35 + 0.32);
    }
    document.body.dataset.beeped = String(Number(document.body.dataset.beeped || 0) + 1);
  } catch (e) { /* no audio device: the banner still shows */ }
}

function showSoundState() {
  const button = document.getElementById("sound-toggle");
  const on = localStorage.getItem(SOUND_KEY) === "on";
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? T.ui.sound_on : T.ui.sound_off;
}

document.getElementById("sound-toggle").addEventListener("click", () => {
  // Browsers play sound only after the user has touched the page: this click is that touch.
  localStorage.setItem(SOUND_KEY, localStorage.getItem(SOUND_KEY) === "on" ? "off" : "on");
  showSoundState();
  if (localStorage.getItem(SOUND_KEY) === "on") { audio = audio || new AudioContext(); audio.resume(); }
});

const banner = document.getElementById("alarm-banner");
function showBanner(alarm) {
  const where = alarm.gate_name || alarm.gate_id || "";
  banner.classList.toggle("warn", alarm.kind !== "fever");
  document.getElementById("alarm-banner-text").textContent =
    fmt(T.ui.banner, { alarm: T.alarms[alarm.kind] || alarm.kind, gate: where, time: time(alarm.raised_at) });
  banner.hidden = false;
  banner.dataset.eventId = alarm.event_id;
}
document.getElementById("alarm-banner-hide").addEventListener("click", () => {
  sessionStorage.setItem("desk.banner.seen", banner.dataset.eventId || "");
  banner.hidden = true;
});

async function refreshOpen() {
  const r = await api("GET", "alarms/summary");
  if (!r.ok) return;
  const count = document.getElementById("open-count");
  count.hidden = !r.data.open;
  count.textContent = r.data.open;
  const loud = r.data.latest_loud;
  if (loud && sessionStorage.getItem("desk.banner.seen") !== loud.event_id) showBanner(loud);
  else if (!loud) banner.hidden = true;
}

function heard(type, item) {
  if (type === "alarm_raised") {
    const kind = item.data?.kind || item.alarm_kind;
    if (LOUD.has(kind)) {
      showBanner({ kind, gate_id: item.gate_id, gate_name: item.gate_name, raised_at: item.ts, event_id: item.id });
      beep();
    }
  }
  if (type.startsWith("alarm")) refreshOpen();
  document.dispatchEvent(new CustomEvent("desk:event", { detail: { type, item } }));
}

showSoundState();
const kinds = ["alarm_raised", "alarm_acknowledged", "passage", "vehicle", "visitor_registration", "sensor_fault", "gate"];
connect("/desk/stream", Object.fromEntries(kinds.map((k) => [k, (item) => heard(k, item)])), refreshOpen);
