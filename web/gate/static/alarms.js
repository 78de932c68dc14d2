// The alarm list: the gate's open alarms, each with a button that opens the acknowledgement dialog; an alarm can
// be preselected (from the fever screen, or back from signing in) so its dialog opens at once.
import { T } from "/static/common/catalog.js";
import { el, time } from "/static/common/format.js";
import { openAck } from "./ack_dialog.js";
import { $ } from "./dom.js";
import { onEnter } from "./screens.js";
import { api } from "./state.js";

let preselect = [];

// The next time the list loads, open the dialog of the first of these alarms (by journal seq) still open.
export function preselectAlarms(seqs) { preselect = seqs || []; }

export async function loadAlarms() {
  const r = await api("GET", "alarms");
  const list = $("#alarm-list");
  list.replaceChildren();
  const open = r.ok ? r.data : [];
  if (!open.length) list.append(el("li", {}, T.ui.no_alarms));
  for (const a of open) {
    list.append(el("li", { "data-seq": a.seq },
      el("span", { class: "tag deny" }, "⚠ " + (T.alarms[a.kind] || a.kind)), time(a.ts), " ",
      [a.name, a.household].filter(Boolean).join(" "),
      el("button", { class: "secondary", onclick: () => openAck(a, loadAlarms) }, "✓ " + T.ui.acknowledge)));
  }
  const preselected = open.find((a) => preselect.includes(a.seq));
  preselect = [];
  if (preselected) openAck(preselected, loadAlarms);
}

onEnter("alarms", loadAlarms);
