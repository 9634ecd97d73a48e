#!/usr/bin/env bash
# The Connect port driven by clients nobody here wrote, against a real
# recommender-server with TLS and a bearer token: every curl example of
# docs/api.md's "JSON over HTTP (Connect)" section, run as printed (with
# this run's port, CA file and a customer of this run's model), and a Node.js
# client built on @connectrpc/connect-node and @bufbuild/protobuf from npm
# (installed in a scratch folder outside the repository; see npm_scratch.sh)
# that covers a known customer, an unknown one, a bad id, feedback and a
# missing token.
#
#   tests/deploy/connect_clients_test.sh --bin-dir build/bin [--repo DIR]
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    --bin-dir) BIN="$2"; shift 2;;
    --repo) REPO="$2"; shift 2;;
    *) echo "unknown argument '$1'; see --help" >&2; exit 2;;
  esac
done
[ -n "$BIN" ] || { echo "--bin-dir is required (see --help)" >&2; exit 2; }
for tool in curl node openssl protoc python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found (scripts/test installs what the tests need)" >&2; exit 2; }
done
source "$REPO/tests/deploy/npm_scratch.sh"
NODE_MODULES="$(npm_scratch @connectrpc/connect@2.3.0 @connectrpc/connect-node@2.3.0 @bufbuild/protobuf@2.17.0)/node_modules"

log() { printf '[%s] connect_clients_test: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/recommender-connect-test.XXXXXX")"
SERVER_PID=""
cleanup() {
  local status=$?
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "$status" -ne 0 ] && [ -s "$WORK/server.log" ]; then echo "--- server.log" >&2; tail -n 20 "$WORK/server.log" >&2; fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

log "training a model version (2,000 customers)"
"$BIN/recommender-datagen" --customers 2000 --seed 7 --out "$WORK/data" > "$WORK/datagen.log" 2>&1
"$BIN/recommender-train" --data "$WORK/data" --model-base "$WORK/models" --factors 6 --clusters 4 \
  --backtest-months 0 > "$WORK/train.log" 2>&1
# A customer the model knows: one of the newest month's rows.
CUSTOMER="$(awk -F, 'NR > 1 { id = $1 } END { print id }' "$WORK/data/customer_products.csv")"
[ -n "$CUSTOMER" ] || { log "no customer id in the data"; exit 1; }

log "making a CA, a server certificate for localhost and a token"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/ca.key" \
  -out "$WORK/ca.pem" -days 2 -subj /CN=test-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/server.key" \
  -out "$WORK/server.csr" -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$WORK/san.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
  -out "$WORK/server.pem" -days 2 -extfile "$WORK/san.ext" 2>/dev/null
TOKEN="$("$BIN/recommender-cli" token new --name web --roles recommend --append-to "$WORK/tokens" 2>/dev/null)"
chmod 600 "$WORK/tokens"

log "starting recommender-server with TLS, tokens and --http-port 0"
"$BIN/recommender-server" --model-base "$WORK/models" --host 127.0.0.1 --port 0 --http-port 0 \
  --metrics-host 127.0.0.1 --metrics-port 0 --drain-period 0s \
  --tls-cert-file "$WORK/server.pem" --tls-key-file "$WORK/server.key" --auth-token-file "$WORK/tokens" \
  --event-log-dir "$WORK/events" --audit-log "$WORK/audit.log" 2> "$WORK/server.log" &
SERVER_PID=$!
HTTP_PORT=""
for _ in $(seq 1 100); do
  HTTP_PORT="$(sed -n 's/.*Connect (JSON and protobuf over HTTP) on https:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log")"
  [ -n "$HTTP_PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { log "recommender-server exited"; exit 1; }
  sleep 0.1
done
[ -n "$HTTP_PORT" ] || { log "recommender-server printed no HTTP port within 10 s"; exit 1; }
BASE="https://localhost:$HTTP_PORT"
# Serving once GetModelInfo answers.
for _ in $(seq 1 100); do
  curl -sf --cacert "$WORK/ca.pem" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{}' "$BASE/easymoney.recommender.v1.Recommender/GetModelInfo" >/dev/null && break
  sleep 0.1
done

log "running the curl examples of docs/api.md"
python3 - "$REPO/docs/api.md" "$WORK/examples" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
section = text[text.index("## JSON over HTTP (Connect)"):]
section = section[:section.index("\n## ", 1)]
blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
os.makedirs(sys.argv[2])
for i, block in enumerate(blocks):
    open(os.path.join(sys.argv[2], "%02d.sh" % i), "w").write(block)
print(len(blocks), "examples", file=sys.stderr)
PY
examples=0
for example in "$WORK"/examples/*.sh; do
  # The documented port, CA file and customer become this run's.
  sed -i -e "s#https://localhost:8080#$BASE#g" -e "s#--cacert ca.pem#--cacert $WORK/ca.pem#g" \
    -e "s#\"customerId\": \"15889\"#\"customerId\": \"$CUSTOMER\"#g" "$example"
  status=0
  output="$(RECOMMENDER_TOKEN="$TOKEN" bash "$example" 2>"$WORK/example.err")" || status=$?
  if grep -q -- '--fail-with-body' "$example"; then
    [ "$status" = 0 ] || { log "FAIL: $(basename "$example") exited $status: $output"; cat "$example" "$WORK/example.err" >&2; exit 1; }
    python3 -c 'import json, sys; json.loads(sys.argv[1])' "$output" ||
      { log "FAIL: $(basename "$example") printed no JSON: $output"; exit 1; }
  else
    grep -q '"code":"' <<< "$output" || { log "FAIL: $(basename "$example") printed no Connect error: $output"; exit 1; }
  fi
  log "PASS example $(basename "$example"): ${output:0:120}"
  examples=$((examples + 1))
done
[ "$examples" -ge 4 ] || { log "FAIL: only $examples curl examples found in docs/api.md"; exit 1; }

log "driving the port with @connectrpc/connect-node"
protoc --include_imports --descriptor_set_out="$WORK/recommender.binpb" -I "$REPO/proto" \
  easymoney/recommender/v1/recommender.proto
# The client script resolves its packages from the scratch folder.
cp "$REPO/tests/deploy/connect_node_client.mjs" "$WORK/client.mjs"
ln -s "$NODE_MODULES" "$WORK/node_modules"
node "$WORK/client.mjs" "$BASE" "$WORK/ca.pem" "$TOKEN" "$WORK/recommender.binpb" "$CUSTOMER"
log "PASS"
