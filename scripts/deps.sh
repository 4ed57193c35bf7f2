#!/usr/bin/env bash
# deps.sh installs what the local stack needs and is missing: redis-server,
# the Postgres server headers, pgvector built from Debian's source package,
# and python3 for the Python SDK's tests and example.
# It is idempotent: a second run finds everything and does nothing.
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

log() { printf '[deps] %s\n' "$*" >&2; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    $SUDO apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -f /usr/include/postgresql/15/server/postgres.h ] || need+=(postgresql-server-dev-15)
command -v make >/dev/null 2>&1 || need+=(make)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v curl >/dev/null 2>&1 || need+=(curl)
# Debian's own interpreter runs the Python SDK's tests and example (standard library only).
[ -x /usr/bin/python3 ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi

sharedir=$("$PG_CONFIG" --sharedir)
if [ ! -f "$sharedir/extension/vector.control" ]; then
  log "building pgvector from Debian's source package"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # The mirror comes from the machine's own apt configuration, never from this file.
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  fi
  [ -n "$uri" ] || { log "cannot find the Debian mirror in the apt sources"; exit 1; }
  mkdir -p "$work/lists/partial"
  echo "deb-src $uri trixie main" >"$work/sources.list"
  opts=(-o APT::Sandbox::User=root -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists")
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$work" && apt-get "${opts[@]}" source --download-only pgvector >/dev/null)
  tarball=$(ls "$work"/pgvector_*.orig.tar.* | head -1)
  mkdir "$work/src"
  tar -xf "$tarball" -C "$work/src" --strip-components=1
  make -s -C "$work/src" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >/dev/null 2>&1
  $SUDO make -s -C "$work/src" install PG_CONFIG="$PG_CONFIG" >/dev/null
  log "pgvector installed"
fi
