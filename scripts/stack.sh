#!/usr/bin/env bash
# stack.sh manages a local Postgres (with pgvector) and Redis on loopback, with
# all their data under .data/<name>/ in the project.
#
#   scripts/stack.sh up NAME     install what is missing, start (idempotent), write .data/NAME/env
#   scripts/stack.sh down NAME   stop what "up" started
#   scripts/stack.sh env NAME    print the environment file's path
#
# NAME is dev (make run), test (make test) or bench (make bench-*); each has its
# own ports and data, so they can run side by side.
set -euo pipefail

cmd=${1:-}
name=${2:-dev}
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.data/$name"
pgbin=${PG_BIN:-/usr/lib/postgresql/15/bin}

case "$name" in
  dev) pgport=${ADMEM_PG_PORT:-55432} redisport=${ADMEM_REDIS_PORT:-56379} ;;
  test) pgport=${ADMEM_PG_PORT:-55433} redisport=${ADMEM_REDIS_PORT:-56380} ;;
  bench) pgport=${ADMEM_PG_PORT:-55434} redisport=${ADMEM_REDIS_PORT:-56381} ;;
  *) echo "stack.sh: unknown stack '$name' (dev, test or bench)" >&2; exit 2 ;;
esac

log() { printf '[stack:%s] %s\n' "$name" "$*" >&2; }

# Postgres refuses to run as root, so as root the servers run as a system user.
runas=()
svcuser=$(id -un)
if [ "$(id -u)" = 0 ]; then
  svcuser=admem
  if ! id "$svcuser" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$svcuser"
  fi
  runas=(runuser -u "$svcuser" --)
fi

# The servers' files live under .data/NAME when the service user can reach
# that folder; a checkout inside a private folder (mode 700, as a CI clone
# may be) gets a state folder under /var/tmp instead, keyed by the checkout.
locate_state() {
  state="$dir"
  if [ -f "$dir/state" ]; then
    state=$(cat "$dir/state")
  elif [ "$(id -u)" = 0 ] && ! runuser -u "$svcuser" -- test -x "$dir/.." 2>/dev/null; then
    state="/var/tmp/admem-$(echo "$root" | sha1sum | cut -c1-12)/$name"
    mkdir -p "$state"
    chmod 711 "$(dirname "$state")"
  fi
  echo "$state" >"$dir/state"
}

# as_svc runs a command as the service user, from / so that an unreachable
# working directory is no bother.
as_svc() { (cd / && "${runas[@]}" "$@"); }

secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# redis_ok says whether our Redis answers on its port (redis-cli exits 0 on an
# error reply, such as another server's NOAUTH, so read the answer).
redis_ok() {
  [ "$(redis-cli -p "$redisport" -a "$redis_password" --no-auth-warning ping 2>/dev/null)" = PONG ]
}

# port_busy says whether something already listens on a loopback port.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port prints the first free port from $1 on. A busy port fails the dev
# stack (its clients keep the address), while the throwaway test and bench
# stacks move to the next free one and write it to their environment file.
free_port() {
  local port=$1 what=$2
  if ! port_busy "$port"; then echo "$port"; return; fi
  if [ "$name" = dev ]; then
    log "$what port $port is taken by another process; set ADMEM_${what^^}_PORT"
    exit 1
  fi
  for p in $(seq $((port + 10)) 10 $((port + 1000))); do
    if ! port_busy "$p"; then
      log "$what port $port is taken; using $p"
      echo "$p"
      return
    fi
  done
  log "no free $what port near $port"
  exit 1
}

up() {
  "$root/scripts/deps.sh"
  mkdir -p "$dir"
  chmod 700 "$dir"
  locate_state
  mkdir -p "$state/pg" "$state/redis" "$state/run"
  # The secrets sit beside the servers' files: a state folder under /var/tmp
  # outlives a checkout, and a new checkout must not meet an old cluster with
  # passwords it never knew.
  secrets="$state/secrets"
  [ ! -f "$secrets" ] && [ -f "$dir/secrets" ] && [ -f "$state/pg/PG_VERSION" ] && cp "$dir/secrets" "$secrets"
  if [ ! -f "$secrets" ] && [ -f "$state/pg/PG_VERSION" ]; then
    log "a Postgres cluster without its secrets is in $state/pg: starting afresh"
    as_svc "$pgbin/pg_ctl" -D "$state/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$state/pg" "$state/redis"
    mkdir -p "$state/pg" "$state/redis"
  fi
  if [ ! -f "$secrets" ]; then
    (umask 077
    {
      echo "pg_super_password=$(secret)"
      echo "pg_app_password=$(secret)"
      echo "redis_password=$(secret)"
      echo "jwt_secret=$(secret)$(secret)"
    } >"$secrets")
  fi
  # shellcheck disable=SC1091
  . "$secrets"
  if [ "$(id -u)" = 0 ]; then
    chown -R "$svcuser" "$state/pg" "$state/redis" "$state/run"
    chown "$svcuser" "$state"
  fi

  if [ ! -f "$state/pg/PG_VERSION" ]; then
    log "initdb"
    pwfile="$state/run/pw"
    (umask 077; echo "$pg_super_password" >"$pwfile")
    [ "$(id -u)" = 0 ] && chown "$svcuser" "$pwfile"
    as_svc "$pgbin/initdb" -D "$state/pg" -U postgres --auth-local=peer \
      --auth-host=scram-sha-256 --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $pgport"
      echo "unix_socket_directories = '$state/run'"
      echo "max_connections = 300"
      echo "shared_buffers = 256MB"
      echo "maintenance_work_mem = 512MB"
      if [ "$name" = test ]; then
        # Throwaway data: durability costs time and buys nothing.
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
      fi
    } >>"$state/pg/postgresql.conf"
  fi

  if as_svc "$pgbin/pg_ctl" -D "$state/pg" status >/dev/null 2>&1; then
    [ -f "$state/run/ports" ] && . "$state/run/ports"
  else
    pgport=$(free_port "$pgport" pg)
    # The benchmark stack holds a million entries and their HNSW graphs:
    # give it enough shared memory that index inserts do not thrash.
    pgopts=""
    pgopts="-p $pgport"
    # Checkpoints far apart, so a bulk load's HNSW inserts do not rewrite
    # whole pages to the WAL after every checkpoint.
    [ "$name" = bench ] && pgopts="$pgopts -c shared_buffers=${ADMEM_PG_SHARED_BUFFERS:-2GB} -c max_wal_size=16GB -c checkpoint_timeout=30min"
    log "starting Postgres on 127.0.0.1:$pgport"
    as_svc "$pgbin/pg_ctl" -D "$state/pg" -l "$state/pg/server.log" -w -t 60 ${pgopts:+-o "$pgopts"} start >/dev/null
  fi

  export PGPASSWORD="$pg_super_password"
  psql_super() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" -U postgres "$@"; }
  psql_super -d postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'admem_app') THEN
    CREATE ROLE admem_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'admem_api') THEN
    CREATE ROLE admem_api LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE IN ROLE admem_app;
  END IF;
END
\$\$;
ALTER ROLE admem_api PASSWORD '$pg_app_password';
SQL
  if [ -z "$(psql_super -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'admem'")" ]; then
    psql_super -d postgres -c "CREATE DATABASE admem"
  fi
  unset PGPASSWORD

  if ! redis_ok; then
    redisport=$(free_port "$redisport" redis)
    log "starting Redis on 127.0.0.1:$redisport"
    persist=(--appendonly yes --appendfsync everysec)
    [ "$name" = test ] && persist=(--appendonly no --save "")
    as_svc redis-server --bind 127.0.0.1 --port "$redisport" --dir "$state/redis" \
      --requirepass "$redis_password" --daemonize yes --pidfile "$state/run/redis.pid" \
      --logfile "$state/redis/redis.log" "${persist[@]}"
    for _ in $(seq 1 50); do
      redis_ok && break
      sleep 0.1
    done
  fi

  echo "pgport=$pgport redisport=$redisport" >"$state/run/ports.tmp"
  # Redis's port is known only once it answers: keep both where down finds them.
  mv "$state/run/ports.tmp" "$state/run/ports"
  umask 077
  cat >"$dir/env" <<ENV
export ADMEM_DATABASE_URL='postgres://admem_api:$pg_app_password@127.0.0.1:$pgport/admem?sslmode=disable'
export ADMEM_MIGRATE_DATABASE_URL='postgres://postgres:$pg_super_password@127.0.0.1:$pgport/admem?sslmode=disable'
export ADMEM_REDIS_URL='redis://:$redis_password@127.0.0.1:$redisport/0'
export ADMEM_JWT_SECRET='$jwt_secret'
export ADMEM_TEST_ADMIN_URL='postgres://postgres:$pg_super_password@127.0.0.1:$pgport/postgres?sslmode=disable'
export ADMEM_TEST_APP_USER='admem_api'
export ADMEM_TEST_APP_PASSWORD='$pg_app_password'
export ADMEM_TEST_REDIS_URL='redis://:$redis_password@127.0.0.1:$redisport/0'
ENV
  log "up: Postgres 127.0.0.1:$pgport, Redis 127.0.0.1:$redisport; environment in .data/$name/env"
}

down() {
  state="$dir"
  [ -f "$dir/state" ] && state=$(cat "$dir/state")
  if [ -f "$state/pg/PG_VERSION" ] && as_svc "$pgbin/pg_ctl" -D "$state/pg" status >/dev/null 2>&1; then
    as_svc "$pgbin/pg_ctl" -D "$state/pg" -m fast -w stop >/dev/null && log "Postgres stopped"
  fi
  # shellcheck disable=SC1091
  [ -f "$state/run/ports" ] && . "$state/run/ports"
  secrets="$state/secrets"
  [ -f "$secrets" ] || secrets="$dir/secrets"
  if [ -f "$secrets" ]; then
    # shellcheck disable=SC1091
    . "$secrets"
    if redis_ok; then
      redis-cli -p "$redisport" -a "$redis_password" --no-auth-warning shutdown nosave >/dev/null 2>&1 || true
      log "Redis stopped"
    fi
  fi
}

case "$cmd" in
  up) up ;;
  down) down ;;
  env) echo "$dir/env" ;;
  *) echo "usage: scripts/stack.sh up|down|env [dev|test|bench]" >&2; exit 2 ;;
esac
