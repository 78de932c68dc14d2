// A short confirmation over any screen (e.g. "alarm acknowledged"), gone after 5 s.
import { $ } from "./dom.js";

let toastTimer = null;

export function toast(text) {
  $("#toast-text").textContent = text;
  $("#toast").hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { $("#toast").hidden = true; }, 5000);
}
