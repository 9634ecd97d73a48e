#!/usr/bin/env bash
# Three recommender-server replicas on loopback sharing one model base,
# driven through client-side round_robin load balancing; one replica is
# killed (SIGKILL) under load and the clients must keep getting answers.
#
#   tests/deploy/multi_replica_test.sh --datagen BIN --train BIN --server BIN --loadgen BIN --cli BIN
#
# Checks, in order:
#  1. recommender-loadgen with --target ipv4:127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
#     (round_robin, chosen because the target lists several addresses)
#     spreads its requests: each replica's recommender_requests_total grows
#     by at least 10% of the requests sent in the first seconds;
#  2. replica 2 is SIGKILLed in the middle of a run: the run finishes, its
#     failures are at most KILL_ERROR_BUDGET and all UNAVAILABLE (the RPCs in
#     flight on the killed replica, or picked for it before the client saw its
#     connection close), the rest succeed, and both survivors keep answering
#     (their counters grow after the kill);
#  3. a new client given all three addresses, one of them dead, gets every
#     answer: round_robin sends nothing to the address that refuses
#     connections.
# The measured figures are printed as JSON lines on stdout.
set -euo pipefail

DATAGEN="" TRAIN="" SERVER="" LOADGEN="" CLI=""
CONCURRENCY="${CONCURRENCY:-8}"
KILL_ERROR_BUDGET="${KILL_ERROR_BUDGET:-$((4 * CONCURRENCY))}"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    --datagen) DATAGEN="$2"; shift 2;;
    --train) TRAIN="$2"; shift 2;;
    --server) SERVER="$2"; shift 2;;
    --loadgen) LOADGEN="$2"; shift 2;;
    --cli) CLI="$2"; shift 2;;
    *) echo "unknown argument '$1'; see --help" >&2; exit 2;;
  esac
done
for tool in "$DATAGEN" "$TRAIN" "$SERVER" "$LOADGEN" "$CLI"; do
  [ -x "$tool" ] || { echo "missing executable '$tool'; see --help" >&2; exit 2; }
done

log() { printf '[%s] multi-replica: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- a small model, shared by the three replicas --------------------------
"$DATAGEN" --customers 2000 --seed 11 --out "$WORK/data" >/dev/null 2>&1
"$TRAIN" --data "$WORK/data" --model-base "$WORK/models" --backtest-months 0 >/dev/null 2>"$WORK/train.log" ||
  { cat "$WORK/train.log" >&2; die "training failed"; }
[ -f "$WORK/models/1/manifest.json" ] || die "no model version 1"

# --- three replicas on free ports -----------------------------------------
GRPC_PORTS=()
METRICS_PORTS=()
for replica in 1 2 3; do
  "$SERVER" --model-base "$WORK/models" --host 127.0.0.1 --port 0 --drain-period 0s --metrics-host 127.0.0.1 --metrics-port 0 \
    --plaintext --allow-unauthenticated \
    2>"$WORK/server$replica.log" &
  PIDS+=($!)
done
for replica in 1 2 3; do
  line=""
  for _ in $(seq 100); do
    line="$(grep -m1 -oE 'gRPC on 127\.0\.0\.1:[0-9]+, metrics on http://127\.0\.0\.1:[0-9]+' \
      "$WORK/server$replica.log" || true)"
    [ -n "$line" ] && break
    sleep 0.1
  done
  [ -n "$line" ] || { cat "$WORK/server$replica.log" >&2; die "replica $replica did not start"; }
  GRPC_PORTS+=("$(sed -E 's/gRPC on 127\.0\.0\.1:([0-9]+),.*/\1/' <<<"$line")")
  METRICS_PORTS+=("${line##*:}")
  for _ in $(seq 100); do
    [ "$("$CLI" health --target "127.0.0.1:${GRPC_PORTS[-1]}" --timeout 1s 2>/dev/null || true)" = SERVING ] && break
    sleep 0.1
  done
  [ "$("$CLI" health --target "127.0.0.1:${GRPC_PORTS[-1]}" --timeout 1s 2>/dev/null || true)" = SERVING ] ||
    die "replica $replica is not SERVING"
done
TARGET="ipv4:127.0.0.1:${GRPC_PORTS[0]},127.0.0.1:${GRPC_PORTS[1]},127.0.0.1:${GRPC_PORTS[2]}"
log "replicas serving on gRPC ports ${GRPC_PORTS[*]} (metrics ${METRICS_PORTS[*]}); target $TARGET"

# Successful RecommendProducts answers of the replica whose metrics port is $1.
answered() {
  local body
  body="$(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && cat <&3)"
  awk '/^recommender_requests_total\{/ && /method="RecommendProducts"/ && /code="OK"/ { sum += $NF }
       END { printf "%d\n", sum }' <<<"$body"
}
# json_field NAME FILE: a top-level number of loadgen's JSON report.
json_field() { grep -oE "\"$1\": [0-9.]+" "$2" | head -n 1 | awk '{ print $2 }'; }

loadgen() {  # OUTPUT DURATION [TARGET]
  "$LOADGEN" --target "${3:-$TARGET}" --customers-file "$WORK/models/1" --concurrency "$CONCURRENCY" \
    --duration "$2" --timeout 2s --json --progress=false >"$1"
}

# --- 1 and 2: spread, then SIGKILL replica 2 under load -------------------
loadgen "$WORK/kill.json" 8s &
LOADGEN_PID=$!
sleep 3
BEFORE=()
for replica in 0 1 2; do BEFORE+=("$(answered "${METRICS_PORTS[$replica]}")"); done
kill -9 "${PIDS[1]}"
{ wait "${PIDS[1]}"; } 2>/dev/null || true
log "answers per replica after 3 s: ${BEFORE[*]}; SIGKILLed replica 2 (gRPC port ${GRPC_PORTS[1]})"
sleep 1
AFTER_KILL=("$(answered "${METRICS_PORTS[0]}")" "$(answered "${METRICS_PORTS[2]}")")
wait "$LOADGEN_PID" || die "loadgen failed during the kill run"
END=("$(answered "${METRICS_PORTS[0]}")" "$(answered "${METRICS_PORTS[2]}")")
cat "$WORK/kill.json"

total_before=$((BEFORE[0] + BEFORE[1] + BEFORE[2]))
[ "$total_before" -gt 0 ] || die "no replica answered anything in the first 3 s"
for replica in 0 1 2; do
  [ $((BEFORE[replica] * 10)) -ge "$total_before" ] ||
    die "replica $((replica + 1)) answered ${BEFORE[replica]} of $total_before requests: round_robin did not spread the load"
done
printf '{"phase": "spread", "answers_per_replica": [%d, %d, %d]}\n' "${BEFORE[@]}"

requests="$(json_field requests "$WORK/kill.json")"
ok="$(json_field ok "$WORK/kill.json")"
errors="$(json_field errors "$WORK/kill.json")"
[ "$errors" -le "$KILL_ERROR_BUDGET" ] ||
  die "$errors of $requests requests failed across the kill (budget $KILL_ERROR_BUDGET)"
other_codes="$(grep -oE '"errors_by_code": \{[^}]*\}' "$WORK/kill.json" | grep -oE '"[A-Z_]+"' | grep -v UNAVAILABLE || true)"
[ -z "$other_codes" ] || die "failures other than UNAVAILABLE across the kill: $other_codes"
for i in 0 1; do
  [ "${END[i]}" -gt "${AFTER_KILL[i]}" ] || die "a surviving replica stopped answering after the kill"
done
printf '{"phase": "kill", "requests": %d, "ok": %d, "errors": %d, "survivor_answers_after_kill": [%d, %d]}\n' \
  "$requests" "$ok" "$errors" $((END[0] - BEFORE[0])) $((END[1] - BEFORE[2]))

# --- 3: a new client, one address dead ------------------------------------
loadgen "$WORK/after.json" 3s || die "loadgen failed with one replica dead"
cat "$WORK/after.json"
after_errors="$(json_field errors "$WORK/after.json")"
[ "$after_errors" -eq 0 ] || die "$after_errors requests failed with one of three addresses dead"
printf '{"phase": "one_dead", "requests": %d, "errors": %d}\n' "$(json_field requests "$WORK/after.json")" "$after_errors"
log "passed: load spread over 3 replicas, $errors of $requests failed across the SIGKILL, none with one replica dead"
