#!/usr/bin/env bash
# Checks the Kubernetes manifests of deploy/k8s against each other and against
# what they deploy: the Dockerfile, scripts/container, scripts/sync-models and
# the recommender-server binary.
#
#   tests/deploy/k8s_manifests_test.sh --server build/bin/recommender-server [--repo .]
#
# With kubectl installed, every manifest is parsed by it offline
# (`kubectl label --local -o jsonpath`; `kubectl create --dry-run=client`
# would need a cluster for API discovery), `kubectl kustomize` must build the
# directory, and the values this test reads are compared with kubectl's.
# Without kubectl (or with KUBECTL= in the environment), a structural check
# runs instead. Either way the consistency checks run: image name, ports,
# probe ports, server and sidecar flags, Service and ServiceMonitor ports and
# selectors, volumes and ConfigMaps, HPA and PDB targets, and that
# kustomization.yaml lists every file. The manifests must be block-style YAML
# (no {...} or [...] except empty ones): that is what this test's reader reads.
# Exit status 0 when every check passes, 1 otherwise (each failure printed).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVER=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    --server) SERVER="$2"; shift 2;;
    --repo) REPO="$2"; shift 2;;
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
  [ "$(basename "$file")" = kustomization.yaml ] && continue
  MANIFESTS+=("$file")
done
[ ${#MANIFESTS[@]} -gt 0 ] || { echo "no manifests in $K8S" >&2; exit 1; }

ALL="$WORK/all.tsv"  # FILE<TAB>DOC<TAB>PATH<TAB>VALUE of every manifest
: >"$ALL"
for file in "${MANIFESTS[@]}"; do
  if ! flatten "$file" >"$WORK/one.tsv"; then
    fail "$(basename "$file") is not block-style YAML this test can read"
    continue
  fi
  awk -v f="$(basename "$file")" '{ print f "\t" $0 }' "$WORK/one.tsv" >>"$ALL"
done

# get FILE DOC PATH: the value at PATH, empty when absent.
get() { awk -F'\t' -v f="$1" -v d="$2" -v p="$3" '$1 == f && $2 == d && $3 == p { print $4; exit }' "$ALL"; }
# under FILE DOC PREFIX SUFFIX: the values at PREFIX[0]SUFFIX, PREFIX[1]SUFFIX, ...
under() {
  awk -F'\t' -v f="$1" -v d="$2" -v p="$3[" -v s="$4" '
    $1 == f && $2 == d && index($3, p) == 1 {
      rest = substr($3, length(p) + 1)
      if (rest ~ /^[0-9]+\]/) { sub(/^[0-9]+\]/, "", rest); if (rest == s) print $4 }
    }' "$ALL"
}
# list FILE DOC PREFIX: the scalars PREFIX[0], PREFIX[1], ... in order.
list() { under "$1" "$2" "$3" ""; }
# count FILE DOC PREFIX: how many items PREFIX[i] has (scalars or maps).
count() {
  awk -F'\t' -v f="$1" -v d="$2" -v p="$3" '
    $1 == f && $2 == d && index($3, p "[") == 1 {
      rest = substr($3, length(p) + 2); sub(/\].*/, "", rest); if (rest + 1 > n) n = rest + 1 }
    END { print n + 0 }' "$ALL"
}
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

# --- what the manifests deploy -------------------------------------------
IMAGE_BUILT="$(sed -n 's/^IMAGE="\${IMAGE:-\(.*\)}"$/\1/p' "$REPO/scripts/container")"
[ -n "$IMAGE_BUILT" ] || fail "cannot read the default IMAGE of scripts/container"
EXPOSED="$(awk 'toupper($1) == "EXPOSE" { for (i = 2; i <= NF; i++) print $i }' "$REPO/Dockerfile" | sort -n)"
[ -n "$EXPOSED" ] || fail "the Dockerfile exposes no port"
# Abseil's --help exits with status 1.
SERVER_HELP="$("$SERVER" --help 2>&1 || true)"
SERVER_FLAGS="$(grep -oE -- '^ +--[a-z0-9_]+' <<<"$SERVER_HELP" | tr -d ' ' | sort -u)"
[ -n "$SERVER_FLAGS" ] || fail "$SERVER --help lists no flags"
SYNC_HELP="$("$REPO/scripts/sync-models" --help)"
HEALTH_PORT="$(grep -A1 '^HEALTHCHECK' "$REPO/Dockerfile" | grep -oE '127\.0\.0\.1:[0-9]+' | cut -d: -f2)"
echo "$EXPOSED" | grep -qx "${HEALTH_PORT:-none}" ||
  fail "the Dockerfile's HEALTHCHECK port '${HEALTH_PORT}' is not EXPOSEd"
grep -qE '^COPY scripts/sync-models /usr/local/bin/recommender-sync-models$' "$REPO/Dockerfile" ||
  fail "the Dockerfile does not install scripts/sync-models as recommender-sync-models (the sidecar's command)"

# arg_value FLAG: the value of --FLAG=VALUE in $args (the last one).
arg_value() { sed -n "s/^--$1=//p" <<<"$args" | tail -n 1; }

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
    for ((i = 0; i < $(count "$file" "$doc" "$spec.$kind"); i++)); do
      c="$spec.$kind[$i]"
      cname="$(get "$file" "$doc" "$c.name")"
      image="$(get "$file" "$doc" "$c.image")"
      [ "${image%:*}" = "$IMAGE_BUILT" ] ||
        fail "$name/$cname: image '$image' is not the image scripts/container builds ($IMAGE_BUILT)"
      for ((m = 0; m < $(count "$file" "$doc" "$c.volumeMounts"); m++)); do
        mount="$(get "$file" "$doc" "$c.volumeMounts[$m].name")"
        grep -qx "$mount" <<<"$volumes" || fail "$name/$cname: volumeMount '$mount' is not a volume of the pod"
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
        grep -qx -- "$(tr '-' '_' <<<"${flag#--}" | sed 's/^/--/')" <<<"$SERVER_FLAGS" ||
          fail "$name/$cname: $flag is not a flag of recommender-server --help"
      done
      [ "$(arg_value host)" = 0.0.0.0 ] || fail "$name/$cname: --host must be 0.0.0.0 to be reachable from other pods"
      [ "$(arg_value metrics-host)" = 0.0.0.0 ] || fail "$name/$cname: --metrics-host must be 0.0.0.0"
      [ "$(arg_value model-base)" = "$(get "$file" "$doc" "$c.volumeMounts[0].mountPath")" ] ||
        fail "$name/$cname: --model-base is not the container's first volumeMount"
      port_names=""
      container_ports=""
      for ((p = 0; p < $(count "$file" "$doc" "$c.ports"); p++)); do
        pname="$(get "$file" "$doc" "$c.ports[$p].name")"
        pnumber="$(get "$file" "$doc" "$c.ports[$p].containerPort")"
        port_names+="$pname"$'\n'
        container_ports+="$pnumber"$'\n'
        case "$pname" in
          grpc) [ "$pnumber" = "$(arg_value port)" ] || fail "$name/$cname: port grpc $pnumber is not --port=$(arg_value port)";;
          metrics) [ "$pnumber" = "$(arg_value metrics-port)" ] ||
                     fail "$name/$cname: port metrics $pnumber is not --metrics-port=$(arg_value metrics-port)";;
          *) fail "$name/$cname: unexpected port name '$pname'";;
        esac
      done
      [ "$(sort -n <<<"${container_ports%$'\n'}")" = "$EXPOSED" ] ||
        fail "$name/$cname: containerPorts $(echo $container_ports) are not the Dockerfile's EXPOSE $(echo $EXPOSED)"
      grpc_port="$(arg_value port)"
      for probe in startupProbe readinessProbe livenessProbe; do
        if [ -n "$(get "$file" "$doc" "$c.$probe.grpc.port")" ]; then
          [ "$(get "$file" "$doc" "$c.$probe.grpc.port")" = "$grpc_port" ] ||
            fail "$name/$cname: $probe gRPC port is not the gRPC port $grpc_port"
        else
          probe_port="$(get "$file" "$doc" "$c.$probe.httpGet.port")$(get "$file" "$doc" "$c.$probe.tcpSocket.port")"
          if [ -z "$probe_port" ]; then
            fail "$name/$cname: no $probe"
          elif ! grep -qx "$probe_port" <<<"$port_names$container_ports"; then
            fail "$name/$cname: $probe port '$probe_port' is not a port of the container"
          fi
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
pass "Deployments: image, ports, probes, flags, volumes"

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
  for ((p = 0; p < $(count "$file" "$doc" spec.ports); p++)); do
    target="$(get "$file" "$doc" "spec.ports[$p].targetPort")"
    for ports in "$WORK"/ports-*; do
      grep -qx "$target" "$ports" || fail "Service $name: targetPort '$target' is not a port name of $(basename "$ports")"
    done
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
    for ((e = 0; e < $(count "$file" "$doc" spec.endpoints); e++)); do
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
ON_DISK="$(for file in "${MANIFESTS[@]}"; do basename "$file"; done | sort)"
[ "$LISTED" = "$ON_DISK" ] ||
  fail "kustomization.yaml resources ($(echo $LISTED)) are not the manifests on disk ($(echo $ON_DISK))"
KUSTOMIZE_IMAGE="$(flatten "$K8S/kustomization.yaml" | awk -F'\t' '$2 == "images[0].name" { print $3 }')"
[ "$KUSTOMIZE_IMAGE" = "$IMAGE_BUILT" ] || fail "kustomization.yaml images[0].name '$KUSTOMIZE_IMAGE' is not $IMAGE_BUILT"
pass "kustomization.yaml lists every manifest"

# --- kubectl: parse offline, build the kustomization, agree with this reader
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
    theirs="$("$KUBECTL" label --local -f "$K8S/$file" checked=true -o jsonpath="{range .spec.template.spec.containers[*]}{.name} {.image} {.args} {.ports[*].containerPort} {.readinessProbe.grpc.port}{\"\\n\"}{end}" 2>/dev/null |
      grep -v '^$' || true)"
    # kubectl prints a multi-document file's objects one after another; keep this one's lines.
    ours=""
    for ((i = 0; i < $(count "$file" "$doc" spec.template.spec.containers); i++)); do
      c="spec.template.spec.containers[$i]"
      args_json="$(list "$file" "$doc" "$c.args" | awk '{ printf "%s\"%s\"", (NR > 1 ? "," : ""), $0 }')"
      [ -n "$args_json" ] && args_json="[$args_json]"
      ports="$(under "$file" "$doc" "$c.ports" .containerPort | paste -sd' ')"
      ours+="$(get "$file" "$doc" "$c.name") $(get "$file" "$doc" "$c.image") $args_json $ports"
      ours+=" $(get "$file" "$doc" "$c.readinessProbe.grpc.port")"$'\n'
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

if [ "$FAILURES" -gt 0 ]; then
  echo "$FAILURES check(s) failed" >&2
  exit 1
fi
echo "k8s manifests: all checks passed" >&2
