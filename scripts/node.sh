#!/usr/bin/env bash
# node.sh makes sure node (18.17 or newer) and npm are installed, from
# Debian's packages when they are missing or too old, and installs the
# pinned npm packages of one folder (its package-lock.json) into that
# folder's node_modules when they are missing or the lock changed.
#
#   scripts/node.sh DIR      e.g. scripts/node.sh tools/speclint
#
# Sourced by speclint.sh and sdk-test.sh; telemetry of the tools is off.
set -euo pipefail

dir=${1:?usage: scripts/node.sh DIR}
log() { printf '[node] %s\n' "$*" >&2; }

node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>18||(a===18&&b>=17)?0:1)'
}
if ! node_ok; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  log "apt-get install nodejs npm"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  node_ok || { log "node $(node --version 2>/dev/null) is older than 18.17"; exit 1; }
fi

# The lock's checksum, recorded after a successful install, says whether
# node_modules is what the lock pins.
stamp="$dir/node_modules/.admem-lock.sha1"
want=$(sha1sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "npm ci in $dir"
  # --ignore-scripts: the tools need no install scripts (one of them would
  # only send install telemetry).
  (cd "$dir" && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null)
  echo "$want" >"$stamp"
fi
