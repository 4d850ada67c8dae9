#!/usr/bin/env bash
# Soak test (issue "Reliability"): `bash scripts/soak.sh [--crash] [SECONDS]` (default 60).
#
# Starts its own private PostgreSQL 15 cluster with durability on (fsync,
# synchronous_commit and full_page_writes at their defaults, never AGNO_PG_FAST) and its
# own PostgREST, creates database `soak` with the extension in schema `ai`, the roles of
# sql/postgrest.sql, an HS256 secret shared by PostgREST and the extension, and a LOGIN
# role soak_sql (a member of learnings_user) for the SQL clients. Then tests/soak/soak.py
# runs 32 HTTP and 4 SQL clients for SECONDS: 200 users with their own tokens and an
# admin, a mixed workload over the seven functions with about 5% bad input, and checks
# statuses, isolation and, afterwards, the table against every acknowledged write and
# every list's total_count against count(*).
#
#   --crash   during the load, SIGKILL one backend serving PostgREST, later the
#             postmaster (started again with pg_ctl): nothing acknowledged may be lost,
#             nothing deleted may come back, PostgREST must reconnect by itself; errors
#             are allowed only during the outages and are counted.
#
# Prints requests by operation and status, latencies, a summary and, last,
# `N passed, N failed` over the checks. Exit status: 0 when every check passed.
# Needs the extension installed in the system PostgreSQL 15 (scripts/test.sh or
# scripts/run.sh install it). AGNO_SOAK_KEEP=1 keeps the work directory (cluster,
# logs); it is kept anyway when a check failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

crash=0
seconds=60
for arg in "$@"; do
    case "$arg" in
    --crash) crash=1 ;;
    -h | --help)
        script_usage "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        [[ "$arg" =~ ^[0-9]+$ && "$arg" -gt 0 ]] || { script_usage "${BASH_SOURCE[0]}" >&2; exit 2; }
        seconds="$arg"
        ;;
    esac
done

step "check that the extension is installed"
[[ -f "$("$PG_CONFIG" --sharedir)/extension/agno_learnings.control" ]] ||
    die "agno_learnings is not installed in PostgreSQL $PG_VERSION (run scripts/test.sh or scripts/run.sh)"

step "Python venv and PostgREST"
ensure_python
ensure_postgrest

# Everything lives in one directory the cluster's OS user can reach: the data directory,
# and beside it (so a base backup would not copy it) PostgREST's directory with the secret.
WORK="$(mktemp -d /tmp/agno-soak-XXXXXX)"
PG_DIR="$WORK/pg"
HTTP_DIR="$WORK/http"
if is_root; then
    chown "$AGNO_PG_OS_USER:" "$WORK"
fi
status=1

# Our own cleanup rather than cluster_stop_on_exit: PostgREST must stop too (it would
# retry connecting forever), a failed run keeps its logs, and the driver's
# `N passed, N failed` stays the last line.
soak_cleanup() {
    postgrest_stop "$HTTP_DIR" || true
    cluster_stop "$PG_DIR" 2>/dev/null || warn "could not stop the cluster in $PG_DIR"
    if [[ $status -eq 0 && "${AGNO_SOAK_KEEP:-0}" != 1 ]]; then
        rm -rf -- "$WORK"
        return
    fi
    if [[ -s "$WORK/soak.out" ]]; then
        # Crashes, restarts and fatal errors, not the workload's expected ERROR lines.
        echo "---- postgres.log: crashes and restarts ----"
        as_pg_user grep -E 'PANIC|TRAP|FATAL|terminated by|server process|database system' \
            "$PG_DIR/postgres.log" | tail -n 20 || true
        echo "---- last lines of postgrest.log ----"
        tail -n 15 "$HTTP_DIR/postgrest.log" || true
    fi
    echo "soak: work directory kept: $WORK (postgres.log in pg/, postgrest.log in http/)"
    if [[ -s "$WORK/soak.out" ]]; then
        tail -n 1 "$WORK/soak.out"
    fi
}
trap 'soak_cleanup' EXIT
trap 'soak_cleanup; trap - EXIT; exit 130' INT
trap 'soak_cleanup; trap - EXIT; exit 143' TERM

step "start a private cluster with durability on"
# scripts/test.sh exports AGNO_PG_FAST=1 for its test cluster; a crash test needs fsync.
unset AGNO_PG_FAST
started=0
for _ in 1 2 3; do # a port may be taken between free_port and the start
    if cluster_start "$PG_DIR" "$(free_port)"; then
        started=1
        break
    fi
done
[[ $started == 1 ]] || die "could not start PostgreSQL in $PG_DIR"

psql_q() {
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}
durability="$(psql_q -d postgres -tAc "SELECT current_setting('fsync') || current_setting('synchronous_commit') || current_setting('full_page_writes')")"
[[ "$durability" == ononon ]] || die "durability is off in the soak cluster (fsync, synchronous_commit, full_page_writes: $durability)"

step "database soak: extension, PostgREST roles, soak_sql, JWT secret"
psql_q -d postgres -c "CREATE DATABASE soak"
psql_q -d soak -c "SET client_min_messages = warning" -c "CREATE SCHEMA ai" -c "CREATE EXTENSION agno_learnings SCHEMA ai"
psql_q -d soak -v schema=ai -f sql/postgrest.sql
# The SQL clients log in as an ordinary role: their request.jwt.claims would not be
# believed (only learnings_authenticator's are), so they call learnings_authenticate.
psql_q -d soak -c "CREATE ROLE soak_sql LOGIN" -c "GRANT learnings_user TO soak_sql"
mkdir -p "$HTTP_DIR"
(umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$HTTP_DIR/jwt_secret")
if is_root; then
    # The server reads the secret as its OS user; the driver (root) reads it too.
    chown -R "$AGNO_PG_OS_USER:" "$HTTP_DIR"
fi
psql_q -d soak -c "ALTER DATABASE soak SET agno_learnings.jwt_secret_file = '$HTTP_DIR/jwt_secret'"

step "start PostgREST"
http_port=""
for _ in 1 2 3; do
    http_port="$(free_port)"
    postgrest_start "$HTTP_DIR" "$http_port" soak ai && break
    postgrest_stop "$HTTP_DIR"
    http_port=""
done
[[ -n "$http_port" ]] || die "PostgREST did not start"

step "soak driver ($seconds s$([[ $crash == 1 ]] && echo ', crash'))"
args=(--seconds "$seconds" --http-port "$http_port" --pghost "$PGHOST" --pgport "$PGPORT"
    --pgdata "$PG_DIR" --db soak --secret-file "$HTTP_DIR/jwt_secret" --lib "$AGNO_REPO_ROOT/scripts/lib.sh")
[[ $crash == 1 ]] && args+=(--crash)
[[ -n "${AGNO_SOAK_DUMP:-}" ]] && args+=(--dump "$AGNO_SOAK_DUMP")
rc=0
"$AGNO_PYTHON" tests/soak/soak.py "${args[@]}" | tee "$WORK/soak.out" || rc=$?
[[ $rc -eq 0 ]] || exit "$rc"
status=0
