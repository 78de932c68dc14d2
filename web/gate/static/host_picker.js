// The host-household picker overlay for the visitor form: building → unit → room, from GET /households.
import { el } from "/static/common/format.js";
import { $ } from "./dom.js";
import { api } from "./state.js";

const LEVELS = ["building", "unit", "room"];
let households = [];
let picked = null;

// Open the picker; picked(household id, "2-1-201") once a room is tapped.
export async function pickHost(onPicked) {
  if (!households.length) {
    const r = await api("GET", "households");
    households = r.ok ? r.data : [];
  }
  picked = onPicked;
  level([]);
  $("#host-overlay").hidden = false;
}

function level(path) {
  const key = LEVELS[path.length];
  const matching = households.filter((h) => path.every((v, i) => h[LEVELS[i]] === v));
  $("#host-crumbs").textContent = path.join(" - ") || "…";
  const options = $("#host-options");
  options.replaceChildren();
  for (const value of [...new Set(matching.map((h) => h[key]))]) {
    options.append(el("button", { "data-value": value, onclick: () => {
      const next = [...path, value];
      if (next.length === LEVELS.length) {
        $("#host-overlay").hidden = true;
        picked(matching.find((h) => h.room === value).id, next.join("-"));
      } else level(next);
    } }, value));
  }
}

$("#host-cancel").addEventListener("click", () => { $("#host-overlay").hidden = true; });
