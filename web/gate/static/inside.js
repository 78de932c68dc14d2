// Visitors inside now (GET /visitors/inside): longest inside first, a long stay marked; 离开 records the exit
// (POST /visitors/inside/<entry>/exit). Only the volunteer on duty may: a refusal offers to sign in first.
import { T } from "/static/common/catalog.js";
import { duration, el, fmt, time } from "/static/common/format.js";
import { $ } from "./dom.js";
import { onEnter, show } from "./screens.js";
import { api, state } from "./state.js";
import { toast } from "./toast.js";

const words = () => T.inside || {};

function row(v) {
  const w = words();
  const tags = [];
  if (v.overnight) tags.push(el("span", { class: "tag deny" }, w.overnight));
  else if (v.long) tags.push(el("span", { class: "tag deny" }, w.long));
  if (v.how === "pass") tags.push(el("span", { class: "tag refer" }, w.pass));
  return el("li", { "data-entry": v.entry_seq, class: v.long ? "long" : "" },
    el("span", { class: "who" }, el("b", {}, v.name || "—"),
      el("small", {}, [v.household, v.phone, fmt(w.since, { time: time(v.since) })].filter(Boolean).join(" · "))),
    ...tags,
    el("span", { class: "for" }, fmt(w.for, { d: duration(v.inside_s) })),
    el("button", { class: "primary", "data-leave": v.entry_seq, onclick: () => leave(v) }, w.leave));
}

export async function loadInside() {
  const r = await api("GET", "visitors/inside");
  const list = $("#inside-list");
  list.replaceChildren();
  if (!r.ok) { $("#inside-error").textContent = (r.data && r.data.error) || T.ui.error; return; }
  $("#inside-count").textContent = r.data.count;
  setBadge(r.data.count);
  if (!r.data.visitors.length) list.append(el("li", { class: "empty" }, words().none));
  for (const v of r.data.visitors) list.append(row(v));
}

async function leave(v) {
  const error = $("#inside-error");
  error.replaceChildren();
  const r = await api("POST", `visitors/inside/${v.entry_seq}/exit`, {});
  if (!r.ok) {
    const code = r.data && r.data.code;
    error.append((words().errors || {})[code] || (r.data && r.data.error) || T.ui.error);
    if (code === "not_signed_in") {
      state.afterSignIn = { screen: "inside" };
      error.append(" ", el("button", { class: "secondary", onclick: () => show("volunteer") }, words().sign_in));
    }
    if (code !== "not_signed_in") loadInside();
    return;
  }
  toast(fmt(words().done, { name: v.name || "" }));
  loadInside();
}

// The home screen's button shows how many are inside (from every status the gate pushes).
function setBadge(n) {
  const badge = $("#inside-badge");
  if (!badge) return;
  badge.textContent = n;
  badge.hidden = !n;
}

export function renderInsideCount(status) {
  if (status && typeof status.visitors_inside === "number") setBadge(status.visitors_inside);
}

onEnter("inside", () => { $("#inside-error").replaceChildren(); loadInside(); });
