#!/usr/bin/env bash
# Checks the Prometheus configuration and rules with promtool and runs their unit tests
# (DIR/tests/*.yml, promtool's "test rules" format).
#
#   tests/deploy/promtool_test.sh [DIR]     # DIR: deploy/prometheus (the default)
#
# Needs promtool (Debian package prometheus). Exit status 0 when everything passes.
set -euo pipefail

case "${1:-}" in
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
esac
DIR="${1:-$(dirname "${BASH_SOURCE[0]}")/../../deploy/prometheus}"
PROMTOOL="${PROMTOOL:-promtool}"
command -v "$PROMTOOL" >/dev/null || { echo "$PROMTOOL not found: apt-get install prometheus" >&2; exit 2; }
cd "$DIR"

log() { printf '[%s] promtool_test: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

log "promtool check config prometheus.yml"
"$PROMTOOL" check config prometheus.yml >&2
log "promtool check rules"
"$PROMTOOL" check rules recording_rules.yml alert_rules.yml >&2
shopt -s nullglob
tests=(tests/*.yml)
[ ${#tests[@]} -gt 0 ] || { log "no tests in $DIR/tests"; exit 1; }
log "promtool test rules ${tests[*]}"
"$PROMTOOL" test rules "${tests[@]}" >&2

# The dashboard's queries are PromQL too: check that they parse, as recording rules of a scratch file
# (template variables replaced by values Grafana could send).
DASHBOARD="${DASHBOARD:-../grafana/recommender-dashboard.json}"
if [ -f "$DASHBOARD" ]; then
  scratch="$(mktemp "${TMPDIR:-/tmp}/dashboard-queries.XXXXXX.yml")"
  trap 'rm -f "$scratch"' EXIT
  python3 - "$DASHBOARD" > "$scratch" <<'PY'
import json
import re
import sys

dashboard = json.load(open(sys.argv[1]))
panels = []
for panel in dashboard.get("panels", []):
    panels.append(panel)
    panels.extend(panel.get("panels", []))
exprs = [t["expr"] for p in panels for t in p.get("targets", []) if t.get("expr")]
exprs += [a["expr"] for a in dashboard.get("annotations", {}).get("list", []) if a.get("expr")]
print("groups:\n  - name: dashboard_queries\n    rules:")
for i, expr in enumerate(exprs):
    expr = re.sub(r"\$__(rate_interval|interval|range)", "5m", expr)
    expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
    print(f"      - record: dashboard_query_{i}\n        expr: {json.dumps(expr)}")
PY
  log "promtool check rules on the $(grep -c 'record:' "$scratch") queries of $DASHBOARD"
  "$PROMTOOL" check rules "$scratch" >&2
fi
log "passed"
