// Which screen is showing (body[data-screen]) and when the page goes back to the waiting screen by itself.
// Each screen's module says what to do when it is entered (onEnter); others can hear every switch (onShow).

const IDLE_HOME_MS = 90000;
const entering = {};
const showing = [];
let homeTimer = null;
let idleTimer = null;

export function onEnter(screen, handler) { entering[screen] = handler; }
export function onShow(handler) { showing.push(handler); }

export function current() { return document.body.dataset.screen; }

// stay: no idle timeout (the gate is waiting for this person, or an alarm is on screen).
export function show(screen, { stay = false } = {}) {
  document.body.dataset.screen = screen;
  for (const handler of showing) handler(screen);
  clearTimeout(homeTimer);
  clearTimeout(idleTimer);
  if (screen !== "home" && !stay) idleTimer = setTimeout(() => show("home"), IDLE_HOME_MS);
  const enter = entering[screen];
  if (enter) enter();
}

export function homeAfter(ms) {
  clearTimeout(homeTimer);
  homeTimer = setTimeout(() => show("home"), ms);
}
