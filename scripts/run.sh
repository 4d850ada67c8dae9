#!/usr/bin/env bash
# The run command: `bash scripts/run.sh` builds and installs the extension into the system
# PostgreSQL 15, starts a private cluster that keeps running, creates database `agno` with
# the extension in schema `ai`, adds a few demo learnings through the SQL API, and prints
# how to connect.
#
#   bash scripts/run.sh          install, start (or reuse) the cluster, set up `agno`
#   bash scripts/run.sh stop     stop the cluster (data is kept)
#   bash scripts/run.sh status   is it running, and where
#   bash scripts/run.sh reset    drop database `agno`, then set it up again as above
#
# Where it runs (the cluster never runs as root; as root it runs as `postgres`):
#   AGNO_RUN_DIR   data directory, also the unix socket directory and the home of
#                  postgres.log. Default: /tmp/agno_learnings-run when run as root,
#                  else .run/pg in the repository.
#   AGNO_PORT      TCP port on 127.0.0.1 (default 54329)
#   AGNO_RELEASE   1 (default) installs the release build; 0 the debug build
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

if is_root; then
    RUN_DIR="${AGNO_RUN_DIR:-/tmp/agno_learnings-run}"
else
    RUN_DIR="${AGNO_RUN_DIR:-$AGNO_REPO_ROOT/.run/pg}"
fi
RUN_DIR="$(_abs_path "$RUN_DIR")"
PORT="${AGNO_PORT:-54329}"
DB=agno
SCHEMA=ai
export AGNO_RELEASE="${AGNO_RELEASE:-1}"

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

psql_cmd() { # the command line a user types to connect
    printf 'psql -h %s -p %s -U postgres -d %s' "$RUN_DIR" "$PGPORT" "$DB"
}

cmd="${1:-start}"
case "$cmd" in
start | reset) ;;
stop)
    if cluster_running "$RUN_DIR"; then
        cluster_stop "$RUN_DIR"
        echo "stopped (data kept in $RUN_DIR; start again with: bash scripts/run.sh)"
    else
        echo "not running ($RUN_DIR)"
    fi
    exit 0
    ;;
status)
    if cluster_running "$RUN_DIR"; then
        echo "running: $RUN_DIR, port $(_cluster_port "$RUN_DIR")"
    else
        echo "not running ($RUN_DIR)"
        exit 3
    fi
    exit 0
    ;;
-h | --help | help)
    usage
    exit 0
    ;;
*)
    usage >&2
    exit 2
    ;;
esac

# --- 1. toolchain and extension ----------------------------------------------------------
ensure_deps
so_file="$("$PG_CONFIG" --pkglibdir)/agno_learnings.so"
sql_files=("$("$PG_CONFIG" --sharedir)"/extension/agno_learnings--*.sql)
so_before="$(md5sum "$so_file" 2>/dev/null || true)"
sql_before="$(cat "${sql_files[@]}" 2>/dev/null | md5sum)"
install_extension
so_after="$(md5sum "$so_file" 2>/dev/null || true)"
sql_files=("$("$PG_CONFIG" --sharedir)"/extension/agno_learnings--*.sql)
sql_after="$(cat "${sql_files[@]}" 2>/dev/null | md5sum)"

# --- 2. the cluster ----------------------------------------------------------------------
was_running=0
if cluster_running "$RUN_DIR"; then
    was_running=1
fi
cluster_start "$RUN_DIR" "$PORT"
if [[ $was_running == 1 && "$so_before" != "$so_after" ]]; then
    # Backends that loaded the old library must not keep running with it.
    log "the extension library changed: restarting PostgreSQL"
    _quietly as_pg_user "$PG_BINDIR/pg_ctl" -D "$RUN_DIR" restart -m fast -w -t 60 \
        -l "$RUN_DIR/postgres.log"
fi

# --- 3. database, extension, demo data ---------------------------------------------------
psql_q() { # psql on the run cluster, quiet, stop at the first error
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

if [[ "$cmd" == reset ]]; then
    log "dropping database $DB"
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
fi
if [[ "$(psql_q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]]; then
    log "creating database $DB"
    psql_q -d postgres -c "CREATE DATABASE $DB"
elif [[ "$sql_before" != "$sql_after" ]] &&
    [[ "$(psql_q -d "$DB" -tAc "SELECT 1 FROM pg_extension WHERE extname = 'agno_learnings'")" == 1 ]]; then
    # Same version number, new script: CREATE EXTENSION IF NOT EXISTS keeps the old objects.
    warn "the extension's SQL script changed since database $DB was set up;" \
        "to get the new SQL objects run: bash scripts/run.sh reset (drops database $DB)"
fi

log "schema $SCHEMA, extension agno_learnings, demo learnings"
psql_q -d "$DB" <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS ai;
CREATE EXTENSION IF NOT EXISTS agno_learnings SCHEMA ai;

-- Demo learnings, written only through the SQL API. Identity-keyed ones raise
-- unique_violation (23505) when they exist already, so a rerun skips them.
DO $demo$
BEGIN
    PERFORM ai.learnings_create(
        learning_type => 'user_profile', user_id => 'alice',
        content => '{"name": "Alice", "role": "data engineer", "timezone": "Europe/Paris"}');
EXCEPTION WHEN unique_violation THEN NULL;
END
$demo$;

DO $demo$
BEGIN
    PERFORM ai.learnings_create(
        learning_type => 'user_memory', user_id => 'alice', agent_id => 'support-agent',
        content => '{"memories": ["prefers short answers", "works with PostgreSQL 15"]}');
EXCEPTION WHEN unique_violation THEN NULL;
END
$demo$;

DO $demo$
BEGIN
    PERFORM ai.learnings_create(
        learning_type => 'entity_memory', namespace => 'global',
        entity_type => 'company', entity_id => 'acme',
        content => '{"name": "Acme Corp", "facts": ["uses AgentOS", "based in Lyon"]}');
EXCEPTION WHEN unique_violation THEN NULL;
END
$demo$;

DO $demo$
BEGIN
    PERFORM ai.learnings_create(
        learning_type => 'user_profile', user_id => 'carol',
        content => '{"name": "Carol"}');
EXCEPTION WHEN unique_violation THEN NULL;
END
$demo$;

-- A decision_log gets a new UUID on every create: add it only if alice has none yet.
DO $demo$
BEGIN
    IF (ai.learnings_list(learning_type => 'decision_log', user_id => 'alice')
            -> 'meta' ->> 'total_count')::int = 0 THEN
        PERFORM ai.learnings_create(
            learning_type => 'decision_log', user_id => 'alice', agent_id => 'support-agent',
            content => '{"decision": "escalate ticket 42", "reason": "customer on enterprise plan"}',
            metadata => '{"source": "scripts/run.sh"}');
    END IF;
END
$demo$;
SQL

# --- 4. PostgREST ------------------------------------------------------------------------
# (A later step starts PostgREST 12 here, against database $DB on this cluster, and prints
#  its URL below. Nothing runs here yet.)

# --- 5. how to use it --------------------------------------------------------------------
count="$(psql_q -d "$DB" -tAc "SELECT ai.learnings_list() -> 'meta' ->> 'total_count'")"
cat <<EOF

agno_learnings is running: PostgreSQL ${PG_MAJOR} in $RUN_DIR (port $PGPORT, log $RUN_DIR/postgres.log),
database $DB, extension in schema $SCHEMA, $count learnings.

Connect:
  $(psql_cmd)
or over TCP:
  psql -h 127.0.0.1 -p $PGPORT -U postgres -d $DB

Try:
  SELECT ai.learnings_list(user_id => 'alice');
  SELECT ai.learnings_get('user_profile_alice');
  SELECT ai.learnings_update('user_profile_alice', '{"content": {"name": "Alice A."}}');
  SELECT ai.learnings_list_users();
  SELECT ai.learnings_create(learning_type => 'user_memory', user_id => 'bob', content => '{"memories": ["likes tea"]}');
  SELECT ai.learnings_delete('memories_bob');

One-off:
  $(psql_cmd) -c "SELECT jsonb_pretty(ai.learnings_list(learning_type => 'user_profile'))"

Stop: bash scripts/run.sh stop    (data kept; bash scripts/run.sh reset recreates database $DB)
EOF
