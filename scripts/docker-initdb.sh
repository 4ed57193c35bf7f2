#!/usr/bin/env bash
# Runs once inside the Postgres container at first start (docker-compose.yml):
# the same roles scripts/stack.sh creates for the local stack.
set -euo pipefail
psql -v ON_ERROR_STOP=1 -U postgres -d admem <<SQL
CREATE ROLE admem_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
CREATE ROLE admem_api LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE IN ROLE admem_app PASSWORD '${ADMEM_PG_APP_PASSWORD}';
SQL
