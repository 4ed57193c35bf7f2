#!/usr/bin/env bash
# test.sh is `make test`: it installs what is missing, starts a throwaway
# Postgres and Redis (.data/test), checks formatting, vets, lints
# openapi.yaml (scripts/speclint.sh), regenerates the API client and fails
# if it differs from the checked-in one, runs every
# test with the race detector, then fuzzes the input parsers for a few
# seconds each, and runs the SDKs' tests against a real API and worker
# (scripts/sdk-test.sh). The test stack is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

# Stop the test stack at the end only if this run started it, so a run does
# not pull the services from under another one (or from a developer's shell).
started=""
if ! { [ -f .data/test/env ] && . .data/test/env && pg_isready -q -d "$ADMEM_TEST_ADMIN_URL" 2>/dev/null; }; then
  started=1
fi
scripts/stack.sh up test
[ -n "$started" ] && trap 'scripts/stack.sh down test' EXIT
[ -x scripts/embeddings.sh ] && scripts/embeddings.sh
set -a
# shellcheck disable=SC1091
. .data/test/env
set +a

echo "[test] gofmt" >&2
unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '^client/client.gen.go$') 2>&1 || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2; echo "$unformatted" >&2; exit 1
fi

echo "[test] go vet" >&2
go vet ./...

echo "[test] lint openapi.yaml (Redocly, Spectral)" >&2
scripts/speclint.sh

echo "[test] Dockerfile and docker-compose.yml (scripts/docker-check.py)" >&2
python3 scripts/docker-check.py

echo "[test] regenerate the API client from openapi.yaml" >&2
tmp=$(mktemp -d)
cp client/client.gen.go "$tmp/before.go"
(cd client && go tool oapi-codegen -config oapi-codegen.yaml ../openapi.yaml)
if ! diff -q "$tmp/before.go" client/client.gen.go >/dev/null; then
  cp "$tmp/before.go" "$tmp/checked-in.go"
  diff -u "$tmp/checked-in.go" client/client.gen.go | head -40 >&2 || true
  echo "client/client.gen.go is stale: run 'make generate' and commit it" >&2
  exit 1
fi
rm -rf "$tmp"

echo "[test] go test -race" >&2
go test -race -count=1 -timeout 45m ${GOTESTFLAGS:-} ./...

# The SDKs against a real API and worker of their own (database admem_sdk on
# this stack). SDKTEST=0 skips them.
if [ "${SDKTEST:-1}" != "0" ]; then
  echo "[test] SDKs against a real API and worker" >&2
  scripts/sdk-test.sh
fi

# Fuzz the parsers of untrusted input for a bounded time (their seed corpora
# already ran above as ordinary tests). FUZZTIME=0 skips this.
fuzztime=${FUZZTIME:-5s}
if [ "$fuzztime" != "0" ]; then
  for target in "FuzzCheck ./internal/jsonscan" "FuzzValidate ./internal/jsonscan" "FuzzParseKey ./internal/auth" "FuzzNormalize ./internal/signature"; do
    set -- $target
    echo "[test] fuzz $1 ($2) for $fuzztime" >&2
    go test -run='^$' -fuzz="^$1\$" -fuzztime="$fuzztime" "$2"
  done
fi
