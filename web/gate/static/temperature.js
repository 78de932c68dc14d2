// The typed-temperature screen: a reading from the IR gun or a contact thermometer, for the passage waiting on
// screen (thermometer down, or a handheld confirmation of a fever).
import { T } from "/static/common/catalog.js";
import { $, $$, edit, keypad, radio } from "./dom.js";
import { onEnter } from "./screens.js";
import { api } from "./state.js";

const temperature = { value: "", source: "manual" };

// Which thermometer the screen opens with: "handheld_contact" from a fever or a handheld check, else "manual".
export function setTemperatureSource(source) { temperature.source = source; }

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

onEnter("temperature", () => {
  temperature.value = "";
  $("#temp-display").textContent = "—";
  $$("#screen-temperature .toggle button").forEach((b) => b.classList.toggle("on", b.dataset.source === temperature.source));
});
