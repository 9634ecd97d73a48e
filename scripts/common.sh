# Shared by scripts/run, scripts/test and scripts/bench: install what is
# missing, then configure and build. Source it; do not run it.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO_ROOT/build}"

# Debian 12 packages the build needs (scripts/build, scripts/run, the
# container's build stage).
BUILD_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libeigen3-dev libabsl-dev prometheus-cpp-dev libcivetweb-dev libssl-dev zlib1g-dev libmicrohttpd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# What the tests need beyond the build: promtool and a real Prometheus, the
# monitoring checks' python3, headless Chromium for the status page.
# openssl makes the throw-away certificates of the TLS tests; Node.js and npm
# fetch buf (tests/deploy/buf_test.sh) into a scratch folder; git gives it
# the previous commit; curl is the plain HTTP client of the Connect tests.
TEST_PACKAGES=(prometheus python3 chromium openssl nodejs npm git curl)
REQUIRED_PACKAGES=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}")

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Installs the packages of $@ that dpkg does not report as installed; a
# no-op (no apt-get at all) when everything is present.
ensure_packages() {
  local missing=()
  local package
  for package in "$@"; do
    # Node.js may come from elsewhere (NodeSource's nodejs carries npm and
    # conflicts with Debian's npm): a working command is enough.
    case "$package" in
      nodejs) command -v node >/dev/null && continue;;
      npm) command -v npm >/dev/null && continue;;
    esac
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  log "installing missing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

# Configures (Release unless BUILD_TYPE says otherwise) and builds every
# target into $BUILD_DIR/bin.
build_project() {
  local build_type="${BUILD_TYPE:-Release}"
  log "configuring ($build_type) in $BUILD_DIR"
  cmake -S "$REPO_ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" >/dev/null
  log "building with $(nproc) jobs"
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}
