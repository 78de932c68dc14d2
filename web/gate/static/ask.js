// The ask screen: the gate cannot tell whether this person comes in or goes out, and a rule depends on it; the
// volunteer asks and taps 进 or 出 (for this person only: the next one is not taken to go the same way).
import { T } from "/static/common/catalog.js";
import { fmt } from "/static/common/format.js";
import { $, $$ } from "./dom.js";
import { homeAfter, show } from "./screens.js";
import { api } from "./state.js";
import { directionWord, promptText, who } from "./words.js";

// The screen stays until the passage's decision or its "abandoned" event; this is only the fallback if neither
// ever comes (the gate's pending time is 120 s).
export const WAITING_FALLBACK_MS = 150000;

export function showAsk(d) {
  const [title, todo] = promptText({ ...d, prompt: d.prompt || "ask_direction" });
  $("#ask-title").textContent = title;
  $("#ask-todo").textContent = todo;
  $("#ask-who").textContent = who(d);
  $("#ask-state").textContent = "";
  for (const b of $$("#ask-buttons button")) { b.disabled = false; b.classList.remove("sent"); }
  show("ask", { stay: true });
  homeAfter(d.expires_in_s ? (d.expires_in_s + 5) * 1000 : WAITING_FALLBACK_MS);
}

for (const b of $$("#ask-buttons button")) {
  b.addEventListener("click", async () => {
    for (const other of $$("#ask-buttons button")) other.disabled = true;
    b.classList.add("sent");
    $("#ask-state").textContent = fmt(T.ui.direction_sent, { dir: directionWord(b.dataset.direction) });
    const r = await api("POST", "direction", { direction: b.dataset.direction, hold: false });
    if (!r.ok) {
      for (const other of $$("#ask-buttons button")) other.disabled = false;
      b.classList.remove("sent");
      $("#ask-state").textContent = (r.data && r.data.error) || T.ui.error;
    }
  });
}
