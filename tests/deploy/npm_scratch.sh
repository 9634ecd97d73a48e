# npm packages for tests, installed outside the repository: source this file,
# then `dir="$(npm_scratch @bufbuild/buf@1.75.0 ...)"` installs the exact
# versions given into a scratch folder of their own (once: later calls with
# the same list reuse it) and prints its path. Tests running at once share
# it under a lock. The folder: $EASYMONEY_NPM_SCRATCH, else
# ${TMPDIR:-/tmp}/easymoney-npm-scratch, one subfolder per package list.
npm_scratch() {
  command -v npm >/dev/null || { echo "npm is missing (Debian: nodejs npm; scripts/test installs them)" >&2; return 1; }
  local root="${EASYMONEY_NPM_SCRATCH:-${TMPDIR:-/tmp}/easymoney-npm-scratch}"
  local key
  key="$(printf '%s\n' "$@" | sha256sum | cut -c1-16)"
  local dir="$root/$key"
  mkdir -p "$root"
  (
    flock 9
    if [ ! -f "$dir/.installed" ]; then
      rm -rf "$dir" && mkdir -p "$dir"
      echo "npm: installing $* into $dir" >&2
      (cd "$dir" && echo '{"private": true}' > package.json &&
        npm install --no-audit --no-fund --loglevel=error --save-exact "$@" >&2) || exit 1
      touch "$dir/.installed"
    fi
  ) 9>"$root/.lock" || return 1
  echo "$dir"
}
