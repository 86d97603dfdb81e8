#!/usr/bin/env bash
# Start the machine's PostgreSQL 15 cluster if it is installed and make a fresh test database
# (FRONTDOOR_TEST_PG_DB, default frontdoor_test: dropped and made again, so each run starts
# from the schema the code defines; give each checkout its own name to run them side by side).
# Prints the DATABASE_URL on stdout (nothing when PostgreSQL is not available); progress on stderr.
set -u
command -v pg_ctlcluster >/dev/null 2>&1 || { echo "postgres: pg_ctlcluster not found; PostgreSQL tests will be skipped" >&2; exit 0; }
if ! pg_lsclusters 2>/dev/null | grep -q '^15 *main .*online'; then
  echo "postgres: starting cluster 15/main" >&2
  pg_ctlcluster 15 main start >&2 || { echo "postgres: could not start 15/main; PostgreSQL tests will be skipped" >&2; exit 0; }
fi
for _ in $(seq 1 30); do pg_isready -p 5432 -q 2>/dev/null && break; sleep 0.5; done
run_psql() {  # SQL on stdin, as the postgres superuser over the local socket
  if [ "$(id -u)" = 0 ]; then su postgres -c "psql -p 5432 -v ON_ERROR_STOP=1 -qAt"; else psql -p 5432 -U postgres -v ON_ERROR_STOP=1 -qAt; fi
}
run_psql >&2 <<'SQL' || { echo "postgres: could not create the test role; PostgreSQL tests will be skipped" >&2; exit 0; }
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'frontdoor') THEN
    CREATE ROLE frontdoor LOGIN PASSWORD 'frontdoor';
  END IF;
END $$;
-- the parallel test processes each make a database of their own (tests/pg_workers.py)
ALTER ROLE frontdoor CREATEDB;
SQL
db="${FRONTDOOR_TEST_PG_DB:-frontdoor_test}"
case "$db" in *[!a-z0-9_]*|"") echo "postgres: FRONTDOOR_TEST_PG_DB must be lower-case letters, digits and _" >&2; exit 0;; esac
echo "DROP DATABASE IF EXISTS $db WITH (FORCE)" | run_psql >&2
echo "CREATE DATABASE $db OWNER frontdoor" | run_psql >&2 || { echo "postgres: could not create $db; PostgreSQL tests will be skipped" >&2; exit 0; }
echo "postgresql://frontdoor:frontdoor@127.0.0.1:5432/$db"
