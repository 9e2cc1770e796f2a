// The audit page: polls the gateway's JSON list of audit entries and shows them newest first.
// Plain DOM, no framework; every value is written with textContent (never parsed as HTML).
"use strict";

const POLL_MS = 500;
const body = document.getElementById("entries");
const counts = document.getElementById("counts");
const filters = document.getElementById("filters");
const entriesUrl = document.body.dataset.entries;
let last = 0;
let generation = 0;
let busy = false;

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined || text === "" ? "-" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
}

function rowFor(e) {
  const row = document.createElement("tr");
  const kind = e.status < 400 ? "ok" : e.status < 500 ? "client" : "server";
  row.className = kind + (e.rule ? " denied" : "");
  row.dataset.requestId = e.request_id;
  const usage = e.usage ? e.usage.prompt_tokens + " / " + e.usage.completion_tokens : "";
  const meta = Object.entries(e.metadata || {}).map(([k, v]) => k + "=" + v).join(" ");
  cell(row, new Date(e.time * 1000).toLocaleTimeString(), "time");
  cell(row, e.status, "status");
  cell(row, e.method + " " + e.route + (e.stream ? " (stream)" : ""), "route");
  cell(row, [e.connection, e.model].filter(Boolean).join(" / "), "connection");
  cell(row, e.user, "user");
  cell(row, e.trace_id, "trace");
  cell(row, usage, "tokens");
  cell(row, e.duration_ms.toFixed(1), "ms");
  cell(row, e.rule ? "rule: " + e.rule : e.error_type, "rule");
  cell(row, meta, "meta");
  cell(row, e.request_id, "id");
  return row;
}

function query() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(filters)) {
    if (String(value).trim()) params.set(name, String(value).trim());
  }
  params.set("after", String(last));
  return params;
}

async function poll() {
  if (busy) return;  // the previous poll is still out
  busy = true;
  const mine = generation;
  try {
    const answer = await fetch(entriesUrl + "?" + query(), { credentials: "same-origin" });
    if (answer.status === 401) { location.reload(); return; }
    const data = await answer.json();
    if (mine !== generation) return;  // the filter changed while this request was out
    for (const entry of data.entries.slice().reverse()) {  // oldest of the batch first
      const row = rowFor(entry);
      if (last > 0) row.classList.add("fresh");
      body.insertBefore(row, body.firstChild);
    }
    last = Math.max(last, data.last);
    counts.textContent = body.rows.length + " shown, " + data.total + " kept, " +
      data.dropped + " dropped (oldest), " + data.unauthenticated + " unauthenticated";
  } catch (err) {
    counts.textContent = "gateway unreachable: " + err;
  } finally {
    busy = false;
  }
}

function restart() {
  generation += 1;
  last = 0;
  body.replaceChildren();
  busy = false;  // the answer of a poll still out is dropped (generation changed)
  poll();
}

filters.addEventListener("input", restart);
filters.addEventListener("reset", () => setTimeout(restart, 0));
filters.addEventListener("submit", (event) => { event.preventDefault(); restart(); });
poll();
setInterval(poll, POLL_MS);
