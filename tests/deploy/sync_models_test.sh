#!/usr/bin/env bash
# Specification of scripts/sync-models, the model mirror of the Kubernetes
# sidecar: what one pass copies, replaces, deletes and keeps, the routing
# file, and the loop's reaction to a new version and to SIGTERM.
#
#   tests/deploy/sync_models_test.sh [--sync scripts/sync-models]
set -euo pipefail

SYNC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/sync-models"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    --sync) SYNC="$2"; shift 2;;
    *) echo "unknown argument '$1'; see --help" >&2; exit 2;;
  esac
done

WORK="$(mktemp -d)"
LOOP_PID=""
cleanup() {
  if [ -n "$LOOP_PID" ]; then kill "$LOOP_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
SRC="$WORK/shared"
DST="$WORK/local"
ROUTING="$WORK/configmap/routing.json"
mkdir -p "$SRC" "$(dirname "$ROUTING")"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*" >&2; }
# A version directory with two files of the given content.
make_version() {
  mkdir -p "$SRC/$1"
  echo "$2" >"$SRC/$1/manifest.json"
  head -c 4096 /dev/urandom >"$SRC/$1/customer_factors.npy"
}
sync_once() { "$SYNC" --source "$SRC" --dest "$DST" --routing "$ROUTING" 2>>"$WORK/log"; }

# A pass copies every version, ignores what is not a version, installs the routing file.
make_version 1 one
make_version 12 twelve
mkdir -p "$SRC/.writing-13" "$SRC/v2" "$SRC/012"
echo '{"stable_version": "1"}' >"$ROUTING"
sync_once
diff -r "$SRC/1" "$DST/1" >/dev/null || fail "version 1 is not an exact copy"
diff -r "$SRC/12" "$DST/12" >/dev/null || fail "version 12 is not an exact copy"
[ "$(ls -A "$DST" | sort | tr '\n' ' ')" = "1 12 routing.json " ] ||
  fail "the local base holds '$(ls -A "$DST" | tr '\n' ' ')', expected versions 1, 12 and routing.json only"
cmp -s "$ROUTING" "$DST/routing.json" || fail "routing.json was not installed"
pass "a pass copies the versions and the routing file, and nothing else"

# A second pass with nothing changed copies nothing.
: >"$WORK/log"
inode_before="$(stat -c %i "$DST/12")"
sync_once
[ ! -s "$WORK/log" ] || fail "an unchanged source logged: $(cat "$WORK/log")"
[ "$(stat -c %i "$DST/12")" = "$inode_before" ] || fail "an unchanged version was copied again"
pass "an unchanged source copies nothing"

# A version whose files changed in the source is replaced as a whole.
echo "one, repaired" >"$SRC/1/manifest.json"
sync_once
[ "$(cat "$DST/1/manifest.json")" = "one, repaired" ] || fail "a changed version was not replaced"
grep -q 'replaced version 1' "$WORK/log" || fail "the replacement was not logged"
pass "a changed version is replaced"

# A version removed from the source is removed locally; the routing file follows its source.
rm -rf "$SRC/12"
echo '{"stable_version": "1", "canary_version": "2", "canary_percent": 5}' >"$ROUTING"
sync_once
[ ! -e "$DST/12" ] || fail "version 12, gone from the source, is still in the local base"
cmp -s "$ROUTING" "$DST/routing.json" || fail "a changed routing file was not installed"
rm "$ROUTING"
sync_once
[ ! -e "$DST/routing.json" ] || fail "routing.json stayed after its source was removed"
pass "deletions in the source and routing changes are mirrored"

# Routing is kept with the versions: the store's routing.json is mirrored,
# unless the override file exists and is not empty.
echo '{"stable_version": "1"}' >"$SRC/routing.json"
sync_once
cmp -s "$SRC/routing.json" "$DST/routing.json" || fail "the store's routing.json was not mirrored"
echo '{"stable_version": "1", "canary_version": "3", "canary_percent": 1}' >"$ROUTING"
sync_once
cmp -s "$ROUTING" "$DST/routing.json" || fail "a non-empty override did not take precedence over the store's routing"
: >"$ROUTING"
sync_once
cmp -s "$SRC/routing.json" "$DST/routing.json" || fail "an empty override did not give way to the store's routing"
rm "$ROUTING" "$SRC/routing.json"
sync_once
[ ! -e "$DST/routing.json" ] || fail "routing.json stayed with neither an override nor one in the store"
echo '{"measurements": []}' >"$SRC/realised_quality.json"
sync_once
cmp -s "$SRC/realised_quality.json" "$DST/realised_quality.json" || fail "realised_quality.json was not mirrored"
rm "$SRC/realised_quality.json"
sync_once
[ ! -e "$DST/realised_quality.json" ] || fail "realised_quality.json stayed after its source was removed"
pass "the store's routing.json and realised_quality.json are mirrored; a non-empty routing override wins"

# An empty source (a storage fault more likely than an order) deletes nothing.
mv "$SRC/1" "$WORK/aside-1"
sync_once
[ -d "$DST/1" ] || fail "an empty source deleted the local versions"
grep -q 'holds no version; keeping the local ones' "$WORK/log" || fail "the empty source was not logged"
mv "$WORK/aside-1" "$SRC/1"
pass "an empty source deletes nothing"

# Leftovers of an interrupted pass are cleaned; a missing source fails the pass.
mkdir -p "$DST/.sync-7-999" "$DST/.old-1-999"
sync_once
[ ! -e "$DST/.sync-7-999" ] && [ ! -e "$DST/.old-1-999" ] || fail "leftover staging directories were kept"
if "$SYNC" --source "$WORK/missing" --dest "$DST" 2>>"$WORK/log"; then fail "a missing source did not fail"; fi
if "$SYNC" --source "$SRC" 2>/dev/null; then fail "a missing --dest was accepted"; fi
if "$SYNC" --source "$SRC" --dest "$DST" --interval soon 2>/dev/null; then fail "--interval soon was accepted"; fi
pass "leftovers are cleaned; a missing source and bad arguments fail"

# The loop picks a new version up, never shows it under its final name half-copied, and stops on SIGTERM.
echo '{}' >"$ROUTING"
"$SYNC" --source "$SRC" --dest "$DST" --routing "$ROUTING" --interval 0.2 2>>"$WORK/log" &
LOOP_PID=$!
make_version 3 three
for _ in $(seq 50); do
  [ -d "$DST/3" ] && break
  sleep 0.1
done
[ -d "$DST/3" ] || fail "the loop did not copy a new version within 5 s"
diff -r "$SRC/3" "$DST/3" >/dev/null || fail "the new version appeared incomplete under its final name"
kill -TERM "$LOOP_PID"
for _ in $(seq 30); do
  kill -0 "$LOOP_PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$LOOP_PID" 2>/dev/null; then fail "the loop did not stop within 3 s of SIGTERM"; fi
status=0
wait "$LOOP_PID" || status=$?
LOOP_PID=""
[ "$status" = 0 ] || fail "the loop exited with status $status on SIGTERM"
pass "the loop copies new versions and stops on SIGTERM"
echo "sync-models: all checks passed" >&2
