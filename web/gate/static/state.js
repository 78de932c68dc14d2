// What several screens share: the gate's API client, its last status, its rules (GET /rules), and where a sign-in
// leads back to. One object, so each module reads the same values without importing the others.
import { client } from "/static/common/api.js";

export const api = client("/api/v1/");

export const state = {
  status: null,       // the last GET /status or status event
  rules: null,        // GET /rules: acknowledgement outcomes, how long a direction holds, visitor reasons, …
  afterSignIn: null,  // e.g. {screen: "alarms", preselect: [seq]}: back to the alarm the volunteer was acknowledging
};

const rulesHeard = [];

// Call back whenever the rules arrive (the direction panel needs how long a choice holds).
export function onRules(handler) { rulesHeard.push(handler); }

export async function loadRules() {
  const r = await api("GET", "rules");
  if (r.ok) { state.rules = r.data; for (const handler of rulesHeard) handler(state.rules); }
  return state.rules;
}
