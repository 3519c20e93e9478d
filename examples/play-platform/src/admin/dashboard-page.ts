/**
 * The dashboard: one self-contained page (inline CSS and JS, nothing fetched
 * from elsewhere) that follows `/api/stream` and draws the edge's traffic, a
 * Hystrix-style circuit grid, the bulkheads, the events pipeline and the
 * stream processor's state per partition (lag, state size, restore time, last
 * checkpoint), its output, and the chaos controls.
 */
export function dashboardPage(token: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backlot · Play platform dashboard</title>
<style>
  :root { --bg:#14171c; --panel:#1d2229; --line:#2c333d; --text:#dfe4ea; --dim:#8b96a3;
    --ok:#3cba54; --warn:#f4b400; --bad:#e0443e; --blue:#4a90e2; --purple:#a070e0; --teal:#2bb5a8; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--text); }
  header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0; }
  header .mode, header .live { color: var(--dim); }
  .dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--bad); margin-right: 4px; }
  .dot.on { background: var(--ok); }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; padding: 14px 20px; }
  section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--dim); margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  th { color: var(--dim); font-weight: 500; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(205px, 1fr)); gap: 8px; }
  .card { border: 1px solid var(--line); border-radius: 5px; padding: 8px; position: relative; background: #181c22; }
  .card[data-circuit="open"] { border-color: var(--bad); box-shadow: 0 0 0 1px var(--bad) inset; }
  .card[data-circuit="half-open"] { border-color: var(--warn); }
  .card .name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding-right: 34px; }
  .card .api { color: var(--dim); font-size: 11px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding-right: 34px; }
  .card .health { position: absolute; right: 8px; top: 8px; border-radius: 50%; opacity: .75; }
  .card .rate { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
  .card .rate small { font-size: 12px; color: var(--dim); font-weight: 400; }
  .counts { display: grid; grid-template-columns: repeat(3, 1fr); font-variant-numeric: tabular-nums; margin: 4px 0; }
  .c-success { color: var(--ok); } .c-short { color: var(--blue); } .c-timeout { color: var(--warn); }
  .c-rejected { color: var(--purple); } .c-failure { color: var(--bad); } .c-fallback { color: var(--teal); }
  .circuit { font-weight: 600; }
  .circuit.closed { color: var(--ok); } .circuit.open { color: var(--bad); } .circuit.half-open { color: var(--warn); }
  .lat { color: var(--dim); font-variant-numeric: tabular-nums; }
  .bar { height: 8px; background: #0f1216; border-radius: 4px; overflow: hidden; }
  .bar > div { height: 100%; background: var(--blue); }
  button { background: #2a313b; color: var(--text); border: 1px solid #3a434f; border-radius: 4px; padding: 3px 8px; cursor: pointer; font: inherit; }
  button:hover:not(:disabled) { background: #36404c; }
  button:disabled { opacity: .4; cursor: default; }
  button.danger { border-color: #7a2b28; }
  .state-ok { color: var(--ok); } .state-bad { color: var(--bad); } .state-warn { color: var(--warn); }
  ol { margin: 0; padding-left: 20px; } li { margin: 1px 0; }
  .cols { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; }
  .muted { color: var(--dim); }
  #toast { color: var(--warn); min-height: 1.4em; }
  .trace { margin-bottom: 10px; }
  .trace .title { color: var(--dim); margin-bottom: 2px; }
  .span { display: grid; grid-template-columns: 320px 1fr 70px; align-items: center; gap: 6px; font-size: 12px; }
  .span .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .span .track { position: relative; height: 10px; }
  .span .track > div { position: absolute; height: 100%; min-width: 2px; border-radius: 2px; background: var(--blue); }
  .span.server .track > div { background: var(--teal); } .span.client .track > div { background: var(--purple); }
  .span.producer .track > div, .span.consumer .track > div { background: var(--warn); }
  .span.error .track > div { background: var(--bad); }
  .span .dur { text-align: right; color: var(--dim); font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<header>
  <h1>Backlot · Play platform</h1>
  <span class="mode" id="mode">connecting…</span>
  <span class="live"><span class="dot" id="dot"></span><span id="updated">–</span></span>
</header>
<main>
  <section class="wide">
    <h2>Edge: gateway traffic per route <span class="muted" id="edge-kind"></span></h2>
    <table id="routes"><thead><tr><th>route</th><th>req/s</th><th>2xx</th><th>4xx</th><th>5xx</th><th>error %</th><th>shed/s</th><th>in flight</th><th>p50</th><th>p99</th><th title="rate limit store failed: requests let through (failOpen) / answered 503 (failClosed)">limit fallbacks</th></tr></thead><tbody></tbody></table>
    <div id="instances" style="margin-top:8px"></div>
    <div class="muted" style="margin-top:4px">rate-limit store errors since start: <span id="store-errors">0</span></div>
  </section>
  <section class="wide">
    <h2>Circuits: one card per command (rolling 10 s window)</h2>
    <p class="muted" style="margin:0 0 8px">counts: <span class="c-success">success</span> · <span class="c-short">short-circuited</span> · <span class="c-timeout">timeout</span> /
      <span class="c-rejected">rejected (bulkhead)</span> · <span class="c-failure">failure</span> · <span class="c-fallback">fallback served</span>; the circle grows with the rate, its colour is the error rate</p>
    <div class="grid" id="circuits"></div>
  </section>
  <section>
    <h2>Bulkheads (groups)</h2>
    <table id="groups"><thead><tr><th>group</th><th>use</th><th>active / limit</th><th>queued</th><th>peak</th><th>rejected</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Chaos controls</h2>
    <table id="services"><thead><tr><th>service</th><th>state</th><th></th></tr></thead><tbody></tbody></table>
    <p style="margin:8px 0 0">
      <button data-action="heal-all">heal all services</button>
      <button data-action="broker-stop" class="danger" disabled>stop broker</button>
      <button data-action="broker-start" disabled>start broker</button>
      <span class="muted" id="broker"></span>
    </p>
    <div id="toast"></div>
  </section>
  <section>
    <h2>Events pipeline</h2>
    <table id="producers"><thead><tr><th>producer</th><th>emitted</th><th>sent</th><th>spooled</th><th>pending</th><th>ack p99</th><th>state</th></tr></thead><tbody></tbody></table>
    <table id="pipeline" style="margin-top:8px"><tbody></tbody></table>
    <h2 style="margin-top:10px">Stream state: checkpointed windows per partition</h2>
    <table id="partitions"><thead><tr><th>partition</th><th>lag</th><th>open windows</th><th>state size</th><th>restore</th><th>last checkpoint</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Stream output: trending and continue watching</h2>
    <div class="cols" id="trending"></div>
    <div class="cols" id="continue" style="margin-top:8px"></div>
    <h2 style="margin-top:10px">Latest events</h2>
    <ol id="recent" class="muted"></ol>
  </section>
  <section class="wide">
    <h2>Latest plays: one trace each (OpenTelemetry, this process: Play API → commands → services → events → stream processor)</h2>
    <div id="traces" class="muted">no trace yet: npm run play</div>
  </section>
</main>
<script>
"use strict";
const TOKEN = ${JSON.stringify(token)};
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const num = (n, d = 0) => (n === null || n === undefined || Number.isNaN(n) ? "–" : Number(n).toFixed(d));
const ms = (n) => (n === null || n === undefined ? "–" : n === Infinity ? "&gt;10 s" : n < 10 ? n.toFixed(1) + " ms" : Math.round(n) + " ms");
const healthColor = (p) => (p >= 50 ? "var(--bad)" : p >= 10 ? "var(--warn)" : "var(--ok)");
let last;

async function chaos(path, body) {
  const res = await fetch("/api/chaos/" + path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-chaos-token": TOKEN },
    body: JSON.stringify(body || {}),
  });
  const answer = await res.json().catch(() => ({}));
  $("toast").textContent = res.ok ? "" : answer.message || answer.error || "failed (" + res.status + ")";
  return answer;
}
document.addEventListener("click", async (event) => {
  const b = event.target.closest("button[data-action]");
  if (!b || b.disabled) return;
  const { action, service, index } = b.dataset;
  b.disabled = true;
  try {
    if (action === "heal-all") await chaos("heal");
    else if (action === "broker-stop") await chaos("broker/stop");
    else if (action === "broker-start") await chaos("broker/start");
    else if (action === "kill") await chaos("gateway/" + index + "/kill");
    else if (action === "slow") await chaos("service/" + service, { latencyMs: 1000 });
    else if (action === "errors") await chaos("service/" + service, { failureRate: 0.5 });
    else if (action === "down") await chaos("service/" + service, { down: true });
    else if (action === "heal") await chaos("service/" + service, { latencyMs: 0, failureRate: 0, down: false });
  } finally {
    b.disabled = false;
    if (last) render(last);
  }
});

function renderServices(s) {
  const body = $("services").tBodies[0];
  if (body.rows.length !== s.services.length) {
    body.innerHTML = s.services.map((svc) =>
      '<tr data-service="' + esc(svc.name) + '"><td>' + esc(svc.name) + '</td><td class="state"></td><td>' +
      ["slow", "errors", "down", "heal"].map((a) =>
        '<button data-action="' + a + '" data-service="' + esc(svc.name) + '">' +
        { slow: "+1 s", errors: "50 % errors", down: "down", heal: "heal" }[a] + "</button>").join(" ") +
      "</td></tr>").join("");
  }
  s.services.forEach((svc, i) => {
    const c = svc.chaos;
    const cell = body.rows[i].cells[1];
    const state = c.down ? ["down", "state-bad"] : c.failureRate > 0 ? ["failing " + Math.round(c.failureRate * 100) + " %", "state-bad"]
      : c.latencyMs > 0 ? ["+" + c.latencyMs + " ms", "state-warn"] : ["healthy", "state-ok"];
    cell.textContent = state[0];
    cell.className = "state " + state[1];
  });
  const broker = s.chaos.broker;
  document.querySelector('[data-action="broker-stop"]').disabled = !broker.available || broker.stopped;
  document.querySelector('[data-action="broker-start"]').disabled = !broker.available || !broker.stopped;
  $("broker").textContent = broker.available ? "broker " + broker.brokers.join(",") + (broker.stopped ? " stopped" : " up") : "(broker controls: real mode only)";
}

function renderCircuits(s) {
  const grid = $("circuits");
  const shown = s.commands.filter((c) => c.api === "v1" || c.cumulative.success + c.cumulative.failure + c.cumulative.shortCircuited + c.cumulative.timeout > 0);
  for (const c of shown) {
    const id = "circuit-" + c.api + "-" + c.key;
    let card = document.getElementById(id);
    if (!card) {
      card = document.createElement("div");
      card.className = "card";
      card.id = id;
      card.dataset.key = c.key;
      card.dataset.api = c.api;
      grid.appendChild(card);
    }
    card.dataset.circuit = c.circuit;
    const size = 10 + Math.min(26, Math.log2(1 + c.rps) * 4);
    const k = c.counts;
    card.innerHTML =
      '<div class="health" style="width:' + size + "px;height:" + size + "px;background:" + healthColor(c.errorPercent) + '"></div>' +
      '<div class="name">' + esc(c.key) + '</div><div class="api">' + esc(c.api) + " · group " + esc(c.group) + "</div>" +
      '<div class="rate">' + num(c.rps, 1) + "<small> /s &nbsp; " + num(c.errorPercent) + " % err</small></div>" +
      '<div class="counts"><span class="c-success" title="success">' + k.success + '</span><span class="c-short" title="short-circuited">' + k.shortCircuited +
      '</span><span class="c-timeout" title="timeout">' + k.timeout + '</span><span class="c-rejected" title="rejected (bulkhead)">' + k.rejected +
      '</span><span class="c-failure" title="failure">' + k.failure + '</span><span class="c-fallback" title="fallback served">' + k.fallbackSuccess + "</span></div>" +
      '<div>Circuit <span class="circuit ' + c.circuit + '">' + ({ closed: "Closed", open: "Open", "half-open": "Half-open" })[c.circuit] + "</span>" +
      ' <span class="muted">· ' + c.concurrent + " running</span></div>" +
      '<div class="lat">p50 ' + ms(c.latencyMs.p50) + " · p90 " + ms(c.latencyMs.p90) + " · p99 " + ms(c.latencyMs.p99) + "</div>";
  }
}

const bytes = (n) => (n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KiB" : (n / 1048576).toFixed(1) + " MiB");
const age = (at, now) => (at === undefined || at === null ? "none yet" : ((now - at) / 1000).toFixed(1) + " s ago");

// The stream processor's state per owned partition (real mode: checkpointed to Kafka with the offsets).
function renderPartitions(s) {
  const parts = (s.events.pipeline && s.events.pipeline.partitions) || [];
  $("partitions").tBodies[0].innerHTML = parts.map((p) => {
    const id = p.topic + "/" + p.partition;
    return '<tr data-partition="' + esc(id) + '"><td>' + esc(id) + '</td><td class="lag">' + (p.lag === undefined || p.lag === null ? "–" : p.lag) +
      '</td><td class="entries">' + p.stateEntries + '</td><td class="state-bytes">' + bytes(p.stateBytes) +
      '</td><td class="restore">' + ms(p.restoreMs) + ' <span class="muted">(' + p.restoredEntries + " entries)</span>" +
      '</td><td class="checkpoint">' + age(p.lastCheckpointAt, s.at) + (p.checkpointOffset === undefined || p.checkpointOffset === null ? "" : ' <span class="muted">at offset ' + esc(p.checkpointOffset) + "</span>") +
      "</td></tr>";
  }).join("") || '<tr><td colspan="6" class="muted">no checkpointed state: real mode (--kafka) checkpoints the trending windows with the offsets</td></tr>';
}

function render(s) {
  last = s;
  $("mode").textContent = s.mode.events + " · " + s.mode.data;
  $("updated").textContent = "updated " + new Date(s.at).toLocaleTimeString();
  $("edge-kind").textContent = s.mode.edge === "fleet" ? "(gateway processes behind the load balancer, summed)" : s.mode.edge === "gateway" ? "(in-process gateway)" : "";
  $("routes").tBodies[0].innerHTML = s.gateway.routes.map((r) =>
    '<tr data-route="' + esc(r.route) + '"><td>' + esc(r.route) + '</td><td class="rps">' + num(r.rps, 1) + "</td><td>" + (r.total["2xx"] || 0) +
    "</td><td>" + (r.total["4xx"] || 0) + "</td><td>" + (r.total["5xx"] || 0) + "</td><td>" + r.errorPercent + "</td><td>" + num(r.shedPerSecond, 1) +
    "</td><td>" + r.inflight + "</td><td>" + (r.p50Ms === null ? "–" : "≤ " + ms(r.p50Ms)) + "</td><td>" + (r.p99Ms === null ? "–" : "≤ " + ms(r.p99Ms)) +
    '</td><td class="fallbacks' + (r.rateLimitFallbacks.failOpen + r.rateLimitFallbacks.failClosed ? " state-bad" : "") + '">' + r.rateLimitFallbacks.failOpen + " open / " + r.rateLimitFallbacks.failClosed + " closed</td></tr>"
  ).join("") || '<tr><td colspan="11" class="muted">no traffic yet: npm run load -- --duration 30</td></tr>';
  $("store-errors").textContent = String(s.gateway.rateLimitStoreErrors);
  $("instances").innerHTML = s.gateway.instances.map((g, i) => {
    const b = s.gateway.backends[i];
    return '<span style="margin-right:14px">' + esc(g.name) + ' <span class="' + (g.up ? "state-ok" : "state-bad") + '">' + (g.up ? "up" : "down") + "</span> · " + g.requests + " requests" +
      (b ? " · LB " + (b.healthy ? "healthy" : "out") + ", " + b.accepted + " conns" : "") +
      (s.chaos.gatewayKill && g.up ? ' <button class="danger" data-action="kill" data-index="' + i + '">kill</button>' : "") + "</span>";
  }).join("");
  renderCircuits(s);
  $("groups").tBodies[0].innerHTML = s.groups.filter((g) => g.api === "v1").map((g) =>
    "<tr><td>" + esc(g.group) + '</td><td style="width:30%"><div class="bar"><div style="width:' + Math.min(100, (100 * g.rollingMaxActive) / g.limit) + '%"></div></div></td><td>' +
    g.active + " / " + g.limit + "</td><td>" + g.queued + "</td><td>" + g.rollingMaxActive + '</td><td class="' + (g.rejected ? "state-bad" : "") + '">' + g.rejected + "</td></tr>").join("");
  renderServices(s);
  $("producers").tBodies[0].innerHTML = Object.entries(s.events.producers).map(([name, p]) =>
    "<tr><td>" + esc(name) + "</td><td>" + p.emitted + "</td><td>" + p.sent + "</td><td>" + p.spooled + "</td><td>" + p.spoolPending + "</td><td>" + ms(p.ackLatencyMs.p99) +
    '</td><td class="' + (p.degraded ? "state-bad" : "state-ok") + '">' + (p.degraded ? "degraded" : "ok") + "</td></tr>").join("");
  const pl = s.events.pipeline;
  $("pipeline").tBodies[0].innerHTML = pl ? "<tr><td>stream processor</td><td>consumed <b id='consumed'>" + pl.consumed + "</b></td><td>processed " + pl.processed +
    "</td><td>lag " + pl.lag + "</td><td>sink flushes " + pl.sinkFlushes + "</td><td>late " + pl.late + "</td><td>e2e p99 " + ms(pl.latencyMs.p99) + "</td></tr>" : "";
  renderPartitions(s);
  $("trending").innerHTML = Object.entries(s.views.trending).map(([country, titles]) =>
    "<div><b>Trending in " + esc(country) + "</b><ol>" + (titles.slice(0, 5).map((t) => "<li>" + esc(t.name) + ' <span class="muted">' + t.plays + "</span></li>").join("") || '<li class="muted">–</li>') + "</ol></div>").join("");
  $("continue").innerHTML = Object.entries(s.views.continueWatching).map(([profile, titles]) =>
    "<div><b>Continue watching · " + esc(profile) + "</b><ol>" + (titles.slice(0, 4).map((t) => "<li>" + esc(t.name) + ' <span class="muted">' + Math.round(t.positionMs / 60000) + " min</span></li>").join("") || '<li class="muted">–</li>') + "</ol></div>").join("");
  $("recent").innerHTML = s.events.recent.map((e) => "<li>" + esc(e.name) + " · " + esc(e.profileId) + (e.titleId ? " · " + esc(e.titleId) : "") + "</li>").join("");
}

function renderTraces(answer) {
  if (!answer.tracing) { $("traces").textContent = "tracing is off (--trace-sample 0)"; return; }
  if (answer.traces.length === 0) return;
  $("traces").innerHTML = answer.traces.map((t) =>
    '<div class="trace"><div class="title">trace ' + esc(t.traceId) + " · " + new Date(t.startedAt).toLocaleTimeString() + " · " + ms(t.durationMs) + " · " + t.spans.length + " spans</div>" +
    t.spans.map((sp) => {
      const left = t.durationMs > 0 ? (100 * sp.offsetMs) / t.durationMs : 0;
      const width = t.durationMs > 0 ? (100 * sp.durationMs) / t.durationMs : 100;
      return '<div class="span ' + esc(sp.kind) + (sp.error ? " error" : "") + '"><span class="label" title="' + esc(sp.scope) + '" style="padding-left:' + (sp.depth * 10) + 'px">' + esc(sp.name) +
        '</span><span class="track"><div style="left:' + left.toFixed(2) + "%;width:" + width.toFixed(2) + '%"></div></span><span class="dur">' + ms(sp.durationMs) + "</span></div>";
    }).join("") + "</div>").join("");
}
async function pollTraces() {
  try {
    const res = await fetch("/api/traces");
    if (res.ok) renderTraces(await res.json());
  } catch {}
  setTimeout(pollTraces, 2000);
}
pollTraces();

function follow() {
  const source = new EventSource("/api/stream");
  source.onmessage = (m) => { $("dot").className = "dot on"; render(JSON.parse(m.data)); };
  source.onerror = () => { $("dot").className = "dot"; };
}
follow();
</script>
</body>
</html>
`;
}
