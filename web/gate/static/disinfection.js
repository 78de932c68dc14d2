// The disinfection round (消杀): the volunteer on duty taps an area and an agent (the gate's config lists them; "Other…"
// opens a text field for the keyboard), optionally a note, and records it (POST /disinfection); the right side lists
// this gate's rounds today. The words come from the page (data-* on the screen), so nothing here holds UI text.
import { el, time } from "/static/common/format.js";
import { $ } from "./dom.js";
import { onEnter, onShow, show } from "./screens.js";
import { api, state } from "./state.js";
import { toast } from "./toast.js";

const screen = $("#screen-disinfection");
const words = JSON.parse(screen.dataset.words);
const picked = { area: null, agent: null };
let resume = false;  // back from signing in: keep what was picked

function say(table, value) { return (words[table] && words[table][value]) || value; }

// A group of buttons: one at a time; "Other…" shows its text field (the typed words are the value then).
function group(name) {
  const box = $("#d-" + name);
  const other = $(`#d-${name}-other`);
  box.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    box.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b === button));
    other.hidden = !button.dataset.other;
    picked[name] = button.dataset.other ? "" : button.dataset.value;
    if (!other.hidden) other.focus();
    $("#d-error").textContent = "";
  });
  other.addEventListener("input", () => { picked[name] = other.value.trim(); });
}
group("area");
group("agent");

function renderToday(rounds) {
  const list = $("#d-today");
  list.replaceChildren();
  if (!rounds.length) { list.append(el("li", {}, screen.dataset.none)); return; }
  for (const r of rounds) {
    list.append(el("li", {}, el("b", {}, time(r.at)), say("areas", r.area), " · ", say("agents", r.agent),
      r.volunteer ? " · " + r.volunteer : ""));
  }
}

function reset() {
  picked.area = picked.agent = null;
  for (const name of ["area", "agent"]) {
    $("#d-" + name).querySelectorAll("button").forEach((b) => b.classList.remove("on"));
    const other = $(`#d-${name}-other`);
    other.value = "";
    other.hidden = true;
  }
  $("#d-note").value = "";
  $("#d-error").textContent = "";
}

async function enter() {
  if (!resume) reset();
  resume = false;
  const r = await api("GET", "disinfection");
  if (!r.ok) return;
  renderToday(r.data.today);
  $("#d-error").textContent = r.data.signed_in ? "" : screen.dataset.signInFirst;
}

$("#d-save").addEventListener("click", async () => {
  if (!picked.area || !picked.agent) { $("#d-error").textContent = screen.dataset.choose; return; }
  const r = await api("POST", "disinfection", { area: picked.area, agent: picked.agent, note: $("#d-note").value.trim() });
  if (r.ok) {
    reset();
    renderToday(r.data.today);
    toast(screen.dataset.recorded);
  } else if (r.status === 409) {  // nobody on duty: sign in, then back here with the round still picked
    state.afterSignIn = { screen: "disinfection", preselect: [] };
    resume = true;
    show("volunteer");
  } else {
    $("#d-error").textContent = r.data.error;
  }
});

onEnter("disinfection", enter);
onShow((name) => { if (name !== "volunteer" && name !== "disinfection") resume = false; });
