// 今日: the day's figures follow the gates while the page shows today. A passage, vehicle, visitor or alarm on the
// live stream (desk.js's "desk:event") fetches the page again, at most once every 2 s, and swaps in its figures; a
// minute's refresh catches what comes without an event (the quarantine count, the hour turning). Another day stays.
const root = document.getElementById("today-live");
const PARTS = ["today-totals", "by-hour", "today-table"];

async function refresh() {
  const r = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
  if (!r.ok) return;  // signed out or the office away: the figures shown stay, the next event tries again
  const fresh = new DOMParser().parseFromString(await r.text(), "text/html");
  for (const id of PARTS) {
    const now = document.getElementById(id), next = fresh.getElementById(id);
    if (now && next) now.replaceWith(next);
  }
  document.body.dataset.todayRefreshed = String(Number(document.body.dataset.todayRefreshed || 0) + 1);
}

if (root && root.dataset.live === "1") {
  let pending = null;
  const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 2000); };
  document.addEventListener("desk:event", (e) => {
    if (["passage", "vehicle", "visitor_registration", "alarm_raised"].includes(e.detail.type)) soon();
  });
  setInterval(refresh, 60000);
}
