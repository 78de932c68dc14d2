// Exports and the daily report: start a job with fetch, poll its state once a second, then offer its download.
// The words come from the page (data-words, in the page's language); the office's errors are Chinese first.
const box = document.getElementById("paperwork-job");
const words = JSON.parse(box.dataset.words || "{}");
const errorBox = document.getElementById("paperwork-error");
const csrf = document.querySelector("meta[name=csrf-token]").content;
let timer = null;

function say(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => (key in values ? String(values[key]) : ""));
}

function size(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} KB`;
}

function show(job) {
  box.hidden = false;
  box.dataset.job = job.id;
  box.dataset.state = job.state;
  document.getElementById("job-title").textContent = job.name;
  const bar = document.getElementById("job-progress");
  bar.value = job.percent;
  const link = document.getElementById("job-download");
  const state = document.getElementById("job-state");
  link.hidden = job.state !== "done";
  box.classList.toggle("bad", job.state === "failed" || job.state === "expired");
  box.classList.toggle("ok", job.state === "done" || job.state === "taken");
  if (job.state === "queued") {
    state.textContent = job.position ? say(words.queued, { n: job.position }) : words.queued_next;
  } else if (job.state === "running") {
    state.textContent = job.kind === "report" ? words.running_report : !job.total ? words.running_export
      : say(words.running, { percent: job.percent, done: job.done.toLocaleString(), total: job.total.toLocaleString() });
  } else if (job.state === "done") {
    state.textContent = say(words.done, { name: job.name, size: size(job.size) });
    link.href = `/paperwork/jobs/${encodeURIComponent(job.id)}/file`;
  } else if (job.state === "taken") {
    state.textContent = words.taken;
  } else {
    state.textContent = `${words.failed}: ${job.error || ""}`;
  }
  for (const button of document.querySelectorAll("form[data-kind] button[type=submit]")) {
    button.disabled = job.state === "queued" || job.state === "running";
  }
}

async function poll() {
  const id = box.dataset.job;
  if (!id) return;
  try {
    const answer = await fetch(`/paperwork/jobs/${encodeURIComponent(id)}`, { headers: { Accept: "application/json" } });
    const body = await answer.json();
    if (!answer.ok) {
      errorBox.textContent = body.error || answer.statusText;
      errorBox.hidden = false;
      return;
    }
    show(body.job);
    if (body.job.state === "queued" || body.job.state === "running") timer = setTimeout(poll, 1000);
  } catch (_exc) {
    document.getElementById("job-state").textContent = words.lost;
    timer = setTimeout(poll, 3000);
  }
}

for (const form of document.querySelectorAll("form[data-kind]")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    clearTimeout(timer);
    const answer = await fetch(form.action, {
      method: "POST", body: new FormData(form),
      headers: { Accept: "application/json", "X-CSRF-Token": csrf, "X-Requested-With": "fetch" },
    });
    const body = await answer.json().catch(() => ({ error: answer.statusText }));
    if (!answer.ok) {
      errorBox.textContent = body.error || answer.statusText;
      errorBox.hidden = false;
      return;
    }
    show(body.job);
    timer = setTimeout(poll, 500);
  });
}

document.getElementById("job-download").addEventListener("click", () => {
  // the file is sent once: after the download starts, the page says so
  setTimeout(poll, 1500);
});

if (box.dataset.job) poll();
