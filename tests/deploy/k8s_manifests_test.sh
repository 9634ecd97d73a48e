#!/usr/bin/env bash
# Checks the Kubernetes manifests of deploy/k8s against each other and against
# what they deploy: the Dockerfile, scripts/container, scripts/sync-models and
# the recommender-server binary.
#
#   tests/deploy/k8s_manifests_test.sh --server build/bin/recommender-server [--repo .] [--no-breakages]
#
# With kubectl installed, every manifest is parsed by it offline
# (`kubectl label --local -o jsonpath`; `kubectl create --dry-run=client`
# would need a cluster for API discovery), `kubectl kustomize` must build the
# directory, and the values this test reads are compared with kubectl's.
# Without kubectl (or with KUBECTL= in the environment), a structural check
# runs instead. Either way the consistency checks run: image name, ports,
# server and sidecar flags, Service and ServiceMonitor ports and selectors,
# volumes and ConfigMaps, HPA and PDB targets, and that kustomization.yaml
# lists every file. Protection: the server containers and the image's CMD
# serve TLS with bearer tokens (--tls-cert-file, --tls-key-file,
# --auth-token-file; never --plaintext or --allow-unauthenticated), the files
# those flags name are on read-only Secret volumes mounted without subPath,
# and the probes and the HEALTHCHECK are `recommender-cli health` on the
# loopback --health-address port (native gRPC probes cannot do TLS).
# Then, unless --no-breakages, each entry of a list of deliberate breakages
# (e.g. --plaintext added, a probe on the TLS port) is applied to a copy of
# the files and the test must fail on it with the expected message.
# The manifests must be block-style YAML (no {...} or [...] except empty
# ones): that is what this test's reader reads.
# Exit status 0 when every check passes, 1 otherwise (each failure printed).
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVER=""
BREAKAGES=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    --server) SERVER="$2"; shift 2;;
    --repo) REPO="$2"; shift 2;;
    --no-breakages) BREAKAGES=0; shift;;
    *) echo "unknown argument '$1'; see --help" >&2; exit 2;;
  esac
done
[ -x "$SERVER" ] || { echo "--server must name the recommender-server binary (got '$SERVER')" >&2; exit 2; }
K8S="$REPO/deploy/k8s"
KUBECTL="${KUBECTL-$(command -v kubectl || true)}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

FAILURES=0
fail() { echo "FAIL: $*" >&2; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*" >&2; }

# Flattens block-style YAML into one line per scalar: DOC<TAB>PATH<TAB>VALUE,
# e.g. "0<TAB>spec.template.spec.containers[0].ports[1].containerPort<TAB>9464".
# DOC counts the documents of the file from 0. Block scalars (|) become one
# value with \n between lines.
flatten() {
  awk '
    function emit(path, value) { printf "%d\t%s\t%s\n", doc, path, value }
    function unquote(v) {
      if (v ~ /^".*"$/ || v ~ /^\047.*\047$/) return substr(v, 2, length(v) - 2)
      return v
    }
    function join(parent, key) { return parent == "" ? key : parent "." key }
    # The children of one map or list share a column; YAML would read a
    # stray one differently (or not at all).
    function check_column(col) {
      if (children[sp] == "") children[sp] = col
      else if (children[sp] != col) {
        printf "line %d: indented %d spaces where its siblings have %d\n", NR, col, children[sp] > "/dev/stderr"
        bad = 1
        exit 3
      }
    }
    # A "key: value" or "key:" at column col, below the entry on top of the stack.
    function key_line(col, text,    key, value, parent) {
      while (sp > 0 && ind[sp] >= col) sp--
      check_column(col)
      parent = sp > 0 ? pth[sp] : ""
      key = text; sub(/:.*/, "", key)
      value = text; sub(/^[^:]*:[ ]*/, "", value)
      if (value !~ /^["\047]/) sub(/[ ]+#.*$/, "", value)
      if (value == "") { sp++; ind[sp] = col; pth[sp] = join(parent, key); item[sp] = 0; children[sp] = ""; return }
      if (value ~ /^[|>][-+]?$/) { block_path = join(parent, key); block_col = col; block_value = ""; in_block = 1; return }
      emit(join(parent, key), unquote(value))
    }
    BEGIN { doc = 0; sp = 0; in_block = 0; children[0] = 0 }
    {
      line = $0
      sub(/\r$/, "", line)
      match(line, /^ */); col = RLENGTH
      text = substr(line, col + 1)
      if (in_block) {
        if (text == "" || col > block_col) {
          block_value = block_value (block_value == "" ? "" : "\\n") substr(line, block_col + 3)
          next
        }
        emit(block_path, block_value); in_block = 0
      }
      if (line ~ /^---/) { doc++; sp = 0; delete count; children[0] = 0; next }
      if (text == "" || text ~ /^#/) next
      if (text ~ /^- / || text == "-") {
        while (sp > 0 && (ind[sp] > col || (ind[sp] == col && item[sp]))) sp--
        check_column(col)
        parent = sp > 0 ? pth[sp] : ""
        n = count[parent]++
        sp++; ind[sp] = col; pth[sp] = parent "[" n "]"; item[sp] = 1; children[sp] = ""
        rest = substr(text, 3)
        if (rest ~ /^[A-Za-z0-9_.\/-]+:( |$)/) key_line(col + 2, rest)
        else if (rest != "") { if (rest !~ /^["\047]/) sub(/[ ]+#.*$/, "", rest); emit(pth[sp], unquote(rest)) }
        next
      }
      if (text ~ /^[A-Za-z0-9_.\/"-]+:( |$)/) { key_line(col, text); next }
      printf "unreadable line %d: %s\n", NR, line > "/dev/stderr"
      exit 3
    }
    END { if (in_block && !bad) emit(block_path, block_value) }
  ' "$1"
}

MANIFESTS=()
for file in "$K8S"/*.yaml; do
  [ "${file##*/}" = kustomization.yaml ] && continue
  MANIFESTS+=("$file")
done
[ ${#MANIFESTS[@]} -gt 0 ] || { echo "no manifests in $K8S" >&2; exit 1; }

ALL="$WORK/all.tsv"  # FILE<TAB>DOC<TAB>PATH<TAB>VALUE of every manifest
: >"$ALL"
for file in "${MANIFESTS[@]}"; do
  if ! flatten "$file" >"$WORK/one.tsv"; then
    fail "${file##*/} is not block-style YAML this test can read"
    continue
  fi
  awk -v f="${file##*/}" '{ print f "\t" $0 }' "$WORK/one.tsv" >>"$ALL"
done

# get FILE DOC PATH: the value at PATH (the first one), empty when absent.
# From memory: the checks call it hundreds of times.
declare -A VALUE
while IFS=$'\t' read -r f d p v; do
  [[ -v VALUE["$f"$'\t'"$d"$'\t'"$p"] ]] || VALUE["$f"$'\t'"$d"$'\t'"$p"]="$v"
done <"$ALL"
get() { printf '%s\n' "${VALUE["$1"$'\t'"$2"$'\t'"$3"]-}"; }
# under FILE DOC PREFIX SUFFIX: the values at PREFIX[0]SUFFIX, PREFIX[1]SUFFIX, ...
under() {
  local i key n="${COUNT["$1"$'\t'"$2"$'\t'"$3"]-0}"
  for ((i = 0; i < n; i++)); do
    key="$1"$'\t'"$2"$'\t'"$3[$i]$4"
    if [[ -v VALUE["$key"] ]]; then printf '%s\n' "${VALUE["$key"]}"; fi
  done
}
# list FILE DOC PREFIX: the scalars PREFIX[0], PREFIX[1], ... in order.
list() { under "$1" "$2" "$3" ""; }
# count FILE DOC PREFIX: how many items PREFIX[i] has (scalars or maps).
declare -A COUNT
while IFS=$'\t' read -r f d p n; do COUNT["$f"$'\t'"$d"$'\t'"$p"]="$n"; done < <(awk -F'\t' '
  {
    path = $3; done = 0
    while (match(substr(path, done + 1), /\[[0-9]+\]/)) {
      prefix = substr(path, 1, done + RSTART - 1)
      n = substr(path, done + RSTART + 1, RLENGTH - 2) + 1
      key = $1 "\t" $2 "\t" prefix
      if (n > most[key]) most[key] = n
      done += RSTART + RLENGTH - 1
    }
  }
  END { for (key in most) print key "\t" most[key] }' "$ALL")
count() { printf '%s\n' "${COUNT["$1"$'\t'"$2"$'\t'"$3"]-0}"; }
# docs KIND: "FILE<TAB>DOC" of every object of that kind.
docs() { awk -F'\t' -v k="$1" '$3 == "kind" && $4 == k { print $1 "\t" $2 }' "$ALL"; }
# labels FILE DOC PREFIX: "key=value" lines of the string map at PREFIX (keys
# such as app.kubernetes.io/name contain dots, so everything below PREFIX is
# taken as one key).
labels() {
  awk -F'\t' -v f="$1" -v d="$2" -v p="$3." '
    $1 == f && $2 == d && index($3, p) == 1 && substr($3, length(p) + 1) !~ /\[/ {
      print substr($3, length(p) + 1) "=" $4 }' "$ALL"
}
# subset A B: A is not empty and every line of A is a line of B.
subset() { [ -n "$1" ] && [ -z "$(comm -23 <(sort <<<"$1") <(sort <<<"$2"))" ]; }

# flag_value FLAG: reads command-line arguments, one a line, on stdin and
# prints the value of the last --FLAG, given as --FLAG=VALUE or --FLAG VALUE
# ("true" for a bare boolean flag; names accept - or _); status 1 when absent.
flag_value() {
  local line name value="" found=0 pending=0
  while IFS= read -r line; do
    if [ "$pending" = 1 ]; then
      pending=0
      found=1
      value=true
      if [[ "$line" != --* ]]; then value="$line"; continue; fi
    fi
    [[ "$line" == --* ]] || continue
    name="${line#--}"
    name="${name%%=*}"
    [ "${name//_/-}" = "$1" ] || continue
    if [[ "$line" == *=* ]]; then value="${line#*=}"; found=1; else pending=1; fi
  done
  if [ "$pending" = 1 ]; then value=true; found=1; fi
  [ "$found" = 1 ] && printf '%s\n' "$value"
}
# is_set VALUE: whether an Abseil boolean flag value means true.
is_set() { case "${1,,}" in false|f|no|n|0) return 1;; *) return 0;; esac; }
# is_loopback HOST:PORT: whether the address is on loopback only.
is_loopback() { case "${1%:*}" in 127.0.0.1|localhost|'[::1]') return 0;; *) return 1;; esac; }
# duration_ms DURATION: an Abseil duration such as 2s or 500ms in milliseconds;
# status 1 for other forms.
duration_ms() {
  awk -v d="$1" 'BEGIN {
    if (d ~ /^[0-9]+(\.[0-9]+)?ms$/) { sub(/ms$/, "", d); print d + 0; exit }
    if (d ~ /^[0-9]+(\.[0-9]+)?s$/) { sub(/s$/, "", d); print d * 1000; exit }
    if (d ~ /^[0-9]+(\.[0-9]+)?m$/) { sub(/m$/, "", d); print d * 60000; exit }
    exit 1 }'
}
# check_protection WHERE ARGS: recommender-server arguments (one a line)
# serve TLS with bearer tokens and a loopback health port; prints nothing.
check_protection() {
  local where="$1" args="$2" switch value flag
  for switch in plaintext allow-unauthenticated; do
    if value="$(flag_value "$switch" <<<"$args")" && is_set "$value"; then
      fail "$where: --$switch: the server must serve TLS with bearer tokens here (development only)"
    fi
  done
  for flag in tls-cert-file tls-key-file auth-token-file health-address; do
    [ -n "$(flag_value "$flag" <<<"$args" || true)" ] ||
      fail "$where: lacks --$flag (TLS key pair, bearer tokens and the probes' health port are required)"
  done
  value="$(flag_value health-address <<<"$args" || true)"
  if [ -n "$value" ] && ! is_loopback "$value"; then
    fail "$where: --health-address=$value is not on loopback: the plaintext health port must stay inside the pod"
  fi
}
# check_health_command WHERE COMMAND HEALTH_ADDRESS TIMEOUT_MS: COMMAND (one
# word a line) is `recommender-cli health` on HEALTH_ADDRESS's port, on
# loopback, with a --timeout shorter than TIMEOUT_MS (the probe's own).
check_health_command() {
  local where="$1" health_address="$3" limit_ms="$4" target timeout timeout_ms words
  mapfile -t words <<<"$2"
  if [ "${words[0]-}" != recommender-cli ] || [ "${words[1]-}" != health ]; then
    fail "$where runs '${words[*]}', not recommender-cli health"
    return
  fi
  # The cli's defaults: --target 127.0.0.1:50051, --timeout 5s.
  target="$(printf '%s\n' "${words[@]:2}" | flag_value target || echo 127.0.0.1:50051)"
  if [ -z "$health_address" ] || [ "${target##*:}" != "${health_address##*:}" ]; then
    fail "$where: --target $target is not the --health-address port (${health_address:-none}): the gRPC port serves TLS"
  elif ! is_loopback "$target"; then
    fail "$where: --target $target is not loopback"
  fi
  timeout="$(printf '%s\n' "${words[@]:2}" | flag_value timeout || echo 5s)"
  if ! timeout_ms="$(duration_ms "$timeout")"; then
    fail "$where: cannot read --timeout $timeout"
  elif [ "$(awk -v a="$timeout_ms" -v b="$limit_ms" 'BEGIN { print (a < b) }')" != 1 ]; then
    fail "$where: recommender-cli --timeout $timeout is not shorter than the probe's own timeout ($limit_ms ms): the probe would be ended before the cli reports"
  fi
}

# --- what the manifests deploy -------------------------------------------
IMAGE_BUILT="$(sed -n 's/^IMAGE="\${IMAGE:-\(.*\)}"$/\1/p' "$REPO/scripts/container")"
[ -n "$IMAGE_BUILT" ] || fail "cannot read the default IMAGE of scripts/container"
EXPOSED="$(awk 'toupper($1) == "EXPOSE" { for (i = 2; i <= NF; i++) print $i }' "$REPO/Dockerfile" | sort -n)"
[ -n "$EXPOSED" ] || fail "the Dockerfile exposes no port"
# Abseil's --help exits with status 1.
SERVER_HELP="$("$SERVER" --help 2>&1 || true)"
SERVER_FLAGS="$(grep -oE -- '^ +--[a-z0-9_]+' <<<"$SERVER_HELP" | tr -d ' ' | sort -u)"
[ -n "$SERVER_FLAGS" ] || fail "$SERVER --help lists no flags"
declare -A IS_SERVER_FLAG
for flag in $SERVER_FLAGS; do IS_SERVER_FLAG["$flag"]=1; done
# is_server_flag --NAME: whether recommender-server --help lists it (names accept - or _).
is_server_flag() { local flag="${1//-/_}"; [ -n "${IS_SERVER_FLAG["--${flag#__}"]-}" ]; }
SYNC_HELP="$("$REPO/scripts/sync-models" --help)"
grep -qE '^COPY scripts/sync-models /usr/local/bin/recommender-sync-models$' "$REPO/Dockerfile" ||
  fail "the Dockerfile does not install scripts/sync-models as recommender-sync-models (the sidecar's command)"
# The Dockerfile's instructions, continuation lines joined.
DOCKERFILE="$(awk '{ line = line $0 } /\\$/ { sub(/\\$/, "", line); next } { print line; line = "" }' "$REPO/Dockerfile")"
grep -E '^COPY ' <<<"$DOCKERFILE" | grep -qE ' /src/build/bin/recommender-cli .*/usr/local/bin/$' ||
  fail "the Dockerfile does not install recommender-cli (the HEALTHCHECK's and the probes' command)"
# exec_form TEXT: the words of a JSON exec form ["a", "b", ...], one a line.
exec_form() { sed -n 's/^ *\[\(.*\)\] *$/\1/p' <<<"$1" | grep -oE '"[^"]*"' | sed 's/^"//; s/"$//'; }
IMAGE_CMD="$(exec_form "$(sed -n 's/^CMD //p' <<<"$DOCKERFILE" | tail -n 1)")"
if [ -z "$IMAGE_CMD" ]; then
  fail "the Dockerfile has no CMD in exec form (CMD [\"--flag\", \"value\", ...])"
else
  for flag in $(grep -oE '^--[a-z0-9_-]+' <<<"$IMAGE_CMD"); do
    is_server_flag "$flag" ||
      fail "the Dockerfile's CMD: $flag is not a flag of recommender-server --help"
  done
  check_protection "the Dockerfile's CMD" "$IMAGE_CMD"
fi
IMAGE_HEALTH_ADDRESS="$(flag_value health-address <<<"$IMAGE_CMD" || true)"
HEALTHCHECK_LINE="$(grep -E '^HEALTHCHECK ' <<<"$DOCKERFILE" | tail -n 1)"
HEALTHCHECK_TIMEOUT="$(grep -oE -- '--timeout=[^ ]+' <<<"${HEALTHCHECK_LINE%% CMD *}" | cut -d= -f2)"
if [ -z "$HEALTHCHECK_LINE" ]; then
  fail "the Dockerfile has no HEALTHCHECK"
else
  check_health_command "the Dockerfile's HEALTHCHECK" "$(exec_form "${HEALTHCHECK_LINE#* CMD }")" \
    "$IMAGE_HEALTH_ADDRESS" "$(duration_ms "${HEALTHCHECK_TIMEOUT:-30s}" || echo 0)"
fi

# arg_value FLAG: the value of the last --FLAG in $args, empty when absent.
arg_value() { flag_value "$1" <<<"$args" || true; }

# --- every object ---------------------------------------------------------
while IFS=$'\t' read -r file doc; do
  for field in apiVersion kind metadata.name; do
    [ -n "$(get "$file" "$doc" "$field")" ] || fail "$file document $doc has no $field"
  done
done < <(awk -F'\t' '{ print $1 "\t" $2 }' "$ALL" | sort -u)
if grep -n "$(printf '\t')" "$K8S"/*.yaml >/dev/null; then fail "a manifest contains a tab"; fi

# --- Deployments: containers, ports, probes, flags, volumes ---------------
DEPLOYMENTS="$(docs Deployment)"
[ "$(wc -l <<<"$DEPLOYMENTS")" -ge 2 ] || fail "expected the stable and the canary Deployment, found: $DEPLOYMENTS"
POD_LABEL_SETS=()
while IFS=$'\t' read -r file doc; do
  name="$(get "$file" "$doc" metadata.name)"
  spec="spec.template.spec"
  pod_labels="$(labels "$file" "$doc" spec.template.metadata.labels)"
  POD_LABEL_SETS+=("$file	$doc	$pod_labels")
  subset "$(labels "$file" "$doc" spec.selector.matchLabels)" "$pod_labels" ||
    fail "$name: spec.selector.matchLabels are not all pod template labels"
  [ "$(get "$file" "$doc" "$spec.securityContext.runAsNonRoot")" = true ] || fail "$name: runAsNonRoot is not true"
  volumes="$(under "$file" "$doc" "$spec.volumes" .name)"
  server_seen=0
  for kind in initContainers containers; do
    for ((i = 0, n_i = $(count "$file" "$doc" "$spec.$kind"); i < n_i; i++)); do
      c="$spec.$kind[$i]"
      cname="$(get "$file" "$doc" "$c.name")"
      image="$(get "$file" "$doc" "$c.image")"
      [ "${image%:*}" = "$IMAGE_BUILT" ] ||
        fail "$name/$cname: image '$image' is not the image scripts/container builds ($IMAGE_BUILT)"
      for ((m = 0, n_m = $(count "$file" "$doc" "$c.volumeMounts"); m < n_m; m++)); do
        mount="$(get "$file" "$doc" "$c.volumeMounts[$m].name")"
        [[ $'\n'"$volumes"$'\n' == *$'\n'"$mount"$'\n'* ]] || fail "$name/$cname: volumeMount '$mount' is not a volume of the pod"
      done
      command="$(list "$file" "$doc" "$c.command" | head -n 1)"
      args="$(list "$file" "$doc" "$c.args")"
      if [ "$command" = recommender-sync-models ]; then
        for flag in $(grep -oE '^--[a-z-]+' <<<"$args"); do
          grep -qE -- "(^| )$flag " <<<"$SYNC_HELP" || fail "$name/$cname: $flag is not an option of scripts/sync-models"
        done
        continue
      fi
      [ -z "$command" ] || fail "$name/$cname: command '$command' overrides the image's recommender-server entrypoint"
      server_seen=1
      # Flags: each must exist in recommender-server --help (names accept - or _).
      for arg in $args; do
        flag="${arg%%=*}"
        [[ "$flag" == --* ]] || { fail "$name/$cname: argument '$arg' is not --flag=value"; continue; }
        is_server_flag "$flag" ||
          fail "$name/$cname: $flag is not a flag of recommender-server --help"
      done
      check_protection "$name/$cname" "$args"
      # Replicas verify each other's request ids only with one shared key
      # file (a single container may do with its own random key).
      [ -n "$(flag_value feedback-key-file <<<"$args" || true)" ] ||
        fail "$name/$cname: lacks --feedback-key-file (the replicas' shared keys for request ids)"
      # The same layout as the image's CMD, which docs/deployment.md describes.
      for flag in tls-cert-file tls-key-file auth-token-file health-address; do
        value="$(flag_value "$flag" <<<"$args" || true)"
        [ -z "$value" ] || [ "$value" = "$(flag_value "$flag" <<<"$IMAGE_CMD" || true)" ] ||
          fail "$name/$cname: --$flag=$value is not the Dockerfile CMD's ($(flag_value "$flag" <<<"$IMAGE_CMD" || echo none))"
      done
      # The files of TLS and tokens: on read-only Secret volumes, mounted
      # whole (a subPath mount never sees a Secret update, so a rotated
      # certificate or a revoked token would not take effect).
      key_pair_volumes=""
      for flag in tls-cert-file tls-key-file tls-client-ca-file auth-token-file feedback-key-file; do
        path="$(flag_value "$flag" <<<"$args" || true)"
        [ -n "$path" ] || continue
        best=-1
        best_path=""
        for ((m = 0, n_m = $(count "$file" "$doc" "$c.volumeMounts"); m < n_m; m++)); do
          mpath="$(get "$file" "$doc" "$c.volumeMounts[$m].mountPath")"
          if [[ "$path" == "${mpath%/}/"* || "$path" == "$mpath" ]] && [ ${#mpath} -gt ${#best_path} ]; then
            best=$m
            best_path="$mpath"
          fi
        done
        mount="$(get "$file" "$doc" "$c.volumeMounts[$best].name")"
        secret=""
        for ((v = 0, n_v = $(count "$file" "$doc" "$spec.volumes"); v < n_v; v++)); do
          [ "$(get "$file" "$doc" "$spec.volumes[$v].name")" = "$mount" ] || continue
          secret="$(get "$file" "$doc" "$spec.volumes[$v].secret.secretName")"
        done
        if [ "$best" -lt 0 ] || [ -z "$secret" ]; then
          fail "$name/$cname: --$flag=$path is not under the mountPath of a Secret volume of the pod"
          continue
        fi
        [ "$(get "$file" "$doc" "$c.volumeMounts[$best].readOnly")" = true ] ||
          fail "$name/$cname: volumeMount '$mount' ($best_path, Secret $secret) is not readOnly"
        [ -z "$(get "$file" "$doc" "$c.volumeMounts[$best].subPath")" ] ||
          fail "$name/$cname: volumeMount '$mount' uses subPath: the Secret's updates would not reach --$flag"
        case "$flag" in tls-cert-file|tls-key-file) key_pair_volumes+="$secret"$'\n';; esac
      done
      [ "$(sort -u <<<"${key_pair_volumes%$'\n'}" | wc -l)" -le 1 ] ||
        fail "$name/$cname: --tls-cert-file and --tls-key-file come from different Secrets (a rotation must swap both at once)"
      [ "$(arg_value host)" = 0.0.0.0 ] || fail "$name/$cname: --host must be 0.0.0.0 to be reachable from other pods"
      [ "$(arg_value metrics-host)" = 0.0.0.0 ] || fail "$name/$cname: --metrics-host must be 0.0.0.0"
      [ "$(arg_value model-base)" = "$(get "$file" "$doc" "$c.volumeMounts[0].mountPath")" ] ||
        fail "$name/$cname: --model-base is not the container's first volumeMount"
      port_names=""
      container_ports=""
      for ((p = 0, n_p = $(count "$file" "$doc" "$c.ports"); p < n_p; p++)); do
        pname="$(get "$file" "$doc" "$c.ports[$p].name")"
        pnumber="$(get "$file" "$doc" "$c.ports[$p].containerPort")"
        port_names+="$pname"$'\n'
        container_ports+="$pnumber"$'\n'
        case "$pname" in
          grpc) [ "$pnumber" = "$(arg_value port)" ] || fail "$name/$cname: port grpc $pnumber is not --port=$(arg_value port)";;
          http) [ "$pnumber" = "$(arg_value http-port)" ] || fail "$name/$cname: port http $pnumber is not --http-port=$(arg_value http-port)";;
          metrics) [ "$pnumber" = "$(arg_value metrics-port)" ] ||
                     fail "$name/$cname: port metrics $pnumber is not --metrics-port=$(arg_value metrics-port)";;
          *) fail "$name/$cname: unexpected port name '$pname'";;
        esac
      done
      [ "$(sort -n <<<"${container_ports%$'\n'}")" = "$EXPOSED" ] ||
        fail "$name/$cname: containerPorts $(echo $container_ports) are not the Dockerfile's EXPOSE $(echo $EXPOSED)"
      # Exec probes: native gRPC probes cannot do TLS, HTTP and TCP probes
      # do not see NOT_SERVING (no model yet), and the kubelet cannot reach
      # the loopback health port; recommender-cli inside the container can.
      health_address="$(flag_value health-address <<<"$args" || true)"
      for probe in startupProbe readinessProbe livenessProbe; do
        probe_command="$(list "$file" "$doc" "$c.$probe.exec.command")"
        if [ -n "$probe_command" ]; then
          check_health_command "$name/$cname: $probe" "$probe_command" "$health_address" \
            "$(( $(get "$file" "$doc" "$c.$probe.timeoutSeconds" | grep -E '^[0-9]+$' || echo 1) * 1000 ))"
        elif [ -n "$(get "$file" "$doc" "$c.$probe.grpc.port")$(get "$file" "$doc" "$c.$probe.httpGet.port")$(get "$file" "$doc" "$c.$probe.tcpSocket.port")" ]; then
          fail "$name/$cname: $probe is not an exec probe (recommender-cli health --target 127.0.0.1:<--health-address port>): a native gRPC probe cannot do TLS, HTTP and TCP probes do not see NOT_SERVING"
        else
          fail "$name/$cname: no $probe"
        fi
      done
      printf '%s\n' "$port_names" >"$WORK/ports-$name"
    done
  done
  [ "$server_seen" = 1 ] || fail "$name has no recommender-server container"
  cm_name="$(awk -F'\t' -v f="$file" -v d="$doc" '$1 == f && $2 == d && $3 ~ /\.configMap\.name$/ { print $4 }' "$ALL")"
  for cm in $cm_name; do
    grep -qx "$cm" < <(for x in $(docs ConfigMap | tr '\t' ':'); do get "${x%%:*}" "${x##*:}" metadata.name; done) ||
      fail "$name: ConfigMap '$cm' is not in the manifests"
  done
  claims="$(awk -F'\t' -v f="$file" -v d="$doc" '$1 == f && $2 == d && $3 ~ /persistentVolumeClaim\.claimName$/ { print $4 }' "$ALL")"
  for claim in $claims; do
    grep -qx "$claim" < <(for x in $(docs PersistentVolumeClaim | tr '\t' ':'); do get "${x%%:*}" "${x##*:}" metadata.name; done) ||
      fail "$name: PersistentVolumeClaim '$claim' is not in the manifests"
  done
done <<<"$DEPLOYMENTS"
pass "Deployments: image, ports, exec probes on the health port, flags, TLS and tokens from Secrets, volumes"

# --- The retraining CronJob -------------------------------------------------
RETRAIN="$(dirname "$SERVER")/recommender-retrain"
[ -x "$RETRAIN" ] || fail "no recommender-retrain beside $SERVER"
# Its own flags, and the connection flags its usage names (--tls-ca, --token-file, ...), with - as _.
RETRAIN_FLAGS="$({ "$RETRAIN" --help 2>&1 || true; } | grep -oE -- '--[a-z0-9_-]+' | tr '-' '_' | sort -u)"
[ -n "$RETRAIN_FLAGS" ] || fail "$RETRAIN --help lists no flags"
CRONJOBS="$(docs CronJob)"
[ -n "$CRONJOBS" ] || fail "no CronJob runs recommender-retrain"
CLAIMS="$(for x in $(docs PersistentVolumeClaim | tr '\t' ':'); do get "${x%%:*}" "${x##*:}" metadata.name; done)"
while IFS=$'\t' read -r file doc; do
  [ -n "$file" ] || continue
  name="$(get "$file" "$doc" metadata.name)"
  spec="spec.jobTemplate.spec.template.spec"
  [ "$(get "$file" "$doc" spec.concurrencyPolicy)" = Forbid ] ||
    fail "CronJob $name: concurrencyPolicy is not Forbid (two steps of the loop must never run at once)"
  [ "$(get "$file" "$doc" "$spec.securityContext.runAsNonRoot")" = true ] || fail "CronJob $name: runAsNonRoot is not true"
  c="$spec.containers[0]"
  image="$(get "$file" "$doc" "$c.image")"
  [ "${image%:*}" = "$IMAGE_BUILT" ] || fail "CronJob $name: image '$image' is not the image scripts/container builds"
  [ "$(list "$file" "$doc" "$c.command" | head -n 1)" = recommender-retrain ] ||
    fail "CronJob $name: the command is not recommender-retrain"
  args="$(list "$file" "$doc" "$c.args")"
  for arg in $args; do
    flag="${arg%%=*}"
    grep -qxF -- "${flag//-/_}" <<<"$RETRAIN_FLAGS" || fail "CronJob $name: $flag is not a flag of recommender-retrain --help"
  done
  for flag in data model-base metrics-targets target token-file; do
    [ -n "$(flag_value "$flag" <<<"$args" || true)" ] || fail "CronJob $name: lacks --$flag"
  done
  # The mount holding a path: "name readOnly" of the longest mountPath above it.
  mount_of() {
    local path="$1" best="" best_path="" m mpath
    for ((m = 0, n_m = $(count "$file" "$doc" "$c.volumeMounts"); m < n_m; m++)); do
      mpath="$(get "$file" "$doc" "$c.volumeMounts[$m].mountPath")"
      if [[ "$path" == "${mpath%/}/"* || "$path" == "$mpath" ]] && [ ${#mpath} -gt ${#best_path} ]; then
        best="$(get "$file" "$doc" "$c.volumeMounts[$m].name") $(get "$file" "$doc" "$c.volumeMounts[$m].readOnly")"
        best_path="$mpath"
      fi
    done
    printf '%s' "$best"
  }
  volume_source() {
    local v
    for ((v = 0, n_v = $(count "$file" "$doc" "$spec.volumes"); v < n_v; v++)); do
      [ "$(get "$file" "$doc" "$spec.volumes[$v].name")" = "$1" ] || continue
      printf '%s%s' "$(get "$file" "$doc" "$spec.volumes[$v].persistentVolumeClaim.claimName")" \
        "$(get "$file" "$doc" "$spec.volumes[$v].secret.secretName")"
    done
  }
  models_mount="$(mount_of "$(flag_value model-base <<<"$args")")"
  [ "$(volume_source "${models_mount% *}")" = recommender-models ] ||
    fail "CronJob $name: --model-base is not on the shared model storage (PVC recommender-models) the servers mirror"
  [ "${models_mount#* }" != true ] || fail "CronJob $name: the shared model storage is mounted readOnly: nothing can be published"
  token_mount="$(mount_of "$(flag_value token-file <<<"$args")")"
  [ -n "$(get_secret="$(volume_source "${token_mount% *}")"; echo "$get_secret")" ] && [ "${token_mount#* }" = true ] ||
    fail "CronJob $name: --token-file is not on a readOnly Secret volume"
  claims="$(awk -F'\t' -v f="$file" -v d="$doc" '$1 == f && $2 == d && $3 ~ /persistentVolumeClaim\.claimName$/ { print $4 }' "$ALL")"
  for claim in $claims; do
    grep -qx "$claim" <<<"$CLAIMS" || fail "CronJob $name: PersistentVolumeClaim '$claim' is not in the manifests"
  done
done <<<"$CRONJOBS"
pass "CronJob: recommender-retrain with its flags, writing the shared model storage, an admin token from a Secret"

# Names of the objects of a kind, one per line.
names() { while IFS=$'\t' read -r f d; do [ -n "$f" ] && get "$f" "$d" metadata.name; done < <(docs "$1"); }
# Whether a label selector (key=value lines) selects some Deployment's pods.
selects_pods() {
  local entry
  for entry in "${POD_LABEL_SETS[@]}"; do
    subset "$1" "$(cut -f3- <<<"$entry")" && return 0
  done
  return 1
}

# --- Services and ServiceMonitor ------------------------------------------
SERVICES="$(docs Service)"
[ "$(wc -l <<<"$SERVICES")" -ge 2 ] || fail "expected a Service and a headless Service"
HEADLESS=0
while IFS=$'\t' read -r file doc; do
  name="$(get "$file" "$doc" metadata.name)"
  [ "$(get "$file" "$doc" spec.clusterIP)" = None ] && HEADLESS=1
  selector="$(labels "$file" "$doc" spec.selector)"
  selects_pods "$selector" || fail "Service $name: selector $(echo $selector) selects no Deployment's pods"
  for ((p = 0, n_p = $(count "$file" "$doc" spec.ports); p < n_p; p++)); do
    target="$(get "$file" "$doc" "spec.ports[$p].targetPort")"
    for ports in "$WORK"/ports-*; do
      grep -qx "$target" "$ports" || fail "Service $name: targetPort '$target' is not a port name of $(basename "$ports")"
    done
    [ "$target" != grpc ] || [ "$(get "$file" "$doc" "spec.ports[$p].appProtocol")" != kubernetes.io/h2c ] ||
      fail "Service $name: port grpc has appProtocol kubernetes.io/h2c (cleartext HTTP/2), but the server serves TLS"
  done
done <<<"$SERVICES"
[ "$HEADLESS" = 1 ] || fail "no headless Service (clusterIP: None) for client-side load balancing"

MONITORS="$(docs ServiceMonitor)"
[ -n "$MONITORS" ] || fail "no ServiceMonitor"
while IFS=$'\t' read -r file doc; do
  [ -n "$file" ] || continue
  selector="$(labels "$file" "$doc" spec.selector.matchLabels)"
  matched=0
  while IFS=$'\t' read -r sfile sdoc; do
    subset "$selector" "$(labels "$sfile" "$sdoc" metadata.labels)" || continue
    matched=1
    for ((e = 0, n_e = $(count "$file" "$doc" spec.endpoints); e < n_e; e++)); do
      port="$(get "$file" "$doc" "spec.endpoints[$e].port")"
      grep -qx "$port" <<<"$(under "$sfile" "$sdoc" spec.ports .name)" ||
        fail "ServiceMonitor: endpoint port '$port' is not a port name of Service $(get "$sfile" "$sdoc" metadata.name)"
    done
  done <<<"$SERVICES"
  [ "$matched" = 1 ] || fail "ServiceMonitor: selector $(echo $selector) matches no Service's labels"
done <<<"$MONITORS"
pass "Services and ServiceMonitor: selectors and port names"

# --- HPA and PDB -----------------------------------------------------------
DEPLOYMENT_NAMES="$(names Deployment)"
while IFS=$'\t' read -r file doc; do
  [ -n "$file" ] || { fail "no HorizontalPodAutoscaler"; continue; }
  [ "$(get "$file" "$doc" apiVersion)" = autoscaling/v2 ] || fail "the HPA is not autoscaling/v2"
  grep -qx "$(get "$file" "$doc" spec.scaleTargetRef.name)" <<<"$DEPLOYMENT_NAMES" ||
    fail "the HPA scales '$(get "$file" "$doc" spec.scaleTargetRef.name)', which is not a Deployment"
  [ "$(get "$file" "$doc" 'spec.metrics[0].resource.name')" = cpu ] || fail "the HPA does not scale on CPU"
done <<<"$(docs HorizontalPodAutoscaler)"
while IFS=$'\t' read -r file doc; do
  [ -n "$file" ] || { fail "no PodDisruptionBudget"; continue; }
  selects_pods "$(labels "$file" "$doc" spec.selector.matchLabels)" || fail "the PodDisruptionBudget selects no Deployment's pods"
done <<<"$(docs PodDisruptionBudget)"
pass "HPA and PodDisruptionBudget targets"

# --- kustomization.yaml lists every file ----------------------------------
LISTED="$(flatten "$K8S/kustomization.yaml" | awk -F'\t' '$2 ~ /^resources\[[0-9]+\]$/ { print $3 }' | sort)"
ON_DISK="$(for file in "${MANIFESTS[@]}"; do echo "${file##*/}"; done | sort)"
[ "$LISTED" = "$ON_DISK" ] ||
  fail "kustomization.yaml resources ($(echo $LISTED)) are not the manifests on disk ($(echo $ON_DISK))"
KUSTOMIZE_IMAGE="$(flatten "$K8S/kustomization.yaml" | awk -F'\t' '$2 == "images[0].name" { print $3 }')"
[ "$KUSTOMIZE_IMAGE" = "$IMAGE_BUILT" ] || fail "kustomization.yaml images[0].name '$KUSTOMIZE_IMAGE' is not $IMAGE_BUILT"
pass "kustomization.yaml lists every manifest"

# --- kubectl: parse offline, build the kustomization, agree with this reader
# json_list: lines on stdin as kubectl's jsonpath prints a list of strings.
json_list() { awk '{ printf "%s\"%s\"", (NR > 1 ? "," : "["), $0 } END { if (NR) printf "]" }'; }
if [ -n "$KUBECTL" ]; then
  for file in "${MANIFESTS[@]}"; do
    base="$(basename "$file")"
    if ! parsed="$("$KUBECTL" label --local -f "$file" checked=true \
        -o jsonpath='{.kind}/{.metadata.name}{"\n"}' 2>"$WORK/kubectl.err")"; then
      fail "kubectl cannot parse $base: $(cat "$WORK/kubectl.err")"
      continue
    fi
    ours="$(while IFS=$'\t' read -r f d; do echo "$(get "$f" "$d" kind)/$(get "$f" "$d" metadata.name)"; done \
      < <(awk -F'\t' -v f="$base" '$1 == f { print $1 "\t" $2 }' "$ALL" | sort -u -k2,2n))"
    [ "$parsed" = "$ours" ] || fail "$base: kubectl reads objects '$(echo $parsed)', this test '$(echo $ours)'"
  done
  for entry in $(docs Deployment | tr '\t' ':'); do
    file="${entry%%:*}"
    doc="${entry##*:}"
    name="$(get "$file" "$doc" metadata.name)"
    theirs="$("$KUBECTL" label --local -f "$K8S/$file" checked=true -o jsonpath="{range .spec.template.spec.containers[*]}{.name} {.image} {.args} {.ports[*].containerPort} {.readinessProbe.exec.command}{\"\\n\"}{end}" 2>/dev/null |
      grep -v '^$' || true)"
    # kubectl prints a multi-document file's objects one after another; keep this one's lines.
    ours=""
    for ((i = 0, n_i = $(count "$file" "$doc" spec.template.spec.containers); i < n_i; i++)); do
      c="spec.template.spec.containers[$i]"
      args_json="$(list "$file" "$doc" "$c.args" | json_list)"
      ports="$(under "$file" "$doc" "$c.ports" .containerPort | paste -sd' ')"
      ours+="$(get "$file" "$doc" "$c.name") $(get "$file" "$doc" "$c.image") $args_json $ports"
      ours+=" $(list "$file" "$doc" "$c.readinessProbe.exec.command" | json_list)"$'\n'
    done
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      grep -qxF -- "$line" <<<"$theirs" || fail "Deployment $name: kubectl does not read container '$line' as this test does: $theirs"
    done <<<"$ours"
  done
  if "$KUBECTL" kustomize "$K8S" >"$WORK/kustomized.yaml" 2>"$WORK/kubectl.err"; then
    built="$(grep -c '^kind:' "$WORK/kustomized.yaml")"
    expected="$(awk -F'\t' '$3 == "kind"' "$ALL" | wc -l)"
    [ "$built" = "$expected" ] || fail "kubectl kustomize built $built objects, the manifests hold $expected"
  else
    fail "kubectl kustomize $K8S: $(cat "$WORK/kubectl.err")"
  fi
  pass "kubectl ($KUBECTL) parses every manifest offline, reads them as this test does, and builds the kustomization"
else
  echo "note: kubectl not installed (or KUBECTL= set); structural checks only" >&2
fi

# --- the checks catch what they are for -----------------------------------
# Each breakage is applied with sed to a copy of the files this test reads;
# the test, run on the copy, must fail with a FAIL line containing EXPECTED.
# The runs go in parallel, one per core.
BREAK_WHAT=()
BREAK_FILE=()
BREAK_EXPECTED=()
JOBS="$(nproc 2>/dev/null || echo 2)"
# breakage WHAT FILE SED_SCRIPT EXPECTED (FILE relative to the repository).
breakage() {
  local copy="$WORK/broken-${#BREAK_WHAT[@]}"
  BREAK_WHAT+=("$1")
  BREAK_FILE+=("$2")
  BREAK_EXPECTED+=("$4")
  cp -a "$WORK/pristine" "$copy"
  sed -i -e "$3" "$copy/$2"
  if cmp -s "$WORK/pristine/$2" "$copy/$2"; then
    echo unchanged >"$copy.status"
    return
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  ( status=0
    KUBECTL='' bash "$SELF" --server "$SERVER" --repo "$copy" --no-breakages >"$copy.log" 2>&1 || status=$?
    echo "$status" >"$copy.status" ) &
}

if [ "$BREAKAGES" = 1 ] && [ "$FAILURES" -gt 0 ]; then
  echo "note: breakages not tried: the checks above failed" >&2
elif [ "$BREAKAGES" = 1 ]; then
  mkdir -p "$WORK/pristine/scripts" "$WORK/pristine/deploy"
  cp "$REPO/Dockerfile" "$WORK/pristine/"
  cp "$REPO/scripts/container" "$REPO/scripts/sync-models" "$WORK/pristine/scripts/"
  cp -r "$K8S" "$WORK/pristine/deploy/k8s"
  D=deploy/k8s/deployment.yaml
  C=deploy/k8s/deployment-canary.yaml
  # Protection of the server containers.
  breakage "--plaintext added to the stable server" "$D" \
    's|^\(        \)- --tls-cert-file=.*|\1- --plaintext\n&|' "--plaintext: the server must serve TLS"
  breakage "--allow_unauthenticated=true added to the canary" "$C" \
    's|^\(        \)- --auth-token-file=.*|\1- --allow_unauthenticated=true\n&|' "--allow-unauthenticated: the server must"
  breakage "no --tls-cert-file" "$D" '/^        - --tls-cert-file=/d' "server: lacks --tls-cert-file"
  breakage "no --tls-key-file in the canary" "$C" '/^        - --tls-key-file=/d' "server: lacks --tls-key-file"
  breakage "no --auth-token-file" "$D" '/^        - --auth-token-file=/d' "server: lacks --auth-token-file"
  breakage "no --feedback-key-file" "$D" '/^        - --feedback-key-file=/d' "server: lacks --feedback-key-file"
  breakage "retraining without the replicas' metrics" deploy/k8s/cronjob-retrain.yaml '/- --metrics-targets=/d' \
    "CronJob recommender-retrain: lacks --metrics-targets"
  breakage "misspelt retraining flag" deploy/k8s/cronjob-retrain.yaml 's/--canary-percent=/--canary-percentage=/' \
    "--canary-percentage is not a flag of recommender-retrain --help"
  breakage "retraining on a read-only model store" deploy/k8s/cronjob-retrain.yaml \
    '/mountPath: \/shared-models$/a\              readOnly: true' "the shared model storage is mounted readOnly"
  breakage "no --health-address" "$D" '/^        - --health-address=/d' "server: lacks --health-address"
  breakage "health port on every interface" "$C" 's|--health-address=127.0.0.1:|--health-address=0.0.0.0:|' \
    "--health-address=0.0.0.0:50052 is not on loopback"
  # The files those flags name: on read-only Secret volumes, whole.
  breakage "token file on the model emptyDir" "$D" 's|--auth-token-file=/etc/recommender/auth/|--auth-token-file=/models/|' \
    "--auth-token-file=/models/tokens is not under the mountPath of a Secret volume"
  breakage "TLS Secret mounted elsewhere" "$D" 's|mountPath: /etc/recommender/tls$|mountPath: /etc/recommender/certs|' \
    "--tls-cert-file=/etc/recommender/tls/tls.crt is not under the mountPath of a Secret volume"
  breakage "TLS volume an emptyDir, not the Secret" "$C" \
    '/^      - name: tls$/,/defaultMode/c\      - name: tls\n        emptyDir: {}' \
    "--tls-key-file=/etc/recommender/tls/tls.key is not under the mountPath of a Secret volume"
  breakage "token Secret mounted writable" "$D" '/mountPath: \/etc\/recommender\/auth$/{n;s/readOnly: true/readOnly: false/}' \
    "volumeMount 'auth' (/etc/recommender/auth, Secret recommender-tokens) is not readOnly"
  breakage "token Secret mounted through subPath" "$D" \
    's|^\(          \)mountPath: /etc/recommender/auth$|\1mountPath: /etc/recommender/auth/tokens\n\1subPath: tokens|' \
    "volumeMount 'auth' uses subPath"
  breakage "TLS key from the token Secret" "$D" 's|--tls-key-file=/etc/recommender/tls/|--tls-key-file=/etc/recommender/auth/|' \
    "come from different Secrets"
  breakage "client CA for mutual TLS on the model emptyDir" "$C" \
    's|^\(        \)- --tls-cert-file=.*|\1- --tls-client-ca-file=/models/ca.crt\n&|' \
    "--tls-client-ca-file=/models/ca.crt is not under the mountPath of a Secret volume"
  breakage "paths not the image CMD's" "$D" 's|--tls-cert-file=/etc/recommender/tls/tls.crt|--tls-cert-file=/etc/recommender/tls/server.crt|' \
    "--tls-cert-file=/etc/recommender/tls/server.crt is not the Dockerfile CMD's"
  # Probes.
  breakage "native gRPC readiness probe on the TLS port" "$C" \
    '/^        readinessProbe:$/,/^            - 2s$/c\        readinessProbe:\n          grpc:\n            port: 50051' \
    "server: readinessProbe is not an exec probe"
  breakage "startup probe on the TLS port" "$D" '0,/^            - 127.0.0.1:50052$/s//            - 127.0.0.1:50051/' \
    "startupProbe: --target 127.0.0.1:50051 is not the --health-address port"
  breakage "probe runs recommender-cli info" "$D" '0,/^            - health$/s//            - info/' \
    "startupProbe runs 'recommender-cli info"
  breakage "probe timeout not above the cli's" "$D" '0,/timeoutSeconds: 3$/s//timeoutSeconds: 2/' \
    "startupProbe: recommender-cli --timeout 2s is not shorter than the probe's own timeout (2000 ms)"
  # The image.
  breakage "--plaintext in the image's CMD" Dockerfile \
    's|"--tls-cert-file", "/etc/recommender/tls/tls.crt", "--tls-key-file", "/etc/recommender/tls/tls.key", |"--plaintext", |' \
    "the Dockerfile's CMD: --plaintext"
  breakage "--allow-unauthenticated in the image's CMD" Dockerfile \
    's|"--auth-token-file", "/etc/recommender/auth/tokens", |"--allow-unauthenticated", |' \
    "the Dockerfile's CMD: --allow-unauthenticated"
  breakage "HEALTHCHECK on the TLS port" Dockerfile 's|"--target", "127.0.0.1:50052"|"--target", "127.0.0.1:50051"|' \
    "the Dockerfile's HEALTHCHECK: --target 127.0.0.1:50051 is not the --health-address port"
  breakage "image health port moved" Dockerfile 's|"--health-address", "127.0.0.1:50052"|"--health-address", "127.0.0.1:50053"|' \
    "is not the Dockerfile CMD's (127.0.0.1:50053)"
  breakage "HEALTHCHECK timeout not above the cli's" Dockerfile 's|--timeout=5s|--timeout=3s|' \
    "the Dockerfile's HEALTHCHECK: recommender-cli --timeout 3s is not shorter"
  breakage "image without recommender-cli" Dockerfile 's| /src/build/bin/recommender-cli||' \
    "does not install recommender-cli"
  breakage "misspelt flag in the image's CMD" Dockerfile 's|"--event-log-dir"|"--event-log-directory"|' \
    "the Dockerfile's CMD: --event-log-directory is not a flag"
  breakage "cleartext appProtocol on the gRPC Service port" deploy/k8s/service.yaml \
    '0,/^    protocol: TCP$/s//&\n    appProtocol: kubernetes.io\/h2c/' "port grpc has appProtocol kubernetes.io/h2c"
  # A few of the older checks.
  breakage "another image" "$D" '0,/image: easymoney\/recommender-server:/s//image: easymoney\/other:/' \
    "is not the image scripts/container builds"
  breakage "gRPC containerPort not --port" "$D" '0,/containerPort: 50051$/s//containerPort: 50055/' \
    "port grpc 50055 is not --port=50051"
  breakage "HTTP containerPort not --http-port" "$D" '0,/containerPort: 8080$/s//containerPort: 8081/' \
    "port http 8081 is not --http-port=8080"
  breakage "misspelt server flag" "$D" 's|--keep-previous=|--keep-previus=|' \
    "--keep-previus is not a flag of recommender-server --help"
  breakage "kustomization.yaml misses a file" deploy/k8s/kustomization.yaml '/^- pdb.yaml$/d' \
    "kustomization.yaml resources"
  wait
  caught=0
  for ((b = 0; b < ${#BREAK_WHAT[@]}; b++)); do
    copy="$WORK/broken-$b"
    what="${BREAK_WHAT[$b]} (${BREAK_FILE[$b]})"
    status="$(cat "$copy.status" 2>/dev/null || echo none)"
    if [ "$status" = unchanged ]; then
      fail "breakage '$what': its sed script changed nothing; update it to the files"
    elif [ "$status" = 0 ]; then
      fail "breakage '$what' passed every check"
    elif [ "$status" != 1 ]; then
      fail "breakage '$what': the test ended with status $status: $(tail -n 3 "$copy.log")"
    elif ! grep '^FAIL: ' "$copy.log" | grep -qF -- "${BREAK_EXPECTED[$b]}"; then
      fail "breakage '$what' failed, but not with '${BREAK_EXPECTED[$b]}': $(grep '^FAIL: ' "$copy.log" | head -n 3)"
    else
      caught=$((caught + 1))
      echo "ok: caught: $what: $(grep '^FAIL: ' "$copy.log" | grep -F -- "${BREAK_EXPECTED[$b]}" | head -n 1 | cut -c7-)" >&2
    fi
  done
  pass "$caught of ${#BREAK_WHAT[@]} deliberate breakages caught"
fi

if [ "$FAILURES" -gt 0 ]; then
  echo "$FAILURES check(s) failed" >&2
  exit 1
fi
echo "k8s manifests: all checks passed" >&2
