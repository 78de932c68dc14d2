// Today at this gate: the day's counts and the latest passages (GET /today).
import { T } from "/static/common/catalog.js";
import { el, time } from "/static/common/format.js";
import { $ } from "./dom.js";
import { onEnter } from "./screens.js";
import { api } from "./state.js";
import { directionWord } from "./words.js";

async function loadToday() {
  const r = await api("GET", "today");
  if (!r.ok) return;
  const today = r.data;
  for (const k of ["in", "out", "refused", "vehicles", "visitors"]) $("#count-" + k).textContent = today.counts[k];
  $("#count-alarms").textContent = today.open_alarms;
  const list = $("#recent");
  list.replaceChildren();
  for (const p of today.recent) {
    const kind = p.kind === "vehicle" ? T.ui.vehicle : p.kind === "visitor_registration" ? T.ui.visitor : "";
    list.append(el("li", {}, el("span", { class: "tag " + p.verdict }, T.verdicts[p.verdict] || p.verdict), time(p.ts), " ",
      directionWord(p.direction) || "—", " ", kind, " ", p.name || p.plate || "", " ", p.household || "",
      p.temperature_c ? ` ${p.temperature_c.toFixed(1)} °C` : ""));
  }
}

onEnter("today", loadToday);
