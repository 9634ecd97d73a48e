#!/usr/bin/env bash
# Serves a small model with recommender-server, scrapes it with a real Prometheus that loads the
# repository's recording and alert rules, drives load with recommender-loadgen, then checks through
# Prometheus' HTTP API that the rules produce the series the dashboard and the alerts read.
#
#   tests/deploy/prometheus_integration_test.sh --bin-dir build/bin
#   tests/deploy/prometheus_integration_test.sh --datagen P --train P --server P --loadgen P \
#       [--rules-dir deploy/prometheus] [--dashboard deploy/grafana/recommender-dashboard.json]
#
# Needs prometheus and python3 (Debian packages of those names). Takes about 11 s. Ports are picked
# free on 127.0.0.1. KEEP_WORK=1 keeps the temporary directory (logs, TSDB) for a look afterwards.
set -euo pipefail

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RULES_DIR="$SCRIPT_DIR/../../deploy/prometheus"
DASHBOARD=""
DATAGEN="" TRAIN="" SERVER="" LOADGEN=""
PROMETHEUS="${PROMETHEUS:-prometheus}"
LOAD_SECONDS="${LOAD_SECONDS:-8}"
LOAD_RATE="${LOAD_RATE:-300}"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0;;
    --bin-dir) DATAGEN="$2/recommender-datagen"; TRAIN="$2/recommender-train"
               SERVER="$2/recommender-server"; LOADGEN="$2/recommender-loadgen"; shift 2;;
    --datagen) DATAGEN="$2"; shift 2;;
    --train) TRAIN="$2"; shift 2;;
    --server) SERVER="$2"; shift 2;;
    --loadgen) LOADGEN="$2"; shift 2;;
    --rules-dir) RULES_DIR="$2"; shift 2;;
    --dashboard) DASHBOARD="$2"; shift 2;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2;;
  esac
done
for tool in "$DATAGEN" "$TRAIN" "$SERVER" "$LOADGEN"; do
  [ -n "$tool" ] && [ -x "$tool" ] || { echo "not an executable: '$tool' (see --help)" >&2; exit 2; }
done
command -v "$PROMETHEUS" >/dev/null || { echo "$PROMETHEUS not found: apt-get install prometheus" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 not found: apt-get install python3" >&2; exit 2; }
RULES_DIR="$(cd "$RULES_DIR" && pwd)"
DASHBOARD="${DASHBOARD:-$RULES_DIR/../grafana/recommender-dashboard.json}"
[ -f "$DASHBOARD" ] || { echo "no dashboard at $DASHBOARD (see --help)" >&2; exit 2; }

log() { printf '[%s] prometheus_integration_test: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/recommender-prometheus-test.XXXXXX")"
SERVER_PID="" PROMETHEUS_PID=""
cleanup() {
  local status=$?
  for pid in $PROMETHEUS_PID $SERVER_PID; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for file in datagen.log train.log server.log prometheus.log loadgen.log; do
      [ -s "$WORK/$file" ] && { echo "--- last lines of $file" >&2; tail -n 20 "$WORK/$file" >&2; }
    done
  fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Prints the body of an HTTP GET; fails on a connection error or an HTTP error status.
http_get() {
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' \
    "$1" 2>/dev/null
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

log "training a model version (2,000 customers)"
"$DATAGEN" --customers 2000 --seed 7 --out "$WORK/data" > "$WORK/datagen.log" 2>&1
"$TRAIN" --data "$WORK/data" --model-base "$WORK/models" --factors 6 --clusters 4 --backtest-months 0 \
  > "$WORK/train.log" 2>&1
VERSION="$(ls "$WORK/models" | grep -E '^[0-9]+$' | sort -n | tail -n 1)"

log "starting recommender-server"
"$SERVER" --model-base "$WORK/models" --host 127.0.0.1 --port 0 --drain-period 0s --metrics-host 127.0.0.1 --metrics-port 0 \
  --plaintext --allow-unauthenticated \
  --poll-interval 1s --audit-log "$WORK/audit.log" 2> "$WORK/server.log" &
SERVER_PID=$!
PORT="" METRICS_PORT=""
for _ in $(seq 1 100); do
  PORT="$(sed -n 's/.*gRPC on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$WORK/server.log")"
  METRICS_PORT="$(sed -n 's/.*metrics on http:\/\/127\.0\.0\.1:\([0-9]*\)\/metrics.*/\1/p' "$WORK/server.log")"
  [ -n "$PORT" ] && [ -n "$METRICS_PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { log "recommender-server exited"; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] && [ -n "$METRICS_PORT" ] || { log "recommender-server printed no ports within 10 s"; exit 1; }
METRICS_URL="http://127.0.0.1:$METRICS_PORT/metrics"
serving() {
  local metrics
  metrics="$(http_get "$METRICS_URL")" || return 1
  grep -q "^recommender_model_info{.*version=\"$VERSION\".*} 1" <<< "$metrics"
}
for _ in $(seq 1 100); do
  serving && break
  sleep 0.1
done
serving || { log "version $VERSION is not serving after 10 s"; exit 1; }
log "recommender-server serves version $VERSION: gRPC 127.0.0.1:$PORT, metrics $METRICS_URL"

cat > "$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $RULES_DIR/recording_rules.yml
  - $RULES_DIR/alert_rules.yml
scrape_configs:
  - job_name: recommender
    static_configs:
      - targets: ["127.0.0.1:$METRICS_PORT"]
EOF

# A port picked free can be taken before Prometheus binds it: try a few.
PROMETHEUS_URL=""
for _ in 1 2 3; do
  PROMETHEUS_PORT="$(free_port)"
  "$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --log.level=warn 2> "$WORK/prometheus.log" &
  PROMETHEUS_PID=$!
  for _ in $(seq 1 150); do
    if http_get "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" >/dev/null; then
      PROMETHEUS_URL="http://127.0.0.1:$PROMETHEUS_PORT"
      break 2
    fi
    kill -0 "$PROMETHEUS_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill "$PROMETHEUS_PID" 2>/dev/null || true
  wait "$PROMETHEUS_PID" 2>/dev/null || true
  PROMETHEUS_PID=""
done
[ -n "$PROMETHEUS_URL" ] || { log "prometheus did not become ready"; exit 1; }
log "prometheus $("$PROMETHEUS" --version 2>&1 | sed -n '1s/^prometheus, version \([^ ]*\).*/\1/p') ready on $PROMETHEUS_URL"

log "load: $LOAD_RATE requests/s for ${LOAD_SECONDS}s"
"$LOADGEN" --target "127.0.0.1:$PORT" --customers-file "$WORK/models/$VERSION" --rate "$LOAD_RATE" \
  --duration "${LOAD_SECONDS}s" --progress=false --json > "$WORK/loadgen.json" 2> "$WORK/loadgen.log"

# The metric families the server exports: checks of metrics that are not there yet are skipped.
http_get "$METRICS_URL" > "$WORK/metrics.txt"
sed -n 's/^# TYPE \([a-zA-Z_:][a-zA-Z0-9_:]*\) .*/\1/p' "$WORK/metrics.txt" > "$WORK/exported.txt"

log "checking the recorded series through $PROMETHEUS_URL/api/v1"
python3 - "$PROMETHEUS_URL" "$VERSION" "$WORK/exported.txt" "$WORK/loadgen.json" "$DASHBOARD" <<'PY'
import json
import math
import re
import sys
import time
import urllib.parse
import urllib.request

url, version, exported_path, loadgen_path, dashboard_path = sys.argv[1:6]
exported = set(open(exported_path).read().split())
loadgen = json.load(open(loadgen_path))
sel = f'model_version="{version}", variant="stable"'


def api(path, **params):
    query = ("?" + urllib.parse.urlencode(params)) if params else ""
    with urllib.request.urlopen(f"{url}/api/v1/{path}{query}", timeout=5) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"{path}: {body}")
    return body["data"]


def values(expr):
    return [float(sample["value"][1]) for sample in api("query", query=expr)["result"]]


def one(expr):
    found = values(expr)
    if len(found) != 1:
        raise AssertionError(f"{expr}: {len(found)} series, want 1")
    return found[0]


# (description, metric the server must export for the check to apply or None, check raising on failure)
checks = []


def check(description, needs=None):
    def register(function):
        checks.append((description, needs, function))
        return function
    return register


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


@check("the target is up")
def _():
    expect(one('up{job="recommender"}') == 1, "up is not 1")


@check(f"request rate > 0 for version {version}, stable")
def _():
    rate = one(f'method_model_version_variant:recommender_requests:rate5m{{method="RecommendProducts", {sel}}}')
    expect(rate > 0, f"rate {rate}")


@check("server and client error ratios == 0")
def _():
    for kind in ("server", "client"):
        ratio = one(f'method_model_version_variant:recommender_{kind}_errors:ratio_rate5m{{method="RecommendProducts", {sel}}}')
        expect(ratio == 0, f"{kind} error ratio {ratio}")


@check("p50 and p99 latency series present, finite and p50 <= p99")
def _():
    p50 = one(f'method_model_version_variant:recommender_request_duration_seconds:p50_rate5m{{method="RecommendProducts", {sel}}}')
    p99 = one(f'method_model_version_variant:recommender_request_duration_seconds:p99_rate5m{{method="RecommendProducts", {sel}}}')
    expect(math.isfinite(p99) and 0 < p50 <= p99 <= 1, f"p50 {p50}, p99 {p99}")
    expect(one('variant:recommender_request_duration_seconds:p99_rate5m{variant="stable"}') > 0, "variant p99")
    expect(one('variant:recommender_requests:rate5m{variant="stable"}') > 0, "variant rate")


@check("recommendations per product and catalogue coverage")
def _():
    per_product = values(f'model_version_variant_product:recommender_recommendations:rate5m{{{sel}}}')
    expect(sum(per_product) > 0, f"per-product rates {per_product}")
    expect(sum(values('product:recommender_recommendations:rate5m')) > 0, "product rates")
    coverage = one(f'model_version_variant:recommender_catalogue_coverage:ratio1h{{{sel}}}')
    expect(0 < coverage <= 1, f"coverage {coverage}")


@check("the serving version joins the per-version series")
def _():
    expect(one(f'instance_model_version_variant:recommender_model_serving:info{{{sel}}}') == 1, "not 1")


@check("model age", needs="recommender_model_trained_timestamp_seconds")
def _():
    age = one(f'model_version:recommender_model_age:seconds{{model_version="{version}"}}')
    expect(0 <= age < 3600, f"age {age} s of a version trained a moment ago")


@check("feedback rates by event", needs="recommender_feedback_events_total")
def _():
    events = api("query", query=f'model_version_variant_event:recommender_feedback_events:rate1h{{{sel}}}')["result"]
    expect(events, "no feedback rate series: are the counters created when the version is published?")


@check("cold-start share", needs="recommender_cold_start_requests_total")
def _():
    share = one(f'model_version_variant:recommender_cold_start:ratio_rate5m{{{sel}}}')
    expect(0 <= share <= 1, f"share {share}")


@check("cluster PSI of the serving version", needs="recommender_cluster_psi")
def _():
    expect(one(f'model_version:recommender_cluster_psi:max{{model_version="{version}"}}') >= 0, "negative")


@check("every rule evaluates without error")
def _():
    rules = [rule for group in api("rules")["groups"] for rule in group["rules"]]
    expect(len(rules) > 20, f"only {len(rules)} rules loaded")
    bad = [f'{rule["name"]}: {rule.get("lastError")}' for rule in rules if rule.get("health") != "ok"]
    expect(not bad, "; ".join(bad))


@check("every dashboard query evaluates without error")
def _():
    dashboard = json.load(open(dashboard_path))
    panels = [p for top in dashboard["panels"] for p in [top] + top.get("panels", [])]
    queries = [(p["title"], t["expr"]) for p in panels for t in p.get("targets", []) if t.get("expr")]
    queries += [(a["name"], a["expr"]) for a in dashboard["annotations"]["list"] if a.get("expr")]
    with_data = 0
    for title, expr in queries:
        expr = re.sub(r"\$__(rate_interval|interval|range)", "1m", expr)
        expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
        try:
            with_data += bool(api("query", query=expr)["result"])
        except Exception as e:
            raise AssertionError(f"{title!r}: {expr}: {e}")
    expect(with_data >= 8, f"only {with_data} of {len(queries)} dashboard queries return data")


@check("no alert fires on a healthy server")
def _():
    firing = [alert["labels"]["alertname"] for alert in api("alerts")["alerts"] if alert["state"] == "firing"]
    expect(not firing, f"firing: {firing}")


expect(loadgen.get("ok", 0) > 0, f"loadgen answered nothing: {loadgen}")
deadline = time.monotonic() + 30
pending = [(d, n, f) for d, n, f in checks if n is None or n in exported]
for description, needs, _ in checks:
    if needs is not None and needs not in exported:
        print(f"  skipped (server does not export {needs}): {description}", file=sys.stderr)
# Rules are evaluated every second; retry what does not hold yet until the deadline.
while pending:
    failures = []
    for item in pending:
        try:
            item[2]()
            print(f"  ok: {item[0]}", file=sys.stderr)
        except (AssertionError, RuntimeError, OSError) as e:
            failures.append((item, e))
    pending = [item for item, _ in failures]
    if pending and time.monotonic() > deadline:
        for (description, _, _), error in failures:
            print(f"  FAILED: {description}: {error}", file=sys.stderr)
        sys.exit(1)
    if pending:
        time.sleep(1)
PY
log "passed"
