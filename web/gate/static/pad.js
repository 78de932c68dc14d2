// The numeric keypad overlay for form fields that must not raise the system keyboard (phone, ID number, a typed
// visitor temperature): openPad says what is typed and hears the value when the volunteer taps OK.
import { $, edit, keypad } from "./dom.js";
import { maskId } from "./words.js";

// target: "phone", "id" (shown masked, X allowed) or "temp" (the X key is the decimal point).
const pad = { value: "", target: null, max: 18, allowX: false, done: null };

function display() { $("#pad-display").textContent = pad.target === "id" ? maskId(pad.value) : pad.value; }

keypad($("#pad-overlay .keypad"), (key) => {
  if (key === "X" && !pad.allowX) return;
  if (key === ".") return;
  pad.value = edit(pad.value, key, pad.max);
  display();
});

export function openPad(target, value, max, allowX, done) {
  Object.assign(pad, { target, value, max, allowX, done });
  $("#pad-overlay .keypad [data-key='X']").textContent = target === "temp" ? "." : "X";
  display();
  $("#pad-overlay").hidden = false;
}

$("#pad-overlay .keypad [data-key='X']").addEventListener("click", () => {
  if (pad.target === "temp" && !pad.value.includes(".")) { pad.value += "."; display(); }
});
$("#pad-cancel").addEventListener("click", () => { $("#pad-overlay").hidden = true; });
$("#pad-ok").addEventListener("click", () => {
  $("#pad-overlay").hidden = true;
  if (pad.done) pad.done(pad.value);
});
