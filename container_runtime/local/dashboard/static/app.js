// container-runtime dashboard: one page, routed by the URL's hash, reading the server's JSON routes.
// Charts are plain SVG drawn here: nothing is loaded from the internet.
"use strict";

const params = new URLSearchParams(location.search);
if (params.get("token")) sessionStorage.setItem("dashboard-token", params.get("token"));
const TOKEN = sessionStorage.getItem("dashboard-token") || "";
let timers = [];
let generation = 0;

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
}
function fmtNum(v) {
  if (typeof v !== "number" || !isFinite(v)) return v == null ? "–" : esc(v);
  return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
function fmtDuration(s) {
  if (typeof s !== "number") return "–";
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
}
function fmtTime(t) {
  return t ? esc(String(t).replace("T", " ").replace(/\.\d+/, "").replace("+00:00", " UTC")) : "–";
}
function statusCell(status) { return `<span class="status status-${esc(status)}">${esc(status)}</span>`; }
async function api(path) {
  const response = await fetch(path, {cache: "no-store"});
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}
async function act(path, body, contentType) {
  const headers = {"X-Dashboard-Token": TOKEN};
  if (contentType) headers["Content-Type"] = contentType;
  const response = await fetch(path, {method: "POST", headers, body});
  const answer = await response.json();
  return {ok: response.ok, status: response.status, body: answer};
}
function every(ms, fn) { timers.push(setInterval(fn, ms)); }
function main() { return document.getElementById("main"); }
function showError(error) { main().innerHTML = `<p class="error">${esc(error.message || error)}</p>`; }

// ---------- SVG charts ----------
const W = 420, H = 220, PAD = {l: 48, r: 12, t: 14, b: 28};
function scale(min, max, a, b) {
  if (min === max) { min -= 1; max += 1; }
  return v => a + (v - min) / (max - min) * (b - a);
}
function axes(xmin, xmax, ymin, ymax, xlabel) {
  const y = scale(ymin, ymax, H - PAD.b, PAD.t);
  let out = `<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#aab"/>`;
  out += `<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" stroke="#aab"/>`;
  for (const v of [ymin, (ymin + ymax) / 2, ymax]) out += `<text x="${PAD.l - 4}" y="${y(v) + 3}" text-anchor="end">${fmtNum(v)}</text>`;
  out += `<text x="${PAD.l}" y="${H - 8}">${fmtNum(xmin)}</text><text x="${W - PAD.r}" y="${H - 8}" text-anchor="end">${fmtNum(xmax)}</text>`;
  out += `<text x="${(W + PAD.l) / 2}" y="${H - 8}" text-anchor="middle">${esc(xlabel)}</text>`;
  return out;
}
// lines: [{points: [[x, y]...], color, dots, name}]
function lineChart(id, lines, xlabel, attrs) {
  const all = lines.flatMap(l => l.points);
  if (!all.length) return `<svg class="chart" id="${esc(id)}" data-points="0" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><text x="${W / 2}" y="${H / 2}" text-anchor="middle">no values yet</text></svg>`;
  const xs = all.map(p => p[0]), ys = all.map(p => p[1]);
  const [xmin, xmax, ymin, ymax] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const x = scale(xmin, xmax, PAD.l, W - PAD.r), y = scale(ymin, ymax, H - PAD.b, PAD.t);
  let body = axes(xmin, xmax, ymin, ymax, xlabel);
  for (const line of lines) {
    const d = line.points.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
    body += `<path d="${d}" fill="none" stroke="${line.color}" stroke-width="1.5"${line.step ? "" : ""}/>`;
    if (line.dots) for (const p of line.points) body += `<circle class="point" cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="2.5" fill="${line.color}"/>`;
  }
  const legend = lines.map((l, i) => `<text x="${W - PAD.r}" y="${PAD.t + 10 * i}" text-anchor="end" style="fill:${l.color}">${esc(l.name || "")}</text>`).join("");
  return `<svg class="chart" id="${esc(id)}" data-points="${lines[0].points.length}" ${attrs || ""} viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${body}${legend}</svg>`;
}
function barChart(id, entries) {
  if (!entries.length) return `<p class="muted">needs three trials with an objective</p>`;
  const rowH = 22, height = entries.length * rowH + 10, max = Math.max(...entries.map(e => e[1]), 1e-9);
  let body = "";
  entries.forEach(([name, value], i) => {
    const w = (W - 170) * value / max;
    body += `<text x="120" y="${i * rowH + 18}" text-anchor="end">${esc(name)}</text>`;
    body += `<rect x="126" y="${i * rowH + 6}" width="${w.toFixed(1)}" height="14" fill="#0969da"/>`;
    body += `<text x="${130 + w}" y="${i * rowH + 18}">${(value * 100).toFixed(0)}%</text>`;
  });
  return `<svg class="chart" id="${esc(id)}" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}">${body}</svg>`;
}
function parallelChart(id, trials, names, objectiveName, best) {
  const axesNames = [...names, "objective"];
  const scored = trials.filter(t => typeof t.objective === "number");
  if (!scored.length || !names.length) return `<p class="muted">no trial with an objective yet</p>`;
  const width = Math.max(W, axesNames.length * 110 + 40), xstep = (width - 100) / Math.max(axesNames.length - 1, 1);
  const value = (t, n) => n === "objective" ? t.objective : t.params[n];
  const scales = axesNames.map(n => {
    const vals = scored.map(t => value(t, n));
    if (vals.every(v => typeof v === "number")) {
      const s = scale(Math.min(...vals), Math.max(...vals), H - PAD.b, PAD.t);
      return {f: s, ticks: [Math.min(...vals), Math.max(...vals)]};
    }
    const cats = [...new Set(vals.map(String))].sort();
    const s = scale(0, Math.max(cats.length - 1, 1), H - PAD.b, PAD.t);
    return {f: v => s(cats.indexOf(String(v))), ticks: cats, cats: true};
  });
  const objs = scored.map(t => t.objective), color = scale(Math.min(...objs), Math.max(...objs), 0, 1);
  let body = "";
  for (const t of scored) {
    const d = axesNames.map((n, i) => `${i ? "L" : "M"}${(30 + i * xstep).toFixed(1)},${scales[i].f(value(t, n)).toFixed(1)}`).join("");
    const c = t.job === best ? "#ff9900" : `hsl(${(220 - 200 * color(t.objective)).toFixed(0)},70%,50%)`;
    body += `<path d="${d}" fill="none" stroke="${c}" stroke-opacity="${t.job === best ? 1 : 0.45}" stroke-width="${t.job === best ? 3 : 1}"/>`;
  }
  axesNames.forEach((n, i) => {
    const x = 30 + i * xstep;
    body += `<line x1="${x}" y1="${PAD.t}" x2="${x}" y2="${H - PAD.b}" stroke="#555"/>`;
    body += `<text x="${x}" y="${H - 8}" text-anchor="middle">${esc(n === "objective" ? objectiveName || n : n)}</text>`;
    if (scales[i].cats) scales[i].ticks.forEach(c => { body += `<text x="${x + 3}" y="${scales[i].f(c) + 3}">${esc(c)}</text>`; });
    else scales[i].ticks.forEach(v => { body += `<text x="${x + 3}" y="${scales[i].f(v) + 3}">${fmtNum(v)}</text>`; });
  });
  return `<svg class="chart" id="${esc(id)}" viewBox="0 0 ${width} ${H}" width="${width}" height="${H}">${body}</svg>`;
}

// ---------- Training jobs ----------
const jobFilters = {status: "", name: ""};
async function jobsPage(gen) {
  main().innerHTML = `<h1>Training jobs</h1>
    <div class="filters">
      <label>Status <select id="filter-status"><option value="">all</option><option>InProgress</option><option>Completed</option><option>Failed</option><option>Stopped</option><option>Unreadable</option></select></label>
      <label>Name <input id="filter-name" placeholder="contains…"></label>
      <span id="jobs-count" class="muted"></span>
    </div>
    <table id="jobs-table"><thead><tr><th>Name</th><th>Status</th><th>Backend</th><th>Hosts</th><th>Start</th><th>Duration</th><th>Final metrics</th></tr></thead><tbody></tbody></table>`;
  const status = document.getElementById("filter-status"), name = document.getElementById("filter-name");
  status.value = jobFilters.status; name.value = jobFilters.name;
  let rows = [];
  const draw = () => {
    jobFilters.status = status.value; jobFilters.name = name.value;
    const shown = rows.filter(r => (!status.value || r.status === status.value) && r.name.includes(name.value));
    document.querySelector("#jobs-table tbody").innerHTML = shown.map(r => `<tr data-name="${esc(r.name)}" data-status="${esc(r.status)}">
      <td><a href="#/jobs/${encodeURIComponent(r.name)}">${esc(r.name)}</a></td><td>${statusCell(r.status)}${r.error ? ` <span class="error">${esc(r.error)}</span>` : ""}</td>
      <td>${esc(r.backend ?? "–")}</td><td>${fmtNum(r.hosts)}</td><td>${fmtTime(r.start)}</td><td>${fmtDuration(r.duration)}</td>
      <td>${Object.entries(r.metrics || {}).map(([k, v]) => `${esc(k)}=${fmtNum(v)}`).join(", ")}</td></tr>`).join("");
    document.getElementById("jobs-count").textContent = `${shown.length} of ${rows.length} jobs`;
  };
  status.onchange = draw; name.oninput = draw;
  const load = async () => {
    const data = await api("/api/jobs");
    if (gen !== generation) return;
    rows = data.jobs; draw();
  };
  await load();
  let tick = 0;  // every 2 s while a job runs, else every 10 s (a new job may start)
  every(2000, () => { if (rows.some(r => r.status === "InProgress") || ++tick % 5 === 0) load(); });
}

// ---------- One training job ----------
function kvTable(entries) {
  return `<table class="kv">${entries.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join("")}</table>`;
}
async function jobPage(gen, name, tuning) {
  const query = tuning ? `?tuning=${encodeURIComponent(tuning)}` : "";
  const base = `/api/jobs/${encodeURIComponent(name)}`;
  let detail = await api(base + query);
  if (gen !== generation) return;
  const rec = detail.record || {};
  const hp = rec.HyperParameters || {};
  const channels = rec.InputDataConfig || [];
  main().innerHTML = `<h1>${esc(name)}</h1>
    ${tuning ? `<p>Trial of tuning job <a href="#/tuning/${encodeURIComponent(tuning)}">${esc(tuning)}</a></p>` : ""}
    ${detail.error ? `<p class="error" id="record-error">Record unreadable: ${esc(detail.error)}</p>` : ""}
    <div class="grid">
      <div class="card"><h2>Summary</h2><div id="job-summary"></div>
        ${!tuning && detail.row.status === "InProgress" ? `<p><button class="danger" id="stop-job">Stop job</button> <span id="job-action-message"></span></p>` : ""}</div>
      <div class="card"><h2>Hyperparameters</h2>${kvTable(Object.entries(hp).map(([k, v]) => [k, esc(v)]))}</div>
      <div class="card"><h2>Channels</h2>${kvTable(channels.map(c => [c.ChannelName, esc(c.DataUri)]))}</div>
      <div class="card"><h2>Artifacts</h2>${detail.artifacts.length ? kvTable(detail.artifacts.map(a => [a.name, `<a href="${base}/artifacts/${encodeURIComponent(a.name)}${query}">download</a> (${a.size} bytes)`])) : '<p class="muted">none yet</p>'}</div>
    </div>
    <h2>Metrics</h2><div class="grid" id="charts"></div>
    <h2>Logs</h2><div class="filters"><label>Search <input id="log-search" placeholder="text in the logs"></label><span id="log-hits" class="muted"></span></div>
    <div id="logs">${detail.logs.map(l => `<h3>${esc(l.host)}</h3><pre class="log" id="log-${esc(l.host)}"></pre>`).join("") || '<p class="muted">no logs yet</p>'}</div>`;
  const texts = {}, offsets = {};
  const drawSummary = () => {
    const r = detail.row;
    document.getElementById("job-summary").innerHTML = kvTable([
      ["Status", statusCell(r.status)], ["Backend", esc(r.backend ?? "–")], ["Hosts", fmtNum(r.hosts)],
      ["Start", fmtTime(r.start)], ["Duration", fmtDuration(r.duration)],
      ["Failure reason", r.failure ? `<span class="error" id="failure-reason">${esc(r.failure)}</span>` : "–"],
      ["Final metrics", Object.entries(r.metrics || {}).map(([k, v]) => `${esc(k)}=${fmtNum(v)}`).join(", ") || "–"],
    ]);
  };
  const drawCharts = () => {
    const series = detail.series || {};
    const times = detail.series_times || null;  // seconds since the first match, when the job logged them
    document.getElementById("charts").innerHTML = Object.entries(series).map(([metric, values]) =>
      `<div class="card"><h3>${esc(metric)}</h3>${lineChart("chart-" + metric, [{points: values.map((v, i) => [times ? times[metric][i] : i + 1, v]), color: "#0969da", dots: true}], times ? "seconds since the first value" : "match", `data-metric="${esc(metric)}"`)}</div>`
    ).join("") || (detail.series_error ? `<p class="error">${esc(detail.series_error)}</p>` : '<p class="muted">no metric definitions</p>');
  };
  const drawLog = host => {
    const needle = document.getElementById("log-search").value;
    const pre = document.getElementById("log-" + host);
    let lines = (texts[host] || "").split("\n");
    if (needle) lines = lines.filter(l => l.includes(needle));
    const follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.innerHTML = lines.map(l => needle ? esc(l).split(esc(needle)).join(`<mark>${esc(needle)}</mark>`) : esc(l)).join("\n");
    if (follow) pre.scrollTop = pre.scrollHeight;
    return needle ? lines.filter(l => l).length : 0;
  };
  const drawLogs = () => {
    let hits = 0;
    for (const l of detail.logs) hits += drawLog(l.host);
    document.getElementById("log-hits").textContent = document.getElementById("log-search").value ? `${hits} matching lines` : "";
  };
  const pollLogs = async () => {
    for (const l of detail.logs) {
      const chunk = await api(`${base}/logs/${encodeURIComponent(l.host)}?offset=${offsets[l.host] || 0}${tuning ? "&tuning=" + encodeURIComponent(tuning) : ""}`);
      if (gen !== generation) return;
      if (chunk.text) { texts[l.host] = (texts[l.host] || "") + chunk.text; }
      offsets[l.host] = chunk.next;
    }
    drawLogs();
  };
  document.getElementById("log-search").oninput = drawLogs;
  const stopButton = document.getElementById("stop-job");
  if (stopButton) stopButton.onclick = async () => {
    const message = document.getElementById("job-action-message");
    const answer = await act(`${base}/stop`, "", "");
    message.textContent = answer.ok ? `Stopping (SIGTERM to pid ${answer.body.pid})` : `Refused (${answer.status}): ${answer.body.error}`;
    message.className = answer.ok ? "" : "error";
    message.dataset.status = answer.status;
  };
  drawSummary(); drawCharts(); await pollLogs();
  every(1000, async () => {
    if (detail.row.status !== "InProgress") return;
    const hosts = detail.logs.length;
    detail = await api(base + query);
    if (gen !== generation) return;
    drawSummary(); drawCharts();
    if (detail.logs.length !== hosts) { jobPage(gen, name, tuning); return; }
    await pollLogs();
  });
}

// ---------- Tuning jobs ----------
async function tuningListPage(gen) {
  const data = await api("/api/tuning");
  if (gen !== generation) return;
  main().innerHTML = `<h1>Tuning jobs</h1><table id="tuning-table"><thead><tr><th>Name</th><th>Status</th><th>Jobs</th><th>Best training job</th><th>Completion reason</th></tr></thead><tbody>
    ${data.tuning_jobs.map(t => `<tr data-name="${esc(t.name)}"><td><a href="#/tuning/${encodeURIComponent(t.name)}">${esc(t.name)}</a></td><td>${statusCell(t.status)}${t.error ? ` <span class="error">${esc(t.error)}</span>` : ""}</td>
      <td>${t.counters ? Object.entries(t.counters).filter(([, n]) => n).map(([k, n]) => `${esc(k)} ${n}`).join(", ") : "–"}</td><td>${esc(t.best ?? "–")}</td><td>${esc(t.completion ?? "–")}</td></tr>`).join("")}
    </tbody></table>${data.tuning_jobs.length ? "" : '<p class="muted">no tuning jobs</p>'}`;
}

const trialSort = {key: "number", dir: 1};
const tuningFilters = {};
function matches(filter, value) {
  filter = filter.trim();
  if (!filter) return true;
  const range = filter.match(/^(-?[\d.e+-]*)\.\.(-?[\d.e+-]*)$/);
  const cmp = filter.match(/^(<=|>=|<|>|=)\s*(-?[\d.e+-]+)$/);
  if ((range || cmp) && typeof value === "number") {
    if (range) return (range[1] === "" || value >= +range[1]) && (range[2] === "" || value <= +range[2]);
    const n = +cmp[2];
    return {"<": value < n, ">": value > n, "<=": value <= n, ">=": value >= n, "=": value === n}[cmp[1]];
  }
  return String(value ?? "").toLowerCase().includes(filter.toLowerCase());
}
async function tuningPage(gen, name) {
  let data = await api(`/api/tuning/${encodeURIComponent(name)}`);
  if (gen !== generation) return;
  const d = data.description || {};
  const best = (d.BestTrainingJob || {}).TrainingJobName;
  const columns = [["number", "#"], ["job", "Training job"], ["status", "Status"], ["objective", data.objective_metric || "objective"],
                   ...(data.parameters || []).map(p => ["param:" + p, p]), ["elapsed", "Seconds"]];
  const value = (t, key) => key.startsWith("param:") ? t.params[key.slice(6)] : t[key];
  main().innerHTML = `<h1>${esc(name)}</h1>
    ${data.error ? `<p class="error" id="tuning-error">${esc(data.error)}</p>` : ""}${data.note ? `<p class="muted">${esc(data.note)}</p>` : ""}
    <div class="grid"><div class="card"><h2>Status</h2>${kvTable([
      ["Status", statusCell(d.HyperParameterTuningJobStatus ?? "–")],
      ["Objective", `${esc(data.objective_type ?? "")} ${esc(data.objective_metric ?? "")}`],
      ["Training jobs", `<span class="counters">${Object.entries(d.TrainingJobStatusCounters || {}).map(([k, n]) => `<span>${esc(k)}: <b>${n}</b></span>`).join("")}</span>`],
      ["Objectives", `<span class="counters">${Object.entries(d.ObjectiveStatusCounters || {}).map(([k, n]) => `<span>${esc(k)}: <b>${n}</b></span>`).join("")}</span>`],
      ["Completion reason", esc(d.CompletionReason ?? "–")], ["Failure reason", esc(d.FailureReason ?? "–")],
      ["Best training job", best ? `<a id="best-job" href="#/jobs/${encodeURIComponent(best)}?tuning=${encodeURIComponent(name)}">${esc(best)}</a> (${fmtNum(d.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric?.Value)})` : "–"],
    ])}</div>
    <div class="card"><h2>Objective over trials</h2><div id="objective-chart"></div></div>
    <div class="card"><h2>Parameter importance</h2><div id="importance-chart"></div><p class="muted">share of |Spearman ρ| between each parameter and the objective</p></div>
    </div>
    ${data.optuna_dashboard && !data.note && !data.error ? `<p><button id="open-optuna">Open the study in optuna-dashboard</button> <span id="optuna-message"></span></p>` : ""}
    <div class="card"><h2>Parallel coordinates</h2><div id="parallel-chart" style="overflow-x:auto"></div></div>
    <h2>Trials</h2><p class="muted">Click a heading to sort; filter a column with text, <code>&gt;0.5</code>, <code>&lt;=3</code> or <code>0.1..0.9</code>.</p>
    <table id="trials-table"><thead><tr>${columns.map(([k, label]) => `<th data-key="${esc(k)}">${esc(label)}<span class="arrow"></span></th>`).join("")}</tr>
      <tr class="filter-row">${columns.map(([k]) => `<td><input data-filter="${esc(k)}" size="8"></td>`).join("")}</tr></thead><tbody></tbody></table>`;
  const maximize = data.objective_type !== "Minimize";
  const trials = data.trials || [];
  const scored = trials.filter(t => typeof t.objective === "number").sort((a, b) => a.number - b.number);
  let bestSoFar = null;
  const bestLine = scored.map(t => { bestSoFar = bestSoFar == null || (maximize ? t.objective > bestSoFar : t.objective < bestSoFar) ? t.objective : bestSoFar; return [t.number, bestSoFar]; });
  document.getElementById("objective-chart").innerHTML = lineChart("objective", [
    {points: scored.map(t => [t.number, t.objective]), color: "#8c96a3", dots: true, name: "objective"},
    {points: bestLine, color: "#ff9900", name: "best so far"}], "trial");
  document.getElementById("importance-chart").innerHTML = barChart("importance", Object.entries(data.importance || {}).sort((a, b) => b[1] - a[1]));
  document.getElementById("parallel-chart").innerHTML = parallelChart("parallel", trials, data.parameters || [], data.objective_metric, best);
  const optunaButton = document.getElementById("open-optuna");
  if (optunaButton) optunaButton.onclick = async () => {
    const answer = await act(`/api/tuning/${encodeURIComponent(name)}/optuna-dashboard`, "", "");
    const message = document.getElementById("optuna-message");
    if (answer.ok) { message.innerHTML = `<a id="optuna-link" href="${esc(answer.body.url)}" target="_blank">${esc(answer.body.url)}</a>`; window.open(answer.body.url, "_blank"); }
    else { message.textContent = `Refused (${answer.status}): ${answer.body.error}`; message.className = "error"; }
  };
  const filters = tuningFilters[name] = tuningFilters[name] || {};  // kept across refreshes of a running job
  document.querySelectorAll("#trials-table input").forEach(input => { input.value = filters[input.dataset.filter] || ""; });
  const draw = () => {
    const shown = trials.filter(t => columns.every(([k]) => matches(filters[k] || "", value(t, k))));
    shown.sort((a, b) => {
      const x = value(a, trialSort.key), y = value(b, trialSort.key);
      if (x == null && y == null) return 0;
      if (x == null) return 1;
      if (y == null) return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * trialSort.dir;
    });
    document.querySelector("#trials-table tbody").innerHTML = shown.map(t => `<tr class="${t.best ? "best" : ""}" data-job="${esc(t.job)}">${columns.map(([k]) => {
      const v = value(t, k);
      if (k === "job") return `<td>${t.has_job ? `<a href="#/jobs/${encodeURIComponent(t.job)}?tuning=${encodeURIComponent(name)}">${esc(v)}</a>` : esc(v)}${t.best ? ' <b title="best training job">★ best</b>' : ""}</td>`;
      if (k === "status") return `<td>${statusCell(v)}${t.stop_reason ? ` <span class="muted">${esc(t.stop_reason)}</span>` : ""}</td>`;
      return `<td class="col-${esc(k)}">${typeof v === "number" ? fmtNum(v) : esc(v ?? "–")}</td>`;
    }).join("")}</tr>`).join("");
    document.querySelectorAll("#trials-table th").forEach(th => { th.querySelector(".arrow").textContent = th.dataset.key === trialSort.key ? (trialSort.dir > 0 ? " ▲" : " ▼") : ""; });
  };
  document.querySelectorAll("#trials-table th").forEach(th => th.onclick = () => {
    trialSort.dir = trialSort.key === th.dataset.key ? -trialSort.dir : 1; trialSort.key = th.dataset.key; draw();
  });
  document.querySelectorAll("#trials-table input").forEach(input => input.oninput = () => { filters[input.dataset.filter] = input.value; draw(); });
  draw();
  if (d.HyperParameterTuningJobStatus === "InProgress") every(3000, () => { if (gen === generation && !document.activeElement.matches("input")) route(); });
}

// ---------- Endpoints ----------
async function endpointsPage(gen) {
  const data = await api("/api/endpoints");
  if (gen !== generation) return;
  main().innerHTML = `<h1>Endpoints</h1><table id="endpoints-table"><thead><tr><th>Name</th><th>Status</th><th>URL</th><th>Backend</th><th>Framework</th><th>Model</th><th>Up for</th></tr></thead><tbody>
    ${data.endpoints.map(e => `<tr data-name="${esc(e.name)}"><td><a href="#/endpoints/${encodeURIComponent(e.name)}">${esc(e.name)}</a></td><td>${statusCell(e.status)}${e.error ? ` <span class="error">${esc(e.error)}</span>` : ""}</td>
      <td>${esc(e.url ?? "–")}</td><td>${esc(e.backend ?? "–")}</td><td>${esc(e.framework ?? "–")}</td><td>${esc(e.model_data ?? "–")}</td><td>${fmtDuration(e.uptime)}</td></tr>`).join("")}
    </tbody></table>${data.endpoints.length ? "" : '<p class="muted">no endpoints</p>'}`;
}
async function endpointPage(gen, name) {
  const base = `/api/endpoints/${encodeURIComponent(name)}`;
  main().innerHTML = `<h1>${esc(name)}</h1>
    <div class="grid"><div class="card"><h2>Status</h2><div id="endpoint-status"></div>
      <p><button class="danger" id="stop-endpoint">Stop endpoint</button> <span id="action-message"></span></p></div>
    <div class="card"><h2>Traffic</h2><div id="traffic"></div></div>
    <div class="card"><h2>Invoke</h2><p><label>Content type <input id="invoke-type" value="application/json"></label></p>
      <textarea id="invoke-body" rows="6" cols="48">[[1.0, 2.0]]</textarea><p><button id="invoke-send">Send to /invocations</button></p>
      <pre id="invoke-answer" class="log"></pre></div></div>`;
  let previous = null;
  const rates = [];
  const load = async () => {
    let s;
    try { s = await api(base); } catch (error) { document.getElementById("endpoint-status").innerHTML = `<p class="error">${esc(error.message)}</p>`; return; }
    if (gen !== generation) return;
    document.getElementById("endpoint-status").innerHTML = kvTable([
      ["Status", statusCell(s.status)], ["/ping", `<span id="ping-status">${esc(s.ping.status ?? "no answer")}</span>`], ["URL", esc(s.url)],
      ["Model", esc(s.model_data)], ["Framework (code)", esc(s.framework)], ["Backend", esc(s.backend)],
      ["Started", fmtTime(s.started)], ["Up for", fmtDuration(s.uptime)], ["Serve pid", esc(s.pid)]]);
    const m = s.metrics;
    let rate = "–", latency = "–";
    if (m && previous && previous.metrics) {
      const dt = s.time - previous.time, dn = m.requests - previous.metrics.requests, dc = m.latency_count - previous.metrics.latency_count;
      rate = (dn / dt).toFixed(2) + " req/s";
      latency = dc > 0 ? ((m.latency_sum - previous.metrics.latency_sum) / dc * 1000).toFixed(1) + " ms" : "no requests";
      rates.push([rates.length + 1, dn / dt]);
    }
    document.getElementById("traffic").innerHTML = m ? kvTable([["Requests (total)", `<span id="requests-total">${m.requests}</span>`], ["Request rate", rate], ["Mean latency (last interval)", latency],
      ["Mean latency (all)", m.latency_count ? (m.latency_sum / m.latency_count * 1000).toFixed(1) + " ms" : "–"]]) + lineChart("rate", [{points: rates.slice(-60), color: "#1a7f37", dots: true, name: "req/s"}], "poll")
      : '<p class="muted">serve gives no /metrics</p>';
    previous = s;
  };
  document.getElementById("invoke-send").onclick = async () => {
    const out = document.getElementById("invoke-answer");
    out.textContent = "…";
    const answer = await act(base + "/invocations", document.getElementById("invoke-body").value, document.getElementById("invoke-type").value);
    out.textContent = answer.ok ? `HTTP ${answer.body.status} ${answer.body.content_type}\n${answer.body.body}` : `refused (${answer.status}): ${answer.body.error}`;
    out.dataset.status = answer.ok ? answer.body.status : answer.status;
  };
  document.getElementById("stop-endpoint").onclick = async () => {
    const message = document.getElementById("action-message");
    const answer = await act(base + "/stop", "", "");
    message.textContent = answer.ok ? `Stopped ${answer.body.stopped}` : `Refused (${answer.status}): ${answer.body.error}`;
    message.className = answer.ok ? "" : "error";
    message.dataset.status = answer.status;
  };
  await load();
  every(2000, load);
}

// ---------- Routing ----------
async function route() {
  timers.forEach(clearInterval); timers = [];
  const gen = ++generation;
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const q = new URLSearchParams(query || "");
  const section = parts[0] || "jobs";
  document.querySelectorAll("header nav a").forEach(a => a.classList.toggle("active", a.id === "nav-" + section));
  document.getElementById("token-state").textContent = TOKEN ? "token: given (actions allowed)" : "no token: read only";
  try {
    if (section === "jobs" && parts[1]) await jobPage(gen, parts[1], q.get("tuning"));
    else if (section === "tuning" && parts[1]) await tuningPage(gen, parts[1]);
    else if (section === "tuning") await tuningListPage(gen);
    else if (section === "endpoints" && parts[1]) await endpointPage(gen, parts[1]);
    else if (section === "endpoints") await endpointsPage(gen);
    else await jobsPage(gen);
  } catch (error) { if (gen === generation) showError(error); }
}
window.addEventListener("hashchange", route);
route();
