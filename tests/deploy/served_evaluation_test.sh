#!/usr/bin/env bash
# The trainer's test figures for an interactions model are what a caller of
# recommender-server gets: a generated interaction log with structure is
# trained with --evaluation-model-base, a real server serves the test-split
# fit, and recommender-evaluate scores it through RecommendProductsBatch.
#
#   tests/deploy/served_evaluation_test.sh --train BIN --server BIN --evaluate BIN --cli BIN
#
# Checks:
#  1. the served MAP, nDCG@10, precision@10 and recall@10 equal the trainer's
#     for the chosen model (to 0.002: float summation order may reorder a
#     near tie), every answer from version 1, all personalised;
#  2. asked as unknown customers with their training products as current
#     holdings (fold-in), the figures are the same again when EASE or the
#     blend was chosen (their customer factors are the sum of the held
#     products' factors); for PureSVD they are only printed;
#  3. the trainer reported the three factorisations, and the manifest of
#     the served version records them.
# Run three times: choosing among PureSVD, EASE and the blend, with EASE
# alone, and with the blend alone.
set -euo pipefail

TRAIN="" SERVER="" EVALUATE="" CLI=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    --train) TRAIN="$2"; shift 2;;
    --server) SERVER="$2"; shift 2;;
    --evaluate) EVALUATE="$2"; shift 2;;
    --cli) CLI="$2"; shift 2;;
    *) echo "unknown argument '$1'; see --help" >&2; exit 2;;
  esac
done
for tool in "$TRAIN" "$SERVER" "$EVALUATE" "$CLI"; do
  [ -x "$tool" ] || { echo "missing executable '$tool'; see --help" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/served-evaluation.XXXXXX")"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 400 customers in 8 taste groups over 200 products: a customer takes each
# product of its group's block with probability 0.3, any other with 0.02,
# so there is structure to learn and noise to rank ties apart.
awk 'BEGIN {
  srand(7); print "customer_id,product_id";
  for (c = 1; c <= 400; c++) {
    g = c % 8;
    for (p = 0; p < 200; p++) {
      q = (int(p / 25) == g) ? 0.3 : 0.02;
      if (rand() < q) printf "%d,item%03d\n", c, p;
    }
  }
}' > "$WORK/log.csv"

# Both numbers present and within 0.002 (float summation order may reorder a
# near tie between the trainer's and the server's scoring).
close() {
  [ -n "$1" ] && [ -n "$2" ] || return 1
  awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.002) }'
}
# The four figures after the label: MAP nDCG@10 P@10 R@10 (empty when absent).
figures() { grep -E "^$1 " "$2" | head -1 | awk '{print $5, $7, $9, $11}' || true; }

# run_case NAME [trainer flags...]: trains into $WORK/NAME, serves its
# evaluation version, scores it, and checks the figures.
run_case() {
  local name="$1"; shift
  local dir="$WORK/$name"
  mkdir -p "$dir"
  echo "== $name"
  "$TRAIN" --interactions "$WORK/log.csv" --model-base "$dir/models" --evaluation-model-base "$dir/evaluation" \
    --k 10 --seed 3 "$@" > "$dir/train.out" 2> "$dir/train.err" || { cat "$dir/train.err" >&2; fail "$name: training"; }
  [ -f "$dir/evaluation/1/manifest.json" ] || fail "$name: no evaluation version written"
  python3 - "$dir/evaluation/1/manifest.json" <<'PY' || fail "$name: the manifest does not record the three factorisations, one chosen"
import json, sys
entries = json.load(open(sys.argv[1]))["evaluation"]["factorisations"]
assert [e["name"] for e in entries] == ["PureSVD", "EASE", "EASE + PureSVD"], entries
assert sum(1 for e in entries if e.get("chosen")) == 1, entries
PY
  [ -f "$dir/evaluation/test_interactions.csv" ] || fail "$name: no held-out file written"
  local t_map t_ndcg t_precision t_recall s_map s_ndcg s_precision s_recall f_map f_ndcg f_precision f_recall
  read -r t_map t_ndcg t_precision t_recall < <(
    grep -E '^  model \(' "$dir/train.out" | head -1 | awk '{print $(NF-5), $(NF-4), $(NF-3), $(NF-2)}' || true) ||
    fail "$name: no model row in the trainer's output"
  CHOSEN="$(sed -n 's/^  chosen on validation: //p' "$dir/train.out")"

  "$SERVER" --model-base "$dir/evaluation" --host 127.0.0.1 --port 0 --metrics-port 0 --drain-period 0s \
    --plaintext --allow-unauthenticated > /dev/null 2> "$dir/server.log" &
  SERVER_PID=$!
  local port=""
  for _ in $(seq 1 300); do
    port="$(sed -n 's/.*gRPC on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$dir/server.log" | head -1)"
    [ -n "$port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/server.log" >&2; fail "$name: server exited"; }
    sleep 0.1
  done
  [ -n "$port" ] || fail "$name: server did not report its port"
  for _ in $(seq 1 300); do
    "$CLI" health --target "127.0.0.1:$port" > /dev/null 2>&1 && break
    sleep 0.1
  done
  "$EVALUATE" --target "127.0.0.1:$port" --heldout "$dir/evaluation/test_interactions.csv" --k 10 \
    --expect-version 1 --fold-in-from "$dir/evaluation/train_interactions.csv" > "$dir/evaluate.out" \
    2> "$dir/evaluate.err" || { cat "$dir/evaluate.err" "$dir/evaluate.out" >&2; fail "$name: recommender-evaluate"; }
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  cat "$dir/evaluate.out"
  read -r s_map s_ndcg s_precision s_recall < <(figures served "$dir/evaluate.out") ||
    fail "$name: no served row from recommender-evaluate"
  read -r f_map f_ndcg f_precision f_recall < <(figures fold-in "$dir/evaluate.out") ||
    fail "$name: no fold-in row from recommender-evaluate"
  grep -A1 -E '^served ' "$dir/evaluate.out" | grep -q 'STRATEGY_PERSONALISED=400' || fail "$name: not all personalised"
  grep -A1 -E '^fold-in ' "$dir/evaluate.out" | grep -q 'STRATEGY_FOLD_IN=400' || fail "$name: not all folded in"
  echo "chosen: $CHOSEN"
  echo "trainer: MAP $t_map nDCG $t_ndcg P $t_precision R $t_recall"
  for pair in "MAP $t_map $s_map" "nDCG $t_ndcg $s_ndcg" "P@10 $t_precision $s_precision" "R@10 $t_recall $s_recall"; do
    set -- $pair
    close "$2" "$3" || fail "$name: served $1 $3 differs from the trainer's $2"
  done
  case "$CHOSEN" in
    EASE*)
      for pair in "MAP $s_map $f_map" "nDCG $s_ndcg $f_ndcg" "P@10 $s_precision $f_precision" "R@10 $s_recall $f_recall"; do
        set -- $pair
        close "$2" "$3" || fail "$name: fold-in $1 $3 differs from the personalised $2 ($CHOSEN)"
      done;;
  esac
}

# All three factorisations, chosen among on validation.
run_case all
grep -q '^  PureSVD ' "$WORK/all/train.out" || fail "no PureSVD row in the factorisations table"
grep -qE '^  EASE +(\(chosen\) +)?EASE, binary' "$WORK/all/train.out" || fail "no EASE row in the factorisations table"
grep -q '^  EASE + PureSVD' "$WORK/all/train.out" || fail "no EASE + PureSVD row in the factorisations table"
# EASE alone: its fold-in must reproduce the personalised figures.
run_case ease --factorisations ease
case "$CHOSEN" in EASE*) ;; *) fail "--factorisations ease chose '$CHOSEN'";; esac
grep -q '^  PureSVD .*not tried: not asked for' "$WORK/ease/train.out" || fail "PureSVD not reported as not asked for"
# The blend alone: its fold-in must reproduce the personalised figures too.
run_case blend --factorisations blend
case "$CHOSEN" in "EASE + PureSVD"*) ;; *) fail "--factorisations blend chose '$CHOSEN'";; esac
echo "OK: served figures equal the trainer's; EASE and blend fold-in equal their personalised figures"
