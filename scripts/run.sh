#!/usr/bin/env bash
# run.sh installs what is missing, starts the local Postgres and Redis, applies
# migrations and runs the API and the worker in the foreground. Ctrl-C stops
# all of it; the data stays in .data/dev for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/stack.sh up dev
[ -x scripts/embeddings.sh ] && scripts/embeddings.sh
set -a
# shellcheck disable=SC1091
. .data/dev/env
set +a
export ADMEM_HTTP_ADDR=${ADMEM_HTTP_ADDR:-127.0.0.1:8080}
export ADMEM_WORKER_ADDR=${ADMEM_WORKER_ADDR:-127.0.0.1:8081}

echo "[run] building" >&2
mkdir -p bin
go build -o bin/api ./cmd/api
go build -o bin/worker ./cmd/worker
bin/api migrate
# The first start makes the platform admin key: print it once, and keep it in
# .data/dev/platform.key (mode 0600, beside the stack's other secrets) for
# `make example` and scripts.
export ADMEM_BOOTSTRAP_KEY_FILE=${ADMEM_BOOTSTRAP_KEY_FILE:-$PWD/.data/dev/platform.key}
if [ ! -s "$ADMEM_BOOTSTRAP_KEY_FILE" ]; then
  bin/api bootstrap >/dev/null
  if [ -s "$ADMEM_BOOTSTRAP_KEY_FILE" ]; then
    printf '\n  ADMEM PLATFORM ADMIN KEY (also in %s):\n\n    %s\n\n' \
      "${ADMEM_BOOTSTRAP_KEY_FILE#"$PWD"/}" "$(cat "$ADMEM_BOOTSTRAP_KEY_FILE")"
  fi
fi

pids=()
stop() {
  trap - INT TERM EXIT
  echo "[run] stopping" >&2
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/stack.sh down dev
}
trap stop INT TERM EXIT

bin/api serve &
pids+=($!)
bin/worker &
pids+=($!)
echo "[run] API on http://$ADMEM_HTTP_ADDR, worker metrics on http://$ADMEM_WORKER_ADDR/metrics; Ctrl-C stops" >&2
# Either process ending ends the run.
wait -n "${pids[@]}" || true
