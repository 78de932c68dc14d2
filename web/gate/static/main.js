// The gate's touchscreen page: wires the screens' modules together. Each screen or concern is one small module
// (no build step); decisions arrive by server-sent events (/static/common/stream.js), the page never polls for
// them; every word comes from the server's translation catalog (/static/common/catalog.js), so no script here
// holds UI text. Read in this order: state, screens, status_bar, direction, passage, ask, ack_dialog, alarms,
// visitor, vehicle, volunteer, temperature, today, disinfection, pad, host_picker, simulation.
import { connect } from "/static/common/stream.js";
import { showAsk } from "./ask.js";
import { setDirection, renderDirection } from "./direction.js";
import { onAbandoned, onDecision, onMeasuring } from "./passage.js";
import { current, show } from "./screens.js";
import "./simulation.js";
import { api, loadRules, state } from "./state.js";
import { renderStatus, startClock } from "./status_bar.js";
import { setTemperatureSource } from "./temperature.js";
import { onDriver } from "./vehicle.js";
import "./today.js";
import { renderInsideCount } from "./inside.js";
import "./disinfection.js";
import "./hanzi_keyboard.js";
import "./volunteer.js";

// Any [data-go] button goes to its screen; leaving for elsewhere forgets a pending "back to the alarm after
// signing in" and the handheld thermometer preset.
document.addEventListener("click", (event) => {
  const go = event.target.closest("[data-go]");
  if (!go) return;
  if (go.dataset.go !== "temperature") setTemperatureSource("manual");
  if (go.dataset.go !== "volunteer") state.afterSignIn = null;
  show(go.dataset.go);
});

async function onConnected() {
  const r = await api("GET", "status");
  if (!r.ok) return;
  renderStatus(r.data);
  renderInsideCount(r.data);
  // (Re)connected: show what the gate is doing now — asking for a direction, or nothing any more.
  const passage = r.data.passage;
  const screen = current();
  if (passage && passage.state === "asking" && screen !== "ask") showAsk(passage);
  else if (passage === null && (screen === "ask" || screen === "measuring")) show("home");
}

startClock();
loadRules();
renderDirection();
connect("/api/v1/stream", { decision: onDecision, measuring: onMeasuring, abandoned: onAbandoned,
  status: (s) => { renderStatus(s); renderInsideCount(s); },
  driver: onDriver },
  onConnected);
// For the browser tests and a look from the console: the screens and what feeds them.
Object.assign(window, { show, showAsk, setDirection, onDecision, onMeasuring, renderStatus });
