// The waiting screen's direction panel: the volunteer's 进 / 出 choice, held for the next passages, with how long
// it still holds (or the lane's one way). The gate says what is chosen (status events, POST /direction's answer).
import { T } from "/static/common/catalog.js";
import { duration, fmt } from "/static/common/format.js";
import { $, $$ } from "./dom.js";
import { onEnter } from "./screens.js";
import { api, onRules, state } from "./state.js";
import { directionWord } from "./words.js";

// chosen/source/lane as the gate sent them; `until` is when the choice runs out (this page's clock), `hold` its
// full length (for the bar): each tap and each passage that uses the choice renews it.
const direction = { chosen: null, source: null, lane: null, until: 0, hold: 0 };

export function setDirection(d) {
  d = d || {};
  const left = typeof d.expires_in_s === "number" ? d.expires_in_s : null;
  if (d.chosen !== direction.chosen) direction.hold = 0;
  Object.assign(direction, { chosen: d.chosen || null, source: d.source || null, lane: d.lane || null,
    until: left === null ? 0 : performance.now() + left * 1000 });
  const rules = state.rules;
  direction.hold = Math.max(direction.hold, left || 0, rules && direction.chosen ? rules.direction_hold_s || 0 : 0);
  renderDirection();
}

function directionLeft() {
  if (!direction.chosen) return 0;
  return direction.until ? Math.max(0, (direction.until - performance.now()) / 1000) : Infinity;
}

export function renderDirection() {
  const panel = $("#direction-panel");
  const left = directionLeft();
  const chosen = direction.lane || (left > 0 ? direction.chosen : null);
  panel.dataset.chosen = chosen || "";
  if (direction.lane) panel.dataset.lane = direction.lane; else delete panel.dataset.lane;
  for (const b of $$(".dir-button")) {
    b.setAttribute("aria-pressed", String(b.dataset.direction === chosen));
    b.disabled = !!direction.lane && b.dataset.direction !== direction.lane;
  }
  const stateLine = $("#direction-state");
  stateLine.classList.remove("error");
  const dir = directionWord(chosen);
  stateLine.textContent = direction.lane ? fmt(T.ui.direction_lane, { dir })
    : !chosen ? T.ui.direction_none
    : fmt(direction.source === "button" ? T.ui.direction_button : T.ui.direction_chosen, { dir, left: duration(left) });
  const bar = $("#direction-bar");
  bar.style.width = chosen && direction.hold && left !== Infinity ? Math.min(100, (100 * left) / direction.hold) + "%" : "100%";
}
setInterval(() => { if (direction.chosen && !direction.lane) renderDirection(); }, 1000);

async function chooseDirection(want) {
  const r = await api("POST", "direction", { direction: want });
  if (r.ok && r.data && r.data.direction) setDirection(r.data.direction);
  return r;
}

for (const b of $$(".dir-button")) {
  b.addEventListener("click", async () => {
    if (direction.lane) return;  // a one-way lane: nothing to choose
    const again = direction.chosen === b.dataset.direction && directionLeft() > 0;
    const r = await chooseDirection(again ? null : b.dataset.direction);  // the chosen one again: clear it
    if (!r.ok) { $("#direction-state").textContent = T.ui.error; $("#direction-state").classList.add("error"); }
  });
}

onEnter("home", renderDirection);
onRules(renderDirection);
