// The on-screen hanzi keyboard: a Pi touchscreen has no input method, so any input[data-keyboard="hanzi"] (readonly,
// inputmode="none": no system keyboard) opens this one. Letters are pinyin; the candidate bar asks the gate
// (GET /api/v1/hanzi, debounced, stale requests cancelled, pages cached) and a tap appends the character; ⌫ deletes
// a pending letter, or with none pending the last character; "123 ABC" types digits and Latin letters as they are
// (3号楼, a company's name). An input with data-hanzi="name" asks for the surname order for its first character and
// the given-name order after it. An input with data-suggest="URL" offers whole words from that URL
// (``{"places": [...]}``: where this gate's visitors came from lately) while the field is empty: one tap instead of
// a word spelt in pinyin. Words come from the template (part_hanzi_keyboard.html), in the page's language.
import { $ } from "./dom.js";

const MAX_PINYIN = 8;   // as the server accepts (kiosk/gate/hanzi_candidates.py MAX_LETTERS)
const DEBOUNCE_MS = 60; // a fast typist's next letter comes within this: ask once for the word, not per letter
const overlay = $("#hz-overlay");
const kb = {
  input: null, text: "", pinyin: "", page: 0, latin: false, max: 40,
  matched: "", candidates: [], more: false, pending: null, timer: null, controller: null, failed: false,
  words: [],
};
const cache = new Map(); // "slot|pinyin|page" → the server's answer (the same letters are typed again and again)

const chars = (s) => Array.from(s); // by code point: a character outside the BMP is one character, not two

function slot() {
  if (kb.input?.dataset.hanzi !== "name") return "text";
  return chars(kb.text.trim()).length === 0 ? "surname" : "given";
}

function labelOf(input) {
  if (input.dataset.keyboardLabel) return input.dataset.keyboardLabel;
  if (input.getAttribute("aria-label")) return input.getAttribute("aria-label");
  const label = input.closest("label");
  return label ? label.textContent.trim() : ""; // an input has no text of its own: the label's words
}

// -- the keys ---------------------------------------------------------------------------------------------------

function buildKeys() {
  const rows = $("#hz-keys").dataset[kb.latin ? "latin" : "pinyin"].split(" ");
  const widest = Math.max(...rows.map((r) => r.length));
  const keys = $("#hz-keys");
  keys.replaceChildren();
  rows.forEach((row, i) => {
    const div = document.createElement("div");
    div.className = "hz-row";
    const last = i === rows.length - 1;
    const width = row.length + (last ? 2 : 0); // ⌫ is two keys wide, at the end of the last row
    const gap = (widest - width) / 2;
    if (gap > 0) div.appendChild(spacer(gap));
    for (const key of row) {
      const button = document.createElement("button");
      button.className = "hz-key";
      button.textContent = key;
      button.dataset.key = key;
      div.appendChild(button);
    }
    if (last) {
      const back = document.createElement("button");
      back.className = "hz-key hz-back";
      back.id = "hz-back";
      back.textContent = "⌫";
      back.dataset.key = "⌫";
      div.appendChild(back);
    }
    if (gap > 0) div.appendChild(spacer(gap));
    keys.appendChild(div);
  });
  const mode = $("#hz-mode");
  mode.textContent = kb.latin ? mode.dataset.pinyinLabel : mode.dataset.latinLabel;
}

function spacer(units) {
  const gap = document.createElement("span");
  gap.className = "hz-gap";
  gap.style.flex = `${units} 1 0`;
  return gap;
}

// -- what is typed ------------------------------------------------------------------------------------------------

function append(s) {
  const room = kb.max - chars(kb.text).length;
  if (room <= 0) { hint("full"); return false; }
  kb.text += chars(s).slice(0, room).join("");
  return true;
}

function sync() {
  $("#hz-text").textContent = kb.text;
  $("#hz-pinyin").textContent = kb.pinyin;
  if (kb.input) {
    kb.input.value = kb.text;
    kb.input.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

function commitLetters() {
  // Pending pinyin kept as the letters typed (done, or a digit typed after it): nothing typed is lost.
  if (kb.pinyin) { append(kb.pinyin); kb.pinyin = ""; }
}

function onKey(key) {
  if (key === "⌫") {
    if (kb.pinyin) kb.pinyin = kb.pinyin.slice(0, -1);
    else kb.text = chars(kb.text).slice(0, -1).join("");
  } else if (kb.latin) {
    commitLetters();
    append(key);
  } else if (/^[a-z]$/.test(key) && kb.pinyin.length < MAX_PINYIN) {
    kb.pinyin += key;
  }
  kb.page = 0;
  changed();
}

function pick(index) {
  const char = kb.candidates[index];
  if (char === undefined) return;
  if (!append(char)) return;
  // Only the letters the character spells: "zhangwei" → tap 张 → "wei" is still there for 伟.
  kb.pinyin = kb.pinyin.slice(kb.matched.length || kb.pinyin.length);
  kb.page = 0;
  changed();
}

function changed() {
  sync();
  ask();
}

// -- candidates ---------------------------------------------------------------------------------------------------

function hint(which) {
  const list = $("#hz-list");
  const p = document.createElement("span");
  p.className = "hz-hint";
  p.textContent = overlay.dataset[which];
  list.replaceChildren(p);
}

function render() {
  const list = $("#hz-list");
  $("#hz-prev").disabled = kb.page === 0 || !kb.pinyin;
  $("#hz-next").disabled = !kb.more || !kb.pinyin;
  if (!kb.pinyin && kb.words.length && !kb.text.trim()) { renderWords(); return; }
  if (!kb.pinyin) { hint("empty"); return; }
  if (kb.failed) { hint("failed"); return; }
  if (kb.pending && !kb.candidates.length) { list.replaceChildren(); return; } // the answer is on its way
  if (!kb.candidates.length) { hint("none"); return; }
  list.replaceChildren(...kb.candidates.map((c, i) => {
    const button = document.createElement("button");
    button.textContent = c;
    button.dataset.index = i;
    return button;
  }));
}

function renderWords() {
  $("#hz-list").replaceChildren(...kb.words.map((w) => {
    const button = document.createElement("button");
    button.className = "hz-word";
    button.textContent = w;
    button.dataset.word = w;
    return button;
  }));
}

async function fetchWords(input) {
  // Best effort: without an answer the bar shows its usual hint, and typing works as ever.
  try {
    const response = await fetch(input.dataset.suggest, { headers: { Accept: "application/json" } });
    const answer = response.ok ? await response.json() : { places: [] };
    if (kb.input !== input) return; // closed, or another field opened meanwhile
    kb.words = (answer.places || []).filter((w) => typeof w === "string" && w).slice(0, 6);
    render();
  } catch (e) {
    kb.words = []; // offline page or the gate restarting: no suggestions, nothing else changes
  }
}

function show(answer) {
  kb.candidates = answer.candidates;
  kb.matched = answer.matched;
  kb.more = answer.more;
  kb.failed = false;
  kb.pending = null;
  render();
}

function ask() {
  clearTimeout(kb.timer);
  if (kb.controller) { kb.controller.abort(); kb.controller = null; }
  kb.candidates = []; kb.more = false; kb.matched = ""; kb.failed = false;
  if (!kb.pinyin) { kb.pending = null; render(); return; }
  const key = `${slot()}|${kb.pinyin}|${kb.page}`;
  kb.pending = key;
  if (cache.has(key)) { show(cache.get(key)); return; }
  render();
  kb.timer = setTimeout(() => fetchCandidates(key), DEBOUNCE_MS);
}

async function fetchCandidates(key) {
  const [which, pinyin, page] = key.split("|");
  const controller = new AbortController();
  kb.controller = controller;
  const query = new URLSearchParams({ pinyin, page, slot: which });
  try {
    const response = await fetch(`/api/v1/hanzi?${query}`, { signal: controller.signal, headers: { Accept: "application/json" } });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error);
    if (cache.size > 500) cache.clear();
    cache.set(key, answer);
    if (kb.pending === key) show(answer);
  } catch (e) {
    if (controller.signal.aborted || kb.pending !== key) return; // a newer letter took over
    kb.failed = true;
    kb.pending = null;
    render();
  } finally {
    if (kb.controller === controller) kb.controller = null;
  }
}

// -- opening and closing ------------------------------------------------------------------------------------------

export function openHanzi(input) {
  kb.input = input;
  kb.text = input.value || "";
  kb.pinyin = "";
  kb.page = 0;
  kb.latin = false;
  kb.max = input.maxLength > 0 ? input.maxLength : 40;
  $("#hz-label").textContent = labelOf(input);
  kb.words = [];
  if (input.dataset.suggest) fetchWords(input);
  buildKeys();
  sync();
  ask();
  overlay.hidden = false;
}

export function closeHanzi() {
  commitLetters();
  sync();
  clearTimeout(kb.timer);
  if (kb.controller) kb.controller.abort();
  kb.pending = null;
  overlay.hidden = true;
  const input = kb.input;
  kb.input = null;
  if (input) input.dispatchEvent(new Event("change", { bubbles: true }));
}

// Every such field is the keyboard's alone: no system keyboard over it, even where a template forgot to say so.
function claim(input) { input.readOnly = true; input.inputMode = "none"; }
document.querySelectorAll('input[data-keyboard="hanzi"]').forEach(claim);

document.addEventListener("click", (event) => {
  const input = event.target.closest?.('input[data-keyboard="hanzi"]');
  if (input) claim(input);
  if (input && !input.disabled) openHanzi(input);
});

$("#hz-keys").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-key]");
  if (button) onKey(button.dataset.key);
});
$("#hz-list").addEventListener("click", (event) => {
  const word = event.target.closest("button[data-word]");
  if (word) { if (append(word.dataset.word)) changed(); return; }
  const button = event.target.closest("button[data-index]");
  if (button) pick(Number(button.dataset.index));
});
$("#hz-prev").addEventListener("click", () => { if (kb.page > 0) { kb.page -= 1; ask(); } });
$("#hz-next").addEventListener("click", () => { if (kb.more) { kb.page += 1; ask(); } });
$("#hz-mode").addEventListener("click", () => { kb.latin = !kb.latin; buildKeys(); });
$("#hz-clear").addEventListener("click", () => { kb.text = ""; kb.pinyin = ""; kb.page = 0; changed(); });
$("#hz-space").addEventListener("click", () => {
  if (kb.pinyin && kb.candidates.length) pick(0); // as input methods do: space takes the first candidate
  else if (!kb.pinyin && kb.text && !kb.text.endsWith(" ")) { append(" "); changed(); }
});
$("#hz-done").addEventListener("click", closeHanzi);
// A USB keyboard at the desk types into the same keyboard (the field itself is readonly).
document.addEventListener("keydown", (event) => {
  if (overlay.hidden || event.ctrlKey || event.altKey || event.metaKey) return;
  if (event.key === "Escape" || event.key === "Enter") { event.preventDefault(); closeHanzi(); return; }
  if (event.key === "Backspace") { event.preventDefault(); onKey("⌫"); return; }
  if (/^[1-9]$/.test(event.key) && !kb.latin && kb.pinyin && kb.candidates.length) { pick(Number(event.key) - 1); return; }
  if (/^[a-zA-Z0-9-]$/.test(event.key)) onKey(kb.latin ? event.key.toUpperCase() : event.key.toLowerCase());
});
