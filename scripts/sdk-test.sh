#!/usr/bin/env bash
# sdk-test.sh runs the SDKs' tests against a real API and worker: it builds
# bin/api and bin/worker, gives them a database of their own (admem_sdk,
# dropped and made afresh) on the running test stack and a Redis prefix of
# their own, starts both on free loopback ports, runs the Python SDK's tests
# and the Python example with Debian's python3, then the TypeScript SDK's
# (its generated types diffed against openapi.yaml, tsc, node's test runner)
# and the TypeScript example, and stops what it started, whatever the tests
# did. PYTEST=0 skips the Python part, TSTEST=0 the TypeScript part.
#
#   scripts/sdk-test.sh            (the test stack must be up: .data/test/env)
#   KEEP=1 scripts/sdk-test.sh     keep the logs in .data/test/sdk/
#
# `make test` runs it after the Go tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck disable=SC1091
. .data/test/env
python=${ADMEM_PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=$(command -v python3)

work=.data/test/sdk
mkdir -p "$work" bin
db=admem_sdk
PGOPTIONS="-c client_min_messages=warning" psql -X -q "$ADMEM_TEST_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
# The stack's URLs name the database admem; this run's name its own.
ADMEM_DATABASE_URL=${ADMEM_DATABASE_URL/\/admem\?//$db?}
ADMEM_MIGRATE_DATABASE_URL=${ADMEM_MIGRATE_DATABASE_URL/\/admem\?//$db?}
export ADMEM_DATABASE_URL ADMEM_MIGRATE_DATABASE_URL ADMEM_REDIS_URL ADMEM_JWT_SECRET
export ADMEM_REDIS_PREFIX="admem-sdk-$$:" ADMEM_SDK_DATABASE=$db
export ADMEM_LOG_LEVEL=${ADMEM_LOG_LEVEL:-warn}
export ADMEM_BOOTSTRAP_KEY_FILE=$PWD/$work/platform.key
rm -f "$ADMEM_BOOTSTRAP_KEY_FILE"

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
api_port=$(free_port)
export ADMEM_HTTP_ADDR=127.0.0.1:$api_port
export ADMEM_WORKER_ADDR=127.0.0.1:$(free_port)

go build -o bin/api ./cmd/api
go build -o bin/worker ./cmd/worker
bin/api migrate >/dev/null

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -z "${KEEP:-}" ]; then
    psql -X -q "$ADMEM_TEST_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
  fi
}
trap cleanup EXIT

bin/api serve >"$work/api.log" 2>&1 &
pids+=($!)
bin/worker >"$work/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  curl -fs "http://$ADMEM_HTTP_ADDR/readyz" >/dev/null 2>&1 && [ -s "$ADMEM_BOOTSTRAP_KEY_FILE" ] && break
  for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "sdk-test: the API or the worker stopped at start" >&2
      tail -n 20 "$work/api.log" "$work/worker.log" >&2
      exit 1
    fi
  done
  sleep 0.2
done

export ADMEM_URL=http://$ADMEM_HTTP_ADDR PYTHONDONTWRITEBYTECODE=1
ADMEM_PLATFORM_KEY=$(cat "$ADMEM_BOOTSTRAP_KEY_FILE")
export ADMEM_PLATFORM_KEY
status=0
if [ "${PYTEST:-1}" != "0" ]; then
echo "[test] Python SDK ($("$python" --version 2>&1)) against $ADMEM_URL" >&2
(cd sdk/python && PYTHONPATH=. PYTHONDONTWRITEBYTECODE=1 "$python" -m unittest discover -s tests -t . ${PYUNITFLAGS:-}) || status=$?
fi
if [ "$status" = 0 ] && [ "${PYTEST:-1}" != "0" ]; then
  echo "[test] the Python example (examples/python/agent_loop.py)" >&2
  ADMEM_KEY=$ADMEM_PLATFORM_KEY "$python" examples/python/agent_loop.py >"$work/example.log" 2>&1 || {
    status=$?
    cat "$work/example.log" >&2
  }
fi
if [ "$status" = 0 ] && [ "${TSTEST:-1}" != "0" ]; then
  scripts/node.sh sdk/typescript
  echo "[test] TypeScript SDK (node $(node --version)): types in sync with openapi.yaml, tsc, node --test" >&2
  tmp=$(mktemp -d)
  (cd sdk/typescript && ./node_modules/.bin/openapi-typescript ../../openapi.yaml --output "$tmp/api.gen.ts" --default-non-nullable=false --silent)
  if ! diff -q sdk/typescript/src/api.gen.ts "$tmp/api.gen.ts" >/dev/null; then
    diff -u sdk/typescript/src/api.gen.ts "$tmp/api.gen.ts" | head -40 >&2 || true
    echo "sdk/typescript/src/api.gen.ts is stale: run 'make generate' and commit it" >&2
    status=1
  fi
  rm -rf "$tmp"
  if [ "$status" = 0 ]; then
    (cd sdk/typescript && rm -rf dist && ./node_modules/.bin/tsc -p . && node --test --test-reporter=spec dist/test/) || status=$?
  fi
  if [ "$status" = 0 ]; then
    echo "[test] the TypeScript example (examples/typescript/agent_loop.ts)" >&2
    ADMEM_KEY=$ADMEM_PLATFORM_KEY scripts/example-ts.sh >"$work/example-ts.log" 2>&1 || {
      status=$?
      cat "$work/example-ts.log" >&2
    }
  fi
fi
if [ "$status" != 0 ]; then
  echo "sdk-test: SDK tests failed; the last lines of the API and worker logs:" >&2
  tail -n 20 "$work/api.log" "$work/worker.log" >&2
fi
exit "$status"
