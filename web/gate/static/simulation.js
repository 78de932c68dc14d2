// The simulation panel (kiosk run --simulate only): show a demo card to the camera, put someone (or nobody) at
// the thermometer, unplug it. Absent from a real gate's page, and then this module does nothing.
import { $, choice } from "./dom.js";
import { api } from "./state.js";
import "./voice_sim.js"; // the panel's mute toggle and the caption of what the gate said

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
  const leaf = $("#sim-leaf");  // only when the gate has a (simulated) reed switch on its leaf
  if (leaf) leaf.addEventListener("click", () => {
    const open = leaf.getAttribute("aria-pressed") !== "true";
    leaf.setAttribute("aria-pressed", String(open));
    api("POST", "simulation", { gate_open: open });
  });
}
