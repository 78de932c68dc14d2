// Small DOM helpers every screen uses: lookups, on-screen keypads, and button groups that act as choices.

export const $ = (sel) => document.querySelector(sel);
export const $$ = (sel) => Array.from(document.querySelectorAll(sel));

// Fill a .keypad with one button per character of its data-keys; each tap calls onKey with that character.
export function keypad(container, onKey) {
  for (const key of container.dataset.keys) {
    const button = document.createElement("button");
    button.textContent = key;
    button.dataset.key = key;
    button.addEventListener("click", () => onKey(key));
    container.appendChild(button);
  }
}

// A keypad's key applied to a value: ⌫ deletes, anything else is appended while the value is shorter than max.
export function edit(value, key, max) {
  if (key === "⌫") return value.slice(0, -1);
  return value.length >= max ? value : value + key;
}

// Buttons in a group that light up when tapped (.on): one at a time (single), or each on its own.
export function choice(group, single = true) {
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || !group.contains(button)) return;
    if (single) group.querySelectorAll("button").forEach((b) => b.classList.remove("on"));
    button.classList.toggle("on", single ? true : !button.classList.contains("on"));
  });
}

// A radio group: exactly one button .on; onChange hears which.
export function radio(group, onChange) {
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    group.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b === button));
    if (onChange) onChange(button);
  });
}
