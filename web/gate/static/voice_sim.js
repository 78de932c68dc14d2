// The simulated gate's voice (kiosk run --simulate only): the panel's mute toggle, and a caption of what the gate
// just said, in Chinese or, on an English page, what it means (the stream's "voice" items come only from the fake
// loudspeaker). Does nothing on a real gate's page.
import { $ } from "./dom.js";
import { api } from "./state.js";
import { connect } from "/static/common/stream.js";

const said = $("#sim-said");
const mute = $("#sim-mute");
let hideTimer = null;

function showSaid(item) {
  if (!item.text) return;  // the alarm tone before the fever prompt: the caption shows the words that follow
  // The gate speaks Mandarin; an English page shows what it means.
  const words = document.documentElement.lang === "en" && item.english ? item.english : item.text;
  said.textContent = said.dataset.label.replace("{words}", words);
  said.title = item.text;
  said.hidden = false;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => { said.hidden = true; }, 5000);
}

if (said && mute) {
  mute.addEventListener("click", () => {
    const on = mute.getAttribute("aria-pressed") !== "true";
    mute.setAttribute("aria-pressed", String(on));
    api("POST", "simulation", { voice_muted: on });
  });
  api("GET", "simulation/voice").then((r) => { if (r.ok && r.data.muted) mute.setAttribute("aria-pressed", "true"); });
  connect("/api/v1/stream", { voice: showSaid });
}
