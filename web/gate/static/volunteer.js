// Volunteer sign-in by name and PIN (5 wrong PINs lock it for a while), and sign-out; after signing in from an
// alarm's dialog, back to that alarm.
import { T } from "/static/common/catalog.js";
import { el, fmt, time } from "/static/common/format.js";
import { preselectAlarms } from "./alarms.js";
import { $, choice, edit, keypad } from "./dom.js";
import { onEnter, show } from "./screens.js";
import { api, state } from "./state.js";

const signIn = { volunteer: null, pin: "" };

async function loadVolunteers() {
  const onDuty = state.status && state.status.volunteer;
  $("#on-duty").hidden = !onDuty;
  $("#sign-in").hidden = !!onDuty;
  if (onDuty) {
    $("#duty-name").textContent = onDuty.name;
    $("#duty-hours").textContent = fmt(T.ui.hours, { h: onDuty.hours.toFixed(1) });
    return;
  }
  const names = $("#volunteer-names");
  names.replaceChildren();
  const r = await api("GET", "volunteers");
  for (const v of r.ok ? r.data : []) {
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
    const next = state.afterSignIn;  // e.g. back to the alarm the volunteer was acknowledging
    state.afterSignIn = null;
    if (next) { preselectAlarms(next.preselect); show(next.screen); } else show("home");
    return;
  }
  $("#pin-error").textContent = r.status === 401 ? fmt(T.ui.tries_left, { n: r.data.tries_left })
    : r.status === 423 ? fmt(T.ui.locked, { time: time(r.data.locked_until) }) : r.data.error;
});
$("#sign-out").addEventListener("click", async () => { await api("DELETE", "shift"); show("home"); });

onEnter("volunteer", loadVolunteers);
