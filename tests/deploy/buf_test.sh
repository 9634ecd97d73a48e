#!/usr/bin/env bash
# The proto API checked with buf (buf.yaml at the repository's root): lint,
# and no breaking change (buf's FILE rules: generated code and the wire)
# against an earlier commit, by default the one before HEAD. A proof that
# the breaking check bites runs first: a renamed field must be reported.
#
#   tests/deploy/buf_test.sh [--repo DIR] [--against GIT_REF]
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AGAINST="HEAD~1"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    --repo) REPO="$2"; shift 2;;
    --against) AGAINST="$2"; shift 2;;
    *) echo "unknown argument '$1'; see --help" >&2; exit 2;;
  esac
done
source "$(dirname "${BASH_SOURCE[0]}")/npm_scratch.sh"
BUF="$(npm_scratch @bufbuild/buf@1.75.0)/node_modules/.bin/buf"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$REPO"

echo "buf lint"
"$BUF" lint

# The check can fail: a copy with one field renamed breaks against proto/.
cp -r proto "$WORK/renamed"
sed -i 's/^  string customer_id = 1;/  string customer_key = 1;/' "$WORK/renamed/easymoney/recommender/v1/recommender.proto"
if "$BUF" breaking "$WORK/renamed" --against proto >"$WORK/renamed.out" 2>&1; then
  echo "FAIL: buf breaking did not report a renamed field" >&2
  exit 1
fi
grep -q 'changed name from "customer_id" to "customer_key"' "$WORK/renamed.out" ||
  { cat "$WORK/renamed.out" >&2; echo "FAIL: unexpected report" >&2; exit 1; }

if ! git rev-parse --verify -q "$AGAINST^{commit}" >/dev/null; then
  echo "FAIL: $AGAINST is not a commit of $REPO (a shallow clone? fetch its history)" >&2
  exit 1
fi
if [ -z "$(git ls-tree -d "$AGAINST" proto)" ]; then
  echo "no proto/ at $AGAINST: nothing to break"
  exit 0
fi
echo "buf breaking against $AGAINST ($(git rev-parse --short "$AGAINST"))"
"$BUF" breaking proto --against ".git#ref=$(git rev-parse "$AGAINST"),subdir=proto"
echo "PASS"
