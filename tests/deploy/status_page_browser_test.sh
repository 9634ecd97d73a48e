#!/usr/bin/env bash
# Opens the status page (server/status_page.cc) in headless Chromium against status_page_demo's simulated
# metrics and checks, in the DOM the page's script built, that it read /metrics and computed what it shows:
# both serving versions with the canary row marked, request rates near the simulated ones, latency
# quantiles, error and cold-start shares, KPIs, drift, and the values that cross alert thresholds
# highlighted. Then takes a screenshot.
#
#   tests/deploy/status_page_browser_test.sh --demo build/bin/status_page_demo [--screenshot FILE]
#
# Needs chromium and python3 (Debian packages of those names; CHROMIUM=path picks another browser binary).
# Takes about 10 s. KEEP_WORK=1 keeps the temporary directory (DOM, screenshot, logs).
set -euo pipefail

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

DEMO="" SCREENSHOT=""
CHROMIUM="${CHROMIUM:-chromium}"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0;;
    --demo) DEMO="$2"; shift 2;;
    --screenshot) SCREENSHOT="$2"; shift 2;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2;;
  esac
done
[ -n "$DEMO" ] && [ -x "$DEMO" ] || { echo "not an executable: '$DEMO' (see --help)" >&2; exit 2; }
command -v "$CHROMIUM" >/dev/null || { echo "$CHROMIUM not found: apt-get install chromium" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 not found: apt-get install python3" >&2; exit 2; }

log() { printf '[%s] status_page_browser_test: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/recommender-status-page-test.XXXXXX")"
DEMO_PID=""
cleanup() {
  local status=$?
  if [ -n "$DEMO_PID" ]; then
    kill "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    for file in demo.log chromium-dom.log chromium-screenshot.log; do
      [ -s "$WORK/$file" ] && { echo "--- last lines of $file" >&2; tail -n 15 "$WORK/$file" >&2; }
    done
  fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Created here, not by the background job's redirection, which may come
# after the first read below (set -e would end the test on sed's error).
: > "$WORK/demo.out"
"$DEMO" --port 0 > "$WORK/demo.out" 2> "$WORK/demo.log" &
DEMO_PID=$!
URL=""
for _ in $(seq 1 100); do
  URL="$(sed -n 's/^status_page_demo: \(http:.*\/status\)$/\1/p' "$WORK/demo.out")"
  [ -n "$URL" ] && break
  kill -0 "$DEMO_PID" 2>/dev/null || { log "status_page_demo exited"; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { log "status_page_demo printed no address within 10 s"; exit 1; }
log "status_page_demo serves $URL"

python3 - "$URL" <<'PY'
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
    content_type = response.headers["Content-Type"]
    if response.status != 200 or content_type != "text/html; charset=utf-8":
        sys.exit(f"/status: HTTP {response.status}, Content-Type {content_type!r}")
PY

# Virtual time: the page's 2 s refreshes run in milliseconds, and the demo advances its traffic by 2 s per
# scrape, so 6 s of page time see 3 to 4 reads of /metrics with realistic rates.
run_chromium() {
  HOME="$WORK" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache" timeout 90 "$CHROMIUM" \
    --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-extensions --disable-dev-shm-usage \
    --user-data-dir="$(mktemp -d "$WORK/profile.XXXXXX")" --virtual-time-budget=6000 "$@"
}

log "rendering the page in $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
run_chromium --dump-dom "$URL" > "$WORK/dom.html" 2> "$WORK/chromium-dom.log"

python3 - "$WORK/dom.html" <<'PY'
import html.parser
import re
import sys

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Dom(html.parser.HTMLParser):
    """Elements with an id (attributes and text) and table rows with data-version (cells by data-col)."""

    def __init__(self):
        super().__init__()
        self.stack = []  # [tag, attrs, text pieces]
        self.ids = {}
        self.rows = {}  # table id -> [row]
        self.table = None
        self.row = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "table":
            self.table = attrs.get("id")
        if tag == "tr" and "data-version" in attrs:
            self.row = {"version": attrs["data-version"], "variant": attrs["data-variant"],
                        "class": attrs.get("class", ""), "cells": {}}
        if tag not in VOID:
            self.stack.append([tag, attrs, []])

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, attrs, text = self.stack.pop()
            text = "".join(text).strip()
            if self.stack:
                self.stack[-1][2].append(text)
            if "id" in attrs:
                self.ids[attrs["id"]] = (attrs, text)
            if open_tag == "td" and self.row is not None and "data-col" in attrs:
                self.row["cells"][attrs["data-col"]] = (attrs.get("class", ""), text, attrs.get("title", ""))
            if open_tag == "tr" and self.row is not None:
                self.rows.setdefault(self.table, []).append(self.row)
                self.row = None
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)


dom = Dom()
dom.feed(open(sys.argv[1], encoding="utf-8").read())
failures = []


def expect(condition, message):
    if not condition:
        failures.append(message)
    return condition


def row(table, version, variant):
    found = [r for r in dom.rows.get(table, []) if r["version"] == version and r["variant"] == variant]
    expect(len(found) == 1, f"#{table}: {len(found)} rows for version {version} {variant}, want 1")
    return found[0] if found else {"class": "", "cells": {}}


def value(r, column):
    return r["cells"].get(column, ("", "", ""))[:2]


def title(r, column):
    return r["cells"].get(column, ("", "", ""))[2]


def number(text, units):
    """'45 µs' -> 4.5e-05 with units {'µs': 1e-6, ...}; None when it is not a number with one of the units."""
    match = re.fullmatch(r"([0-9][0-9,]*(?:\.[0-9]+)?)\s*(\S*)(?:\s.*)?", text)
    if not match or match.group(2) not in units:
        return None
    return float(match.group(1).replace(",", "")) * units[match.group(2)]


def expect_between(table, r, column, low, high, units):
    cls, text = value(r, column)
    x = number(text, units)
    expect(x is not None and low <= x <= high,
           f"#{table} {r.get('version')} {r.get('variant')} {column} = {text!r}, want {low}..{high}")
    return cls


SECONDS = {"µs": 1e-6, "ms": 1e-3, "s": 1.0}
PERCENT = {"%": 0.01}
PLAIN = {"": 1.0}

banner_attrs, banner_text = dom.ids.get("banner", ({}, ""))
expect("hidden" in banner_attrs, f"the page shows an error: {banner_text!r}")
updated_attrs, updated_text = dom.ids.get("updated", ({}, ""))
fetches = int(updated_attrs.get("data-fetches", "0") or 0)
expect(fetches >= 3, f"the page read /metrics {fetches} times in 6 s, want at least 3 ({updated_text!r})")
expect(updated_text.startswith("updated "), f"#updated is {updated_text!r}")
serving = dom.ids.get("serving", ({}, ""))[1]
expect("stable 7" in serving and "canary 8" in serving, f"#serving is {serving!r}")

stable = row("versions", "7", "stable")
canary = row("versions", "8", "canary")
row("versions", "all", "all")
expect("canary" in canary["class"].split(), f"the canary row's class is {canary['class']!r}")
expect("canary" not in stable["class"].split(), "the stable row is marked as canary")
expect_between("versions", stable, "rate", 700, 1100, PLAIN)
expect_between("versions", canary, "rate", 50, 160, PLAIN)
# The simulated latencies are log-normal; these ranges hold the quantiles that histogram_quantile()'s
# interpolation gives over the simulation's buckets (stable p50 46 us, p99 190 us; canary p50 167 us,
# p99 2 ms), with room for the sampling noise of 3 to 4 scrapes.
expect_between("versions", stable, "p50", 40e-6, 52e-6, SECONDS)
expect(expect_between("versions", stable, "p99", 165e-6, 220e-6, SECONDS) == "",
       "the stable's p99 is highlighted")
expect_between("versions", canary, "p50", 140e-6, 195e-6, SECONDS)
expect(expect_between("versions", canary, "p99", 1.2e-3, 3e-3, SECONDS) == "bad",
       "the canary's p99 is not highlighted")
reasons = title(canary, "p99")
expect("above 1 ms" in reasons and "above the stable" in reasons,
       f"the canary's p99 is highlighted for {reasons!r}, want above 1 ms and above the stable's")
expect_between("versions", stable, "server-errors", 0, 0.005, PERCENT)
expect_between("versions", stable, "cold-start", 0.02, 0.06, PERCENT)
expect_between("versions", stable, "age", 12, 13, {"d": 1})
expect_between("versions", canary, "age", 25, 27, {"h": 1})

# Simulated: 0.7 impressions per answer, CTR 3.1 % and conversion 0.8 % on the stable, 3.6 % and 0.95 % on the
# canary, whose few hundred impressions leave its ratios noisy.
for r, ctr, conversion in ((row("kpis", "7", "stable"), (0.022, 0.04), (0.004, 0.013)),
                           (row("kpis", "8", "canary"), (0.012, 0.08), (0.0, 0.04))):
    expect_between("kpis", r, "page-impressions", 100, 1e6, PLAIN)
    for window in ("page", "total"):
        expect_between("kpis", r, window + "-ctr", *ctr, PERCENT)
        expect_between("kpis", r, window + "-conversion", *conversion, PERCENT)
expect("canary" in row("kpis", "8", "canary")["class"].split(), "the KPI table's canary row is not marked")

drift_stable = row("drift", "7", "stable")
drift_canary = row("drift", "8", "canary")
expect(expect_between("drift", drift_stable, "cluster-psi", 0.02, 0.06, PLAIN) == "", "PSI 0.04 is highlighted")
expect(expect_between("drift", drift_canary, "cluster-psi", 0.11, 0.15, PLAIN) == "warn",
       "PSI 0.13 is not marked for watching")
expect(expect_between("drift", drift_canary, "psi-salary", 0.2, 0.3, PLAIN) == "bad",
       "PSI 0.24 is not highlighted")
expect(dom.ids.get("reassigned", ({}, ""))[1] == "8.10 %", f"#reassigned is {dom.ids.get('reassigned')}")
failures_attrs, failures_text = dom.ids.get("load-failures", ({}, ""))
expect(failures_text.startswith("1 (0 since") and failures_attrs.get("class") == "warn",
       f"#load-failures is {failures_text!r} with class {failures_attrs.get('class')!r}")
expect(dom.ids.get("customers", ({}, ""))[1] == "956,645", f"#customers is {dom.ids.get('customers')}")

if failures:
    print("the status page did not show what it should:", *failures, sep="\n  ", file=sys.stderr)
    sys.exit(1)
PY
log "the DOM shows both versions, the canary, rates, latency, KPIs and drift as expected"

run_chromium --screenshot="$WORK/status.png" --window-size=1280,900 --hide-scrollbars "$URL" \
  > "$WORK/chromium-screenshot.log" 2>&1
python3 - "$WORK/status.png" <<'PY'
import struct
import sys

data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("the screenshot is not a PNG")
width, height = struct.unpack(">II", data[16:24])
if (width, height) != (1280, 900) or len(data) < 20000:
    sys.exit(f"the screenshot is {width}x{height}, {len(data)} bytes: not the rendered page")
PY
if [ -n "$SCREENSHOT" ]; then
  cp "$WORK/status.png" "$SCREENSHOT"
  log "screenshot: $SCREENSHOT"
fi
log "passed"
