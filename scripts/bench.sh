#!/usr/bin/env bash
# bench.sh NAME [flags] is `make bench-NAME`: it starts a private Postgres and
# Redis (.data/bench, on their own ports), empties both, builds and starts the
# API and the worker, runs `go run ./cmd/bench NAME`, and stops everything it
# started.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/bench.sh NAME [flags]}
shift

# One run at a time per checkout: each run empties the bench stack, and its
# end stops it. The lock is fd 9, which the servers started below must not
# inherit (a daemon holding it would lock out every later run).
mkdir -p .data/bench
exec 9>.data/bench/run.lock
if ! flock -n 9; then
  echo "bench: another make bench-* is running in this checkout" >&2
  exit 1
fi
# An API or worker a killed run left behind would serve, or consume from,
# the next run's stack: stop them (by the ids that run recorded, and only if
# they are still our binaries).
if [ -f .data/bench/run.pids ]; then
  while read -r p; do
    case "$(readlink "/proc/$p/exe" 2>/dev/null)" in
      "$PWD/bin/api" | "$PWD/bin/worker" | "$PWD/bin/api (deleted)" | "$PWD/bin/worker (deleted)")
        echo "bench: stopping process $p left by an earlier run" >&2
        kill -TERM "$p" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        ;;
    esac
  done <.data/bench/run.pids
  rm -f .data/bench/run.pids
fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -f .data/bench/run.pids
  scripts/stack.sh down bench 9>&-
}
trap cleanup EXIT
scripts/stack.sh up bench 9>&-
[ -x scripts/embeddings.sh ] && scripts/embeddings.sh
set -a
# shellcheck disable=SC1091
. .data/bench/env
set +a
# A fresh database per run, so results never depend on an earlier run.
psql -X -q "$ADMEM_TEST_ADMIN_URL" -c "DROP DATABASE IF EXISTS admem WITH (FORCE)" -c "CREATE DATABASE admem"
# And an empty Redis (the bench stack's own server, from .data/bench/env):
# the event stream with its consumer groups and unacknowledged entries, the
# dead-letter streams and the rate-limit counters survive a dropped
# database, and the next run's worker would replay the last run's backlog.
# Connections from outside this run (pub/sub subscribers included) are cut.
if [[ ! $ADMEM_REDIS_URL =~ ^redis://:([^@]+)@([^:/]+):([0-9]+) ]]; then
  echo "bench: cannot read the bench stack's Redis address" >&2
  exit 1
fi
redis_pass=${BASH_REMATCH[1]} redis_host=${BASH_REMATCH[2]} redis_port=${BASH_REMATCH[3]}
bench_redis() { REDISCLI_AUTH=$redis_pass redis-cli -h "$redis_host" -p "$redis_port" "$@"; }
bench_redis CLIENT KILL TYPE pubsub >/dev/null
bench_redis CLIENT KILL TYPE normal SKIPME yes >/dev/null
if [ "$(bench_redis FLUSHALL)" != OK ] || [ "$(bench_redis DBSIZE)" != 0 ]; then
  echo "bench: could not empty the bench stack's Redis" >&2
  exit 1
fi

# ADMEM_BENCH_HTTP_PORT moves the API (and the worker to the next port), so that
# a second checkout can run a benchmark beside this one (with its own
# ADMEM_PG_PORT and ADMEM_REDIS_PORT).
http_port=${ADMEM_BENCH_HTTP_PORT:-18080}
export ADMEM_HTTP_ADDR=127.0.0.1:$http_port ADMEM_WORKER_ADDR=127.0.0.1:$((http_port + 1))
export ADMEM_BOOTSTRAP_KEY_FILE=$PWD/.data/bench/platform.key
export ADMEM_LOG_LEVEL=${ADMEM_LOG_LEVEL:-warn}
# sim: the worker looks for tenants due for adapter training every 3 s and
# trains one as soon as a labelled step arrived (a failed episode may label
# only its few failed steps), so each recorded episode brings one adapter
# update and the forgetting protocol's 100 updates take about 100 episodes
# instead of an hour at the defaults (30 s, 200 steps).
# poison: its volume attack measures what the adapter learnt from it, so the
# adapter trains as soon as the tenant has enough labelled steps.
if [ "$name" = sim ] || [ "$name" = poison ]; then
  export ADMEM_ADAPTER_TRAIN_EVERY=${ADMEM_ADAPTER_TRAIN_EVERY:-3s} ADMEM_ADAPTER_MIN_NEW=${ADMEM_ADAPTER_MIN_NEW:-1}
fi
# load: the API's CPU profile is read from its private metrics listener.
if [ "$name" = load ]; then
  export ADMEM_METRICS_ADDR=${ADMEM_METRICS_ADDR:-127.0.0.1:$((http_port + 2))}
  export ADMEM_BENCH_PPROF=http://$ADMEM_METRICS_ADDR/debug/pprof
fi
rm -f "$ADMEM_BOOTSTRAP_KEY_FILE"
mkdir -p bin .data/bench/logs
go build -o bin/api ./cmd/api
go build -o bin/worker ./cmd/worker
bin/api migrate >/dev/null

bin/api serve >.data/bench/logs/api.log 2>&1 9>&- &
pids+=($!)
# learner starts and stops its own worker processes (it times them).
if [ "$name" = learner ]; then
  export ADMEM_BENCH_OWN_WORKERS=1 ADMEM_BENCH_WORKER_LOG=$PWD/.data/bench/logs/worker.log
else
  bin/worker >.data/bench/logs/worker.log 2>&1 9>&- &
  pids+=($!)
fi
printf '%s\n' "${pids[@]}" >.data/bench/run.pids
# The processes a benchmark may measure the CPU of: ours, and the stack's
# Postgres (its postmaster) and Redis, from their state folder.
state=.data/bench
[ -f .data/bench/state ] && state=$(cat .data/bench/state)
export ADMEM_BENCH_API_PID=${pids[0]} ADMEM_BENCH_WORKER_PID=${pids[1]:-}
ADMEM_BENCH_PG_PID=$(head -n 1 "$state/pg/postmaster.pid" 2>/dev/null || true)
ADMEM_BENCH_REDIS_PID=$(cat "$state/run/redis.pid" 2>/dev/null || true)
export ADMEM_BENCH_PG_PID ADMEM_BENCH_REDIS_PID
for _ in $(seq 1 100); do
  curl -fs "http://$ADMEM_HTTP_ADDR/readyz" >/dev/null 2>&1 && [ -s "$ADMEM_BOOTSTRAP_KEY_FILE" ] && break
  for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "bench: the API or the worker stopped at start; see .data/bench/logs" >&2
      tail -n 5 .data/bench/logs/api.log .data/bench/logs/worker.log >&2
      exit 1
    fi
  done
  sleep 0.2
done
go run ./cmd/bench "$name" -api "http://$ADMEM_HTTP_ADDR" -key-file "$ADMEM_BOOTSTRAP_KEY_FILE" "$@"
