#include "server/status_page.h"

#include <cstring>

#include <CivetServer.h>
#include <civetweb.h>

namespace easymoney {
namespace {

// The page. Everything it shows is computed in the browser from /metrics, so
// serving it costs the server one write of a constant string and adds no
// state, lock or thread to the request path.
//
// Security: label values (model versions, products, features) come from the
// server's own /metrics but are still only ever inserted with textContent,
// never as HTML. The Content-Security-Policy below forbids every load but the
// page's inline code and fetches from its own origin.
//
// The alert thresholds are copied from deploy/prometheus/alert_rules.yml;
// keep the two in step.
constexpr char kStatusPageHtml[] = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>recommender-server status</title>
<style>
:root { --line: #d8dbe0; --muted: #667085; --bad: #b42318; --bad-bg: #fee4e2; --warn-bg: #fef0c7;
        --canary: #dc6803; --canary-bg: #fffaeb; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #101828;
       max-width: 1180px; margin: 0 auto; padding: 16px 24px 32px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 20px;
         border-bottom: 2px solid var(--line); padding-bottom: 8px; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 15px; margin: 22px 0 6px; }
h2 small, .note, #updated, #serving { color: var(--muted); font-weight: normal; }
#serving b { color: #101828; }
.banner { margin: 12px 0 0; padding: 8px 12px; border-radius: 4px; background: var(--bad-bg);
          color: var(--bad); font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { background: #f2f4f7; font-weight: 600; }
th.group { text-align: center; border-left: 2px solid #fff; }
.l { text-align: left; }
td { font-variant-numeric: tabular-nums; }
td small { color: var(--muted); }
tr.canary td { background: var(--canary-bg); }
tr.canary td:first-child { box-shadow: inset 4px 0 var(--canary); }
tr.old td { color: var(--muted); }
.tag { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; background: #eaecf0; }
tr.canary .tag { background: var(--canary); color: #fff; }
tr td.warn, dd.warn { background: var(--warn-bg); }
tr td.bad, dd.bad { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
dl { display: grid; grid-template-columns: max-content max-content; gap: 3px 18px; margin: 12px 0 0; }
dt { color: var(--muted); }
dd { margin: 0; padding: 0 6px; font-variant-numeric: tabular-nums; }
.note { margin-top: 22px; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>easyMoney recommender</h1>
  <span id="serving">&nbsp;</span>
  <span id="updated" data-fetches="0">waiting for the first read of /metrics</span>
</header>
<div id="banner" class="banner" hidden></div>
<div id="notice" class="banner" hidden></div>
<noscript><p class="banner">This page needs JavaScript: it reads /metrics every 2 s.</p></noscript>

<h2>Versions <small>rates, errors and latency over the last <span id="window">30 s</span></small></h2>
<table id="versions">
<thead><tr><th class="l">Version</th><th class="l">Variant</th><th>Model age</th><th>Requests/s</th>
<th>Server errors</th><th>Client errors</th><th>p50</th><th>p99</th><th>Cold start</th></tr></thead>
<tbody></tbody>
</table>

<h2>KPIs <small>feedback events reported with ReportFeedback</small></h2>
<table id="kpis">
<thead><tr><th class="l" rowspan="2">Version</th><th class="l" rowspan="2">Variant</th>
<th class="group" colspan="3">since this page was opened</th><th class="group" colspan="3">since the server started</th></tr>
<tr><th>Impressions</th><th>CTR</th><th>Conversion</th><th>Impressions</th><th>CTR</th><th>Conversion</th></tr></thead>
<tbody></tbody>
</table>

<h2>Drift <small>population stability index against the training data</small></h2>
<table id="drift"><thead></thead><tbody></tbody></table>
<dl>
  <dt>Cluster reassignment at the last swap</dt><dd id="reassigned">&mdash;</dd>
  <dt>Model load failures</dt><dd id="load-failures">&mdash;</dd>
  <dt>Automatic canary rollbacks</dt><dd id="rollbacks">&mdash;</dd>
  <dt>Customers known to the stable version</dt><dd id="customers">&mdash;</dd>
</dl>

<p class="note">Computed in this browser from <span id="source">/metrics</span> of this one server, read every
2 s. Highlighted as in deploy/prometheus/alert_rules.yml: p99 above 1 ms (canary: also 1.5 &times; and 1 ms
above the stable's), server errors above 1 %, model trained more than 35 days ago, PSI above 0.2 (0.1 to
0.2: watch), load failures and rollbacks since the page was opened, a canary converting worse than the
stable (z &ge; 3, 10 % lower, &ge; 1,000 impressions). &mdash; : not exported by this server.</p>

<script>
'use strict';
const REFRESH_MS = 2000, WINDOW_MS = 30000;
const P99_MAX_S = 0.001, ERROR_RATIO_MAX = 0.01, PSI_WATCH = 0.1, PSI_MAX = 0.2, AGE_MAX_S = 35 * 86400;
// The gRPC codes that are the server's fault (recording_rules.yml).
const SERVER_ERRORS = new Set(['UNKNOWN', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'INTERNAL',
                               'UNAVAILABLE', 'DATA_LOSS']);
const DASH = '\u2014';
// /status -> /metrics, also behind a proxy that adds a path prefix.
const METRICS_URL = location.pathname.replace(/status\/?$/, 'metrics');

// Prometheus text format 0.0.4 -> Map(name -> [{labels, key, value}]).
function parseValue(text) {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}
function parseMetrics(text) {
  const samples = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line[0] === '#') continue;
    let i = 0;
    while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
    const name = line.slice(0, i);
    const labels = {};
    if (line[i] === '{') {
      i++;
      for (;;) {
        while (line[i] === ' ' || line[i] === ',') i++;
        if (i >= line.length) throw new Error('unterminated labels: ' + line);
        if (line[i] === '}') { i++; break; }
        const eq = line.indexOf('=', i);
        if (eq < 0 || line[eq + 1] !== '"') throw new Error('bad label: ' + line);
        const key = line.slice(i, eq).trim();
        let value = '';
        for (i = eq + 2; i < line.length && line[i] !== '"'; i++) {
          if (line[i] === '\\') { i++; value += line[i] === 'n' ? '\n' : line[i]; } else value += line[i];
        }
        i++;
        labels[key] = value;
      }
    }
    const value = parseValue(line.slice(i).trim().split(/\s+/)[0]);
    const key = Object.keys(labels).sort().map(k => k + '=' + labels[k]).join('\u0001');
    if (!samples.has(name)) samples.set(name, []);
    samples.get(name).push({labels, key, value});
  }
  return samples;
}

function snapshot(samples) {
  const byKey = new Map();
  for (const [name, list] of samples) byKey.set(name, new Map(list.map(s => [s.key, s.value])));
  return {t: performance.now(), samples, byKey};
}
const get = (snap, name) => snap.samples.get(name) || [];
// Counter increases from `base` to `cur` per series (a decrease is a restart, as in Prometheus'
// rate()); null when `cur` has no such metric.
function increases(cur, base, name) {
  if (!cur.samples.has(name) || !base) return null;
  const before = base.byKey.get(name) || new Map();
  return get(cur, name).map(s => {
    const b = before.get(s.key);
    return {labels: s.labels, value: b === undefined ? s.value : (s.value >= b ? s.value - b : s.value)};
  });
}
function sum(list, pred) {
  if (!list) return NaN;
  let total = 0;
  for (const s of list) if (!pred || pred(s.labels)) total += s.value;
  return total;
}

// histogram_quantile() over bucket counts, with Prometheus' linear interpolation.
function quantile(q, list) {
  const counts = new Map();
  for (const s of list) counts.set(s.labels.le, (counts.get(s.labels.le) || 0) + s.value);
  const buckets = [...counts].map(([le, n]) => [parseValue(le), n]).sort((a, b) => a[0] - b[0]);
  if (buckets.length < 2 || buckets[buckets.length - 1][0] !== Infinity) return NaN;
  for (let i = 1; i < buckets.length; i++) buckets[i][1] = Math.max(buckets[i][1], buckets[i - 1][1]);
  const total = buckets[buckets.length - 1][1];
  if (!(total > 0)) return NaN;
  const rank = q * total;
  const b = buckets.findIndex(bucket => bucket[1] >= rank);
  if (b === buckets.length - 1) return buckets[b - 1][0];
  if (b === 0 && buckets[0][0] <= 0) return buckets[0][0];
  const start = b === 0 ? 0 : buckets[b - 1][0], below = b === 0 ? 0 : buckets[b - 1][1];
  return start + (buckets[b][0] - start) * (rank - below) / (buckets[b][1] - below);
}

const ok = x => typeof x === 'number' && isFinite(x);
const fmtRate = x => !ok(x) ? DASH : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
const fmtPct = x => !ok(x) ? DASH : x === 0 ? '0 %' : (x * 100).toFixed(x < 0.1 ? 2 : 1) + ' %';
const fmtInt = x => !ok(x) ? DASH : Math.round(x).toLocaleString('en-US');
const fmtPsi = x => !ok(x) ? DASH : x.toFixed(3);
function fmtSeconds(s) {
  if (!ok(s)) return DASH;
  if (s < 1e-3) return (s * 1e6).toFixed(0) + ' \u00b5s';
  if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + ' ms';
  return s.toFixed(2) + ' s';
}
function fmtAge(s) {
  if (!ok(s)) return DASH;
  if (s < 0) s = 0;
  if (s < 120) return s.toFixed(0) + ' s';
  if (s < 7200) return (s / 60).toFixed(0) + ' min';
  if (s < 2 * 86400) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}
const level = (x, warn, bad) => !ok(x) ? '' : x > bad ? 'bad' : (warn !== null && x > warn) ? 'warn' : '';

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== '' && v !== undefined) node.setAttribute(k, v);
  for (const child of children) node.append(child);
  return node;
}
const cell = (col, text, cls, title) => el('td', {'data-col': col, class: cls, title}, text);
function pairRow(pair, cells) {
  const tr = el('tr', {'data-version': pair.version, 'data-variant': pair.variant,
                       class: pair.variant === 'canary' ? 'canary' : pair.serving ? '' : 'old'},
                cell('version', pair.version, 'l'),
                cell('variant', el('span', {class: 'tag'}, pair.variant + (SPECIAL[pair.variant] || '')), 'l',
                     pair.serving ? 'serving now' : 'not serving now'));
  tr.append(...cells);
  return tr;
}
// RecommendProductsBatch calls carry variant "all"; calls before any version loaded "none".
const SPECIAL = {all: ' (batch)', none: ' (no model)'};
const VARIANT_ORDER = {stable: 0, canary: 1};
const byVariant = (a, b) => (VARIANT_ORDER[a.variant] ?? 2) - (VARIANT_ORDER[b.variant] ?? 2) ||
                            Number(b.version) - Number(a.version);
const pairKey = (version, variant) => version + '\u0000' + variant;
const samePair = p => l => l.model_version === p.version && l.variant === p.variant;

// The serving (version, variant) pairs first, then others that appear in `names`.
function pairsOf(cur, names, keep) {
  const pairs = get(cur, 'recommender_model_info').filter(s => s.value === 1)
      .map(s => ({version: s.labels.version, variant: s.labels.variant, serving: true})).sort(byVariant);
  const seen = new Set(pairs.map(p => pairKey(p.version, p.variant)));
  const others = [];
  for (const name of names) {
    for (const s of get(cur, name)) {
      const k = pairKey(s.labels.model_version, s.labels.variant);
      if (s.labels.model_version === undefined || seen.has(k) || !keep(s)) continue;
      seen.add(k);
      others.push({version: s.labels.model_version, variant: s.labels.variant, serving: false});
    }
  }
  return pairs.concat(others.sort(byVariant));
}

function renderVersions(cur, prev, seconds) {
  const requests = increases(cur, prev, 'recommender_requests_total');
  const buckets = increases(cur, prev, 'recommender_request_duration_seconds_bucket');
  const coldStarts = increases(cur, prev, 'recommender_cold_start_requests_total');
  const trained = new Map(get(cur, 'recommender_model_trained_timestamp_seconds')
                              .map(s => [s.labels.model_version, s.value]));
  const published = Math.max(...get(cur, 'recommender_model_loaded_timestamp_seconds').map(s => s.value));
  const now = Date.now() / 1000;
  const pairs = pairsOf(cur, ['recommender_requests_total'], s => s.value > 0);
  const p99Of = new Map();
  const rows = pairs.map(pair => {
    const mine = samePair(pair);
    const total = sum(requests, mine);
    const serverErrors = sum(requests, l => mine(l) && SERVER_ERRORS.has(l.code));
    const clientErrors = sum(requests, l => mine(l) && l.code !== 'OK' && !SERVER_ERRORS.has(l.code));
    const latency = buckets ? buckets.filter(s => mine(s.labels)) : [];
    const p99 = quantile(0.99, latency);
    if (pair.serving) p99Of.set(pair.variant, p99);
    let age = cell('age', DASH);
    if (trained.has(pair.version)) {
      const trainedAgo = now - trained.get(pair.version);
      age = cell('age', fmtAge(trainedAgo), level(trainedAgo, null, AGE_MAX_S), 'since it was trained');
    } else if (pair.serving && ok(published)) {
      age = cell('age', fmtAge(now - published) + ' ', '', 'since the serving versions were last published');
      age.append(el('small', {}, 'published'));
    }
    const answered = sum(requests, l => mine(l) && l.method === 'RecommendProducts' && l.code === 'OK');
    const cold = cell('cold-start', fmtPct(sum(coldStarts, mine) / answered));
    if (coldStarts && answered > 0) {
      const strategies = new Map();
      for (const s of coldStarts) {
        if (mine(s.labels)) strategies.set(s.labels.strategy, (strategies.get(s.labels.strategy) || 0) + s.value);
      }
      const parts = [...strategies].sort().map(([k, v]) => k + ' ' + (v / answered * 100).toFixed(1));
      if (parts.length) cold.append(' ', el('small', {}, '(' + parts.join(' \u00b7 ') + ')'));
    }
    return [pair, [
      age,
      cell('rate', fmtRate(total / seconds)),
      cell('server-errors', fmtPct(serverErrors / total), level(serverErrors / total, null, ERROR_RATIO_MAX)),
      cell('client-errors', fmtPct(clientErrors / total)),
      cell('p50', fmtSeconds(quantile(0.5, latency))),
      cell('p99', fmtSeconds(p99), '',
           (pair.variant === 'stable' || pair.variant === 'canary') && p99 > P99_MAX_S ? 'above 1 ms' : ''),
      cold]];
  });
  // RecommenderCanaryLatencyWorse: 1.5 times and 1 ms above the stable's.
  const canaryP99 = p99Of.get('canary'), stableP99 = p99Of.get('stable');
  const canaryWorse = canaryP99 > 1.5 * stableP99 && canaryP99 - stableP99 > 0.001;
  const body = document.querySelector('#versions tbody');
  body.replaceChildren(...rows.map(([pair, cells]) => {
    const p99 = cells[5];
    if (pair.variant === 'canary' && pair.serving && canaryWorse) {
      p99.title = (p99.title ? p99.title + '; ' : '') + '1.5 \u00d7 and 1 ms above the stable\'s';
    }
    if (p99.title) p99.className = 'bad';
    return pairRow(pair, cells);
  }));
  return pairs.filter(p => p.serving);
}

function renderKpis(cur, first) {
  const name = 'recommender_feedback_events_total';
  const since = increases(cur, first, name);
  const total = cur.samples.has(name) ? get(cur, name) : null;
  const count = (list, pair, event) => sum(list, l => samePair(pair)(l) && l.event === event);
  const rows = pairsOf(cur, [name], s => s.value > 0).map(pair => {
    const cells = [];
    for (const [col, list] of [['page', since], ['total', total]]) {
      const impressions = count(list, pair, 'impression');
      cells.push(cell(col + '-impressions', fmtInt(impressions)),
                 cell(col + '-ctr', fmtPct(count(list, pair, 'click') / impressions)),
                 cell(col + '-conversion', fmtPct(count(list, pair, 'conversion') / impressions)));
    }
    return pairRow(pair, cells);
  });
  // RecommenderCanaryConversionWorse's test, over the events since the page was opened.
  const side = variant => ({n: sum(since, l => l.variant === variant && l.event === 'impression'),
                            c: sum(since, l => l.variant === variant && l.event === 'conversion')});
  const stable = side('stable'), canary = side('canary');
  if (canary.n >= 1000 && stable.n > 0) {
    const pStable = stable.c / stable.n, pCanary = canary.c / canary.n;
    const p = (stable.c + canary.c) / (stable.n + canary.n);
    const z = (pStable - pCanary) / Math.sqrt(p * (1 - p) * (1 / stable.n + 1 / canary.n));
    if (z >= 3 && pCanary < 0.9 * pStable) {
      for (const row of rows) {
        if (row.dataset.variant === 'canary') {
          const target = row.querySelector('[data-col="page-conversion"]');
          target.className = 'bad';
          target.title = 'z = ' + z.toFixed(1) + ' below the stable';
        }
      }
    }
  }
  document.querySelector('#kpis tbody').replaceChildren(...rows);
}

function renderDrift(cur, first, serving) {
  const clusterPsi = new Map(get(cur, 'recommender_cluster_psi').map(s => [s.labels.model_version, s.value]));
  const featurePsi = get(cur, 'recommender_feature_psi');
  const features = [...new Set(['age', 'salary', ...featurePsi.map(s => s.labels.feature)])].sort();
  document.querySelector('#drift thead').replaceChildren(el('tr', {},
      el('th', {class: 'l'}, 'Version'), el('th', {class: 'l'}, 'Variant'), el('th', {}, 'Cluster mix PSI'),
      ...features.map(f => el('th', {}, 'Cold-start ' + f + ' PSI'))));
  const rows = serving.map(pair => pairRow(pair, [
      cell('cluster-psi', fmtPsi(clusterPsi.get(pair.version)),
           level(clusterPsi.get(pair.version), PSI_WATCH, PSI_MAX)),
      ...features.map(feature => {
        const s = featurePsi.find(x => x.labels.model_version === pair.version && x.labels.feature === feature);
        return cell('psi-' + feature, fmtPsi(s && s.value), level(s && s.value, PSI_WATCH, PSI_MAX));
      })]));
  document.querySelector('#drift tbody').replaceChildren(...rows);

  const reassigned = get(cur, 'recommender_cluster_reassigned_ratio');
  document.getElementById('reassigned').textContent =
      reassigned.length ? fmtPct(Math.max(...reassigned.map(s => s.value))) : DASH;
  for (const [id, name] of [['load-failures', 'recommender_model_load_failures_total'],
                            ['rollbacks', 'recommender_canary_auto_rollbacks_total']]) {
    const node = document.getElementById(id);
    const total = cur.samples.has(name) ? sum(get(cur, name)) : NaN;
    const recent = sum(increases(cur, first, name));
    node.textContent = ok(total) ? fmtInt(total) + ' (' + fmtInt(recent) + ' since this page was opened)' : DASH;
    node.className = recent > 0 ? 'bad' : total > 0 ? 'warn' : '';
  }
  const customers = get(cur, 'recommender_model_customers');
  document.getElementById('customers').textContent = customers.length ? fmtInt(customers[0].value) : DASH;
}

function render(cur, prev, first) {
  const seconds = prev ? (cur.t - prev.t) / 1000 : NaN;
  const serving = renderVersions(cur, prev, seconds);
  renderKpis(cur, first);
  renderDrift(cur, first, serving);
  const summary = document.getElementById('serving');
  summary.replaceChildren();
  serving.forEach((pair, i) => summary.append(i ? ' \u00b7 ' : '', pair.variant + ' ', el('b', {}, pair.version)));
  const notice = document.getElementById('notice');
  notice.hidden = serving.length > 0;
  notice.textContent = serving.length ? '' : 'No model version is serving: RecommendProducts answers UNAVAILABLE.';
  document.getElementById('window').textContent = ok(seconds) ? seconds.toFixed(0) + ' s' : DASH;
}

let first = null, fetches = 0;
const history = [];
async function refresh() {
  const banner = document.getElementById('banner');
  try {
    const response = await fetch(METRICS_URL, {cache: 'no-store'});
    if (!response.ok) throw new Error('HTTP ' + response.status);
    const cur = snapshot(parseMetrics(await response.text()));
    first = first || cur;
    history.push(cur);
    // Keep the newest snapshot that is at least WINDOW_MS old as the base of the rates.
    while (history.length > 2 && cur.t - history[1].t >= WINDOW_MS) history.shift();
    render(cur, history.length > 1 ? history[0] : null, first);
    const updated = document.getElementById('updated');
    updated.textContent = 'updated ' + new Date().toLocaleTimeString('en-GB');
    updated.dataset.fetches = ++fetches;
    banner.hidden = true;
  } catch (error) {
    banner.textContent = 'Cannot show ' + METRICS_URL + ': ' + error.message + '. Retrying every 2 s.';
    banner.hidden = false;
  }
  setTimeout(refresh, REFRESH_MS);
}
document.getElementById('source').textContent = METRICS_URL;
refresh();
</script>
</body>
</html>
)html";

constexpr char kSecurityHeaders[] =
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n";

bool IsStatusPath(const char* path) {
  return path != nullptr && (std::strcmp(path, "/status") == 0 || std::strcmp(path, "/status/") == 0);
}

// CivetWeb's begin_request: 0 hands the request on (to /metrics, or a 404),
// anything else is the status code of the answer written here.
int ServeStatusPage(mg_connection* connection) {
  const mg_request_info* request = mg_get_request_info(connection);
  // local_uri is the path without the query string, or null for a request
  // that names another host.
  if (request == nullptr || !IsStatusPath(request->local_uri)) return 0;
  const bool head = std::strcmp(request->request_method, "HEAD") == 0;
  if (!head && std::strcmp(request->request_method, "GET") != 0) {
    mg_printf(connection,
              "HTTP/1.1 405 Method Not Allowed\r\n"
              "Allow: GET, HEAD\r\n"
              "Content-Length: 0\r\n"
              "Connection: close\r\n\r\n");
    return 405;
  }
  const absl::string_view html = StatusPageHtml();
  // The exposer runs CivetWeb without keep-alive, so the connection closes
  // after this answer either way; saying so keeps clients from waiting.
  mg_printf(connection,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Length: %zu\r\n"
            "Cache-Control: no-store\r\n"
            "%s"
            "Connection: close\r\n\r\n",
            html.size(), kSecurityHeaders);
  if (!head) mg_write(connection, html.data(), html.size());
  return 200;
}

CivetCallbacks MakeCallbacks() {
  CivetCallbacks callbacks;  // Zeroes every callback.
  callbacks.begin_request = &ServeStatusPage;
  return callbacks;
}

}  // namespace

absl::string_view StatusPageHtml() { return absl::string_view(kStatusPageHtml, sizeof(kStatusPageHtml) - 1); }

const CivetCallbacks* StatusPageCallbacks() {
  // Trivially destructible, so safe as a static; initialised once, thread-safely.
  static const CivetCallbacks callbacks = MakeCallbacks();
  return &callbacks;
}

}  // namespace easymoney
