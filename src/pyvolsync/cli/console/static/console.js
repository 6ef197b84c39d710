// The console's script: live rows from the server's event stream, ticking ages, the filter,
// the theme switch, and the buttons' requests (with the page's CSRF token). Pages work without
// it, only without live updates.
"use strict";

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

function durationText(seconds) {
  const units = [["d", 86400, "h", 3600], ["h", 3600, "m", 60], ["m", 60, "s", 1]];
  for (const [unit, size, smaller, smallerSize] of units) {
    if (seconds >= size) {
      const rest = Math.floor((seconds % size) / smallerSize);
      return `${Math.floor(seconds / size)}${unit}${rest ? rest + smaller : ""}`;
    }
  }
  return `${seconds}s`;
}

function tickAges() {
  tickAgesIn(document);
}

function say(text, failed) {
  const region = document.getElementById("said");
  region.textContent = text;
  region.classList.toggle("failed", Boolean(failed));
}

function setUpTheme() {
  const button = document.getElementById("theme");
  const saved = localStorage.getItem("pyvolsync-theme");
  if (saved) document.documentElement.dataset.theme = saved;
  const dark = () => document.documentElement.dataset.theme === "dark" ||
    (!document.documentElement.dataset.theme && matchMedia("(prefers-color-scheme: dark)").matches);
  button.setAttribute("aria-pressed", String(dark()));
  button.addEventListener("click", () => {
    const next = dark() ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("pyvolsync-theme", next);
    button.setAttribute("aria-pressed", String(next === "dark"));
  });
}

function filterOf() {
  return {
    text: document.getElementById("filter").value.trim().toLowerCase(),
    health: document.getElementById("health-filter").value,
  };
}

function showIfMatching(row, filter) {
  const match = row.dataset.search.toLowerCase().includes(filter.text) &&
    (!filter.health || row.dataset.health === filter.health);
  row.hidden = !match;
  return match;
}

// Reads the rows' data attributes only (no layout), so it stays cheap with a thousand rows.
function countRows(body, filter) {
  const counts = {};
  let shown = 0;
  for (const row of body.children) {
    counts[row.dataset.health] = (counts[row.dataset.health] ?? 0) + 1;
    if (!row.hidden) shown += 1;
  }
  document.getElementById("shown").textContent =
    filter.text || filter.health ? `${shown} of ${body.children.length} shown` : "";
  for (const count of document.querySelectorAll("#summary .count")) {
    count.querySelector(".number").textContent = counts[count.dataset.health] ?? 0;
  }
}

function applyFilter() {
  const body = document.getElementById("fleet-rows");
  if (!body) return;
  const filter = filterOf();
  for (const row of body.children) showIfMatching(row, filter);
  countRows(body, filter);
}

function comesBefore(row, other) {
  return (row.dataset.rank - other.dataset.rank || row.dataset.sort.localeCompare(other.dataset.sort)) < 0;
}

// Moves one changed row to its place (trouble first), leaving the others where they are.
function place(body, row) {
  const next = [...body.children].find((other) => other !== row && comesBefore(row, other));
  if (next !== row.nextElementSibling || row.parentElement !== body) body.insertBefore(row, next ?? null);
}

function tickAgesIn(element) {
  const now = Date.now();
  for (const time of element.querySelectorAll("time[data-relative]")) {
    const seconds = Math.trunc((Date.parse(time.getAttribute("datetime")) - now) / 1000);
    const text = durationText(Math.abs(seconds));
    time.textContent = seconds > 0 ? `in ${text}` : `${text} ago`;
  }
}

function endWith(stream) {
  // The session ended (expired, or its token was revoked): say so, stop following.
  stream.addEventListener("ended", (event) => {
    stream.close();
    say(`Your session ended: ${event.data}. This page no longer changes.`, true);
    document.body.dataset.live = "ended";
  });
}

function followFleet(body) {
  // From the change the page was rendered at: nothing between the two is missed.
  const stream = new EventSource(`/events?since=${body.dataset.since}`);
  stream.addEventListener("row", (event) => {
    const change = JSON.parse(event.data);
    const holder = document.createElement("tbody");
    holder.innerHTML = change.html;
    const row = holder.firstElementChild;
    const old = document.getElementById(change.key);
    if (old) old.replaceWith(row); else body.appendChild(row);
    document.getElementById("empty")?.remove();
    place(body, row);
    const filter = filterOf();
    showIfMatching(row, filter);
    countRows(body, filter);
    tickAgesIn(row);
  });
  stream.addEventListener("gone", (event) => {
    document.getElementById(JSON.parse(event.data).key)?.remove();
    countRows(body, filterOf());
  });
  stream.addEventListener("reload", () => location.reload());
  endWith(stream);
  document.body.dataset.live = "following";
  stream.addEventListener("ready", () => { document.body.dataset.live = "ready"; });
}

function followObject(panel) {
  const key = encodeURIComponent(panel.dataset.key);
  const stream = new EventSource(`/events?key=${key}&since=${panel.dataset.since}`);
  let pending = false;
  const refresh = async () => {
    pending = false;
    const answer = await fetch(panel.dataset.url, { headers: { Accept: "text/html" } });
    if (answer.ok) {
      panel.innerHTML = await answer.text();
      tickAgesIn(panel);
    } else {
      say(`this page could not be brought up to date (the console answered ${answer.status}); reload it`, true);
    }
  };
  stream.addEventListener("row", () => {
    if (!pending) { pending = true; setTimeout(refresh, 300); }
  });
  endWith(stream);
  stream.addEventListener("gone", () => {
    say("This object was deleted; its page no longer changes.", true);
    for (const button of document.querySelectorAll(".actions button")) button.disabled = true;
  });
  stream.addEventListener("ready", () => { document.body.dataset.live = "ready"; });
}

const FOLLOW_MS = 2000;

function followRun(part) {
  // A restore going on in the console: its part of the page is fetched again until it ends.
  const next = async () => {
    const answer = await fetch(part.dataset.refresh, { headers: { Accept: "text/html" } });
    if (!answer.ok) {
      say(`this page could not be brought up to date (the console answered ${answer.status}); reload it`, true);
      return;
    }
    const holder = document.createElement("div");
    holder.innerHTML = await answer.text();
    const fresh = holder.querySelector("#in-place-state");
    part.replaceWith(fresh);
    if (fresh.dataset.refresh) followRun(fresh);
    else say(fresh.querySelector("#in-place-run")?.textContent ?? "", Boolean(fresh.querySelector("#in-place-failure")));
  };
  setTimeout(next, FOLLOW_MS);
}

function setUpActions() {
  for (const form of document.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const answer = await fetch(form.action, {
          method: "POST",
          headers: { "X-CSRF-Token": csrfToken, Accept: "application/json" },
        });
        const said = await answer.json().catch(() => ({ error: `the console answered ${answer.status}` }));
        say(said.message ?? said.error, !answer.ok);
        if (answer.ok && /\/(pause|resume)$/.test(form.action)) setTimeout(() => location.reload(), 600);
      } catch (error) {
        say(`the console cannot be reached (${error})`, true);
      } finally {
        button.disabled = false;
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setUpTheme();
  setUpActions();
  tickAges();
  setInterval(tickAges, 5000);
  const body = document.getElementById("fleet-rows");
  if (body) {
    const params = new URLSearchParams(location.search);
    document.getElementById("filter").value = params.get("q") ?? "";
    document.getElementById("health-filter").value = params.get("health") ?? "";
    for (const id of ["filter", "health-filter"]) {
      document.getElementById(id).addEventListener("input", applyFilter);
    }
    applyFilter();
    followFleet(body);
  }
  const panel = document.getElementById("panel");
  if (panel) followObject(panel);
  const run = document.querySelector("#in-place-state[data-refresh]");
  if (run) followRun(run);
});
