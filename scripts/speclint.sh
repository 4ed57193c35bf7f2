#!/usr/bin/env bash
# speclint.sh lints openapi.yaml with Redocly CLI (its recommended-strict
# rules: a warning fails too) and Spectral (its `oas` rules, failing on
# warnings), both pinned in tools/speclint/package-lock.json and installed
# there by scripts/node.sh. `make test` runs it; so does `make speclint`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/node.sh tools/speclint
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true SCARF_ANALYTICS=false
bin=tools/speclint/node_modules/.bin
echo "[speclint] redocly lint openapi.yaml" >&2
(cd tools/speclint && ./node_modules/.bin/redocly lint ../../openapi.yaml --config redocly.yaml --format=stylish)
echo "[speclint] spectral lint openapi.yaml" >&2
"$bin/spectral" lint openapi.yaml --ruleset tools/speclint/.spectral.yaml --fail-severity=warn
