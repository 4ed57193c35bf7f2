#!/usr/bin/env bash
# bench.sh NAME [flags] is `make bench-NAME`: it starts a private Postgres and
# Redis (.data/bench, on their own ports), recreates the benchmark database,
# builds and starts the API and the worker, runs `go run ./cmd/bench NAME`,
# and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/bench.sh NAME [flags]}
shift

scripts/stack.sh up bench
[ -x scripts/embeddings.sh ] && scripts/embeddings.sh
set -a
# shellcheck disable=SC1091
. .data/bench/env
set +a
# A fresh database per run, so results never depend on an earlier run.
psql -X -q "$ADMEM_TEST_ADMIN_URL" -c "DROP DATABASE IF EXISTS admem WITH (FORCE)" -c "CREATE DATABASE admem"

# ADMEM_BENCH_HTTP_PORT moves the API (and the worker to the next port), so that
# a second checkout can run a benchmark beside this one (with its own
# ADMEM_PG_PORT and ADMEM_REDIS_PORT).
http_port=${ADMEM_BENCH_HTTP_PORT:-18080}
export ADMEM_HTTP_ADDR=127.0.0.1:$http_port ADMEM_WORKER_ADDR=127.0.0.1:$((http_port + 1))
export ADMEM_BENCH_WORKER=http://$ADMEM_WORKER_ADDR
export ADMEM_BOOTSTRAP_KEY_FILE=$PWD/.data/bench/platform.key
export ADMEM_LOG_LEVEL=${ADMEM_LOG_LEVEL:-warn}
# sim: the worker looks for tenants due for adapter training every 3 s and
# trains one as soon as a labelled step arrived (a failed episode may label
# only its few failed steps), so each recorded episode brings one adapter
# update and the forgetting protocol's 100 updates take about 100 episodes
# instead of an hour at the defaults (30 s, 200 steps).
if [ "$name" = sim ]; then
  export ADMEM_ADAPTER_TRAIN_EVERY=${ADMEM_ADAPTER_TRAIN_EVERY:-3s} ADMEM_ADAPTER_MIN_NEW=${ADMEM_ADAPTER_MIN_NEW:-1}
fi
rm -f "$ADMEM_BOOTSTRAP_KEY_FILE"
mkdir -p bin .data/bench/logs
go build -o bin/api ./cmd/api
go build -o bin/worker ./cmd/worker
bin/api migrate >/dev/null

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/stack.sh down bench
}
trap cleanup EXIT
bin/api serve >.data/bench/logs/api.log 2>&1 &
pids+=($!)
bin/worker >.data/bench/logs/worker.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fs "http://$ADMEM_HTTP_ADDR/readyz" >/dev/null 2>&1 && [ -s "$ADMEM_BOOTSTRAP_KEY_FILE" ] && break
  sleep 0.2
done
go run ./cmd/bench "$name" -api "http://$ADMEM_HTTP_ADDR" -key-file "$ADMEM_BOOTSTRAP_KEY_FILE" "$@"
