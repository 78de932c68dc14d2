// The acknowledgement dialog over the alarm list: tap what was done (the outcomes the server defines for this kind
// of alarm) and/or write a note, then confirm; only the volunteer on duty may, so it offers to sign in first.
import { T } from "/static/common/catalog.js";
import { el, fmt, time } from "/static/common/format.js";
import { $ } from "./dom.js";
import { onShow, show } from "./screens.js";
import { api, loadRules, state } from "./state.js";
import { toast } from "./toast.js";

const ack = { selected: null, outcome: null, done: null };

// Open the dialog for alarm a; done() is called once it is acknowledged (the list reloads).
export async function openAck(a, done) {
  if (!state.rules) await loadRules();
  const rules = state.rules;
  Object.assign(ack, { selected: a, outcome: null, done });
  $("#ack-title").textContent = [T.alarms[a.kind] || a.kind, time(a.ts), [a.name, a.household].filter(Boolean).join(" ")]
    .filter(Boolean).join(" · ");
  const outcomes = $("#ack-outcomes");
  outcomes.replaceChildren();
  // The outcomes that fit this kind of alarm, as the server defines them (a fever is not "turned back at the gate").
  const byKind = (rules && rules.ack_outcomes_by_kind) || {};
  for (const code of byKind[a.kind] || (rules && rules.ack_outcomes_any) || (rules && rules.ack_outcomes) || []) {
    outcomes.append(el("button", { "data-outcome": code, "aria-pressed": "false", onclick: () => {
      ack.outcome = ack.outcome === code ? null : code;
      for (const b of outcomes.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.outcome === ack.outcome));
      updateSave();
    } }, T.outcomes[code] || code));
  }
  $("#ack-note").value = "";
  $("#ack-error").textContent = "";
  $("#ack-sign-in").hidden = true;
  updateSave();
  $("#ack-dialog").hidden = false;
}

function updateSave() {
  $("#ack-save").disabled = !(ack.outcome || $("#ack-note").value.trim());
}

$("#ack-note").addEventListener("input", updateSave);
$("#ack-cancel").addEventListener("click", () => { $("#ack-dialog").hidden = true; });
$("#ack-sign-in").addEventListener("click", () => {
  state.afterSignIn = { screen: "alarms", preselect: [ack.selected.seq] };
  show("volunteer");
});
$("#ack-save").addEventListener("click", async () => {
  const a = ack.selected;
  const note = $("#ack-note").value.trim();
  if (!ack.outcome && !note) { $("#ack-error").textContent = T.ui.ack_needs; return; }
  const r = await api("POST", `alarms/${a.seq}/acknowledge`, { outcome: ack.outcome, note });
  if (!r.ok) {
    const signedOut = r.status === 409 && !(state.status && state.status.volunteer);
    $("#ack-error").textContent = signedOut ? T.ui.sign_in_first : (r.data && r.data.error) || T.ui.error;
    $("#ack-sign-in").hidden = !signedOut;
    return;
  }
  $("#ack-dialog").hidden = true;
  toast([fmt(T.ui.ack_done, { alarm: T.alarms[a.kind] || a.kind }), ack.outcome ? T.outcomes[ack.outcome] : note]
    .filter(Boolean).join(" · "));
  if (ack.done) ack.done();
});

// The dialog belongs to the alarm list: any other screen closes it.
onShow((screen) => { if (screen !== "alarms") $("#ack-dialog").hidden = true; });
