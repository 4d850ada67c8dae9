#!/usr/bin/env bash
# The run command: `bash scripts/run.sh` builds and installs the extension into a
# PostgreSQL (Debian's 15 unless told otherwise), starts a private cluster that keeps
# running, creates database `agno` with the extension in schema `ai`, adds a few demo
# learnings through the SQL API, and prints which PostgreSQL it serves and how to connect.
#
#   bash scripts/run.sh          install, start (or reuse) the cluster, set up `agno`
#   bash scripts/run.sh stop     stop the cluster (data is kept)
#   bash scripts/run.sh status   is it running, and where
#   bash scripts/run.sh reset    drop database `agno`, then set it up again as above
#
# Which PostgreSQL (docs/install.md, "Supported PostgreSQL versions"):
#   AGNO_PG        15 (default: Debian's), 16, 17 or 18 (installed from PyPI when missing)
#   AGNO_PG_CONFIG the pg_config of any other installation of a supported version
# Where it runs (the cluster never runs as root; as root it runs as `postgres`):
#   AGNO_RUN_DIR   data directory, also the unix socket directory and the home of
#                  postgres.log. Default: /tmp/agno_learnings-run when run as root,
#                  else .run/pg in the repository; with -pgNN appended for a version
#                  other than 15 (a data directory belongs to one major version).
#   AGNO_PORT      TCP port on 127.0.0.1 (default 54329)
#   AGNO_RELEASE   1 (default) installs the release build; 0 the debug build
#   AGNO_HTTP_PORT PostgREST's port on 127.0.0.1 (default 3000; its admin server uses +1)
#   AGNO_DOOR_PORT the AgentOS door's port on 127.0.0.1 (default 3002): nginx serving
#                  AgentOS's own /learnings paths over PostgREST (nginx/)
#   AGNO_INSTALL   skip: serve the extension already installed (no build)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

if is_root; then
    RUN_DIR="${AGNO_RUN_DIR:-/tmp/agno_learnings-run}"
else
    RUN_DIR="${AGNO_RUN_DIR:-$AGNO_REPO_ROOT/.run/pg}"
fi
if [[ -z "${AGNO_RUN_DIR:-}" && "$PG_MAJOR" != "$AGNO_PG_DEFAULT" ]]; then
    RUN_DIR+="-pg$PG_MAJOR"
fi
RUN_DIR="$(_abs_path "$RUN_DIR")"
PORT="${AGNO_PORT:-54329}"
HTTP_PORT="${AGNO_HTTP_PORT:-3000}"
# Beside the data directory, not in it: a base backup of the cluster must not copy the secret.
HTTP_DIR="$RUN_DIR.postgrest"
DOOR_PORT="${AGNO_DOOR_PORT:-3002}"
DOOR_DIR="$RUN_DIR.door"
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
    door_stop "$DOOR_DIR"
    postgrest_stop "$HTTP_DIR"
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
        if kill -0 "$(cat "$HTTP_DIR/postgrest.pid" 2>/dev/null)" 2>/dev/null; then
            echo "PostgREST: http://127.0.0.1:$HTTP_PORT (log $HTTP_DIR/postgrest.log)"
        else
            echo "PostgREST: not running"
        fi
        if kill -0 "$(cat "$DOOR_DIR/door.pid" 2>/dev/null)" 2>/dev/null; then
            echo "AgentOS door (nginx): http://127.0.0.1:$DOOR_PORT/learnings (log $DOOR_DIR/error.log)"
        else
            echo "AgentOS door: not running"
        fi
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
step "install the toolchain (Debian packages, cargo-pgrx, pgrx init)"
ensure_deps
ensure_door
step "build and install the extension"
# What is installed now (nothing, on a fresh machine), to tell after the install whether
# the running server must restart or database `agno` must be told about a new script.
installed_md5() { # library|scripts: one md5 over the installed files, "none" when absent
    local files=() file
    case "$1" in
    library) set -- "$("$PG_CONFIG" --pkglibdir)"/agno_learnings.so ;;
    scripts) set -- "$("$PG_CONFIG" --sharedir)"/extension/agno_learnings--*.sql ;;
    esac
    for file in "$@"; do
        [[ -f "$file" ]] && files+=("$file")
    done
    if ((${#files[@]} == 0)); then
        echo none
    else
        cat "${files[@]}" | md5sum | cut -d' ' -f1
    fi
}
so_before="$(installed_md5 library)"
sql_before="$(installed_md5 scripts)"
install_extension
so_after="$(installed_md5 library)"
sql_after="$(installed_md5 scripts)"

# --- 2. the cluster ----------------------------------------------------------------------
step "start PostgreSQL $PG_VERSION in $RUN_DIR on port $PORT"
made_by="$(as_pg_user cat "$RUN_DIR/PG_VERSION" 2>/dev/null || true)"
if [[ -n "$made_by" && "$made_by" != "$PG_MAJOR" ]]; then
    die "$RUN_DIR holds a PostgreSQL $made_by cluster, and this run serves PostgreSQL $PG_MAJOR:" \
        "choose another AGNO_RUN_DIR (or stop and remove that one)"
fi
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
step "database $DB, extension and demo learnings"
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
-- A database set up by an older version is updated in place (rows kept).
ALTER EXTENSION agno_learnings UPDATE;

-- Demo learnings, written only through the SQL API. Identity-keyed ones raise
-- unique_violation (23505) when they exist already, so a rerun skips them.
DO $demo$
DECLARE
    demo record;
BEGIN
    FOR demo IN
        SELECT * FROM (VALUES
            ('user_profile', 'alice', NULL, NULL, NULL, NULL,
             '{"name": "Alice", "role": "data engineer", "timezone": "Europe/Paris"}'),
            ('user_memory', 'alice', 'support-agent', NULL, NULL, NULL,
             '{"memories": ["prefers short answers", "works with PostgreSQL 15"]}'),
            ('entity_memory', NULL, NULL, 'global', 'company', 'acme',
             '{"name": "Acme Corp", "facts": ["uses AgentOS", "based in Lyon"]}'),
            ('user_profile', 'carol', NULL, NULL, NULL, NULL, '{"name": "Carol"}')
        ) AS d(learning_type, user_id, agent_id, namespace, entity_type, entity_id, content)
    LOOP
        BEGIN
            PERFORM ai.learnings_create(
                learning_type => demo.learning_type, user_id => demo.user_id, agent_id => demo.agent_id,
                namespace => demo.namespace, entity_type => demo.entity_type, entity_id => demo.entity_id,
                content => demo.content::jsonb);
        EXCEPTION WHEN unique_violation THEN NULL;
        END;
    END LOOP;
    -- A decision_log gets a new UUID on every create: add it only if alice has none yet.
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
step "PostgREST on 127.0.0.1:$HTTP_PORT"
# The roles and hook of sql/postgrest.sql, an HS256 secret shared by PostgREST and the
# extension (a file only the server's OS user reads), and PostgREST on 127.0.0.1.
log "PostgREST on 127.0.0.1:$HTTP_PORT"
psql_q -d "$DB" -v schema="$SCHEMA" -f sql/postgrest.sql
mkdir -p "$HTTP_DIR"
if [[ ! -s "$HTTP_DIR/jwt_secret" ]]; then
    (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$HTTP_DIR/jwt_secret")
fi
chmod 600 "$HTTP_DIR/jwt_secret"
if is_root; then
    chown -R "$AGNO_PG_OS_USER:" "$HTTP_DIR"
fi
psql_q -d "$DB" -c "ALTER DATABASE $DB SET agno_learnings.jwt_secret_file = '$HTTP_DIR/jwt_secret'"
door_stop "$DOOR_DIR"
postgrest_stop "$HTTP_DIR"
postgrest_start "$HTTP_DIR" "$HTTP_PORT" "$DB" "$SCHEMA"
step "the AgentOS door (nginx) on 127.0.0.1:$DOOR_PORT"
log "AgentOS door (nginx) on 127.0.0.1:$DOOR_PORT"
door_start "$DOOR_DIR" "$DOOR_PORT" "127.0.0.1:$HTTP_PORT"
step "demo tokens (Python venv with PyJWT)"
ensure_python
mint() { # SUB SCOPE...: an AgentOS-style token (sub, scopes, no role claim), valid a day
    "$AGNO_PYTHON" - "$HTTP_DIR/jwt_secret" "$@" <<'PY'
import sys, time, jwt
secret = open(sys.argv[1]).read()
print(jwt.encode({"sub": sys.argv[2], "scopes": sys.argv[3:], "exp": int(time.time()) + 86400}, secret, algorithm="HS256"))
PY
}
ALICE_TOKEN="$(mint alice learnings:read learnings:write learnings:delete)"
ADMIN_TOKEN="$(mint admin agent_os:admin)"

# --- 5. how to use it --------------------------------------------------------------------
step "print how to connect"
count="$(psql_q -d "$DB" -tAc "SELECT ai.learnings_list() -> 'meta' ->> 'total_count'")"
cat <<EOF

agno_learnings is running: PostgreSQL ${PG_VERSION} ($PG_CONFIG) in $RUN_DIR (port $PGPORT, log $RUN_DIR/postgres.log),
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

HTTP: PostgREST at http://127.0.0.1:$HTTP_PORT (OpenAPI document at /, log $HTTP_DIR/postgrest.log).
Two demo tokens, as AgentOS issues them (valid 24 hours): alice (learnings:read/write/delete)
and an admin (agent_os:admin). In a shell:
  export ALICE='$ALICE_TOKEN'
  export ADMIN='$ADMIN_TOKEN'
  export API=http://127.0.0.1:$HTTP_PORT
then:
  curl -s -w '\\n' "\$API/rpc/learnings_list" -H "Authorization: Bearer \$ALICE"
  curl -s -w '\\n' "\$API/rpc/learnings_list" -H "Authorization: Bearer \$ALICE" -H 'Content-Type: application/json' -d '{"limit": 2, "page": 1}'
  curl -s -w '\\n' "\$API/rpc/learnings_get?learning_id=user_profile_alice" -H "Authorization: Bearer \$ALICE"
  curl -si "\$API/rpc/learnings_create" -H "Authorization: Bearer \$ALICE" -H 'Content-Type: application/json' -d '{"learning_type": "session_context", "session_id": "s-42", "content": {"summary": "asked about invoices"}}'
  curl -s -w '\\n' "\$API/rpc/learnings_update" -H "Authorization: Bearer \$ALICE" -H 'Content-Type: application/json' -d '{"learning_id": "user_profile_alice", "changes": {"content": {"name": "Alice B."}}}'
  curl -si "\$API/rpc/learnings_delete" -H "Authorization: Bearer \$ALICE" -H 'Content-Type: application/json' -d '{"learning_id": "session_context_s-42"}'
  curl -si "\$API/rpc/learnings_list?user_id=carol" -H "Authorization: Bearer \$ALICE"     # 403: another user
  curl -s -w '\\n' "\$API/rpc/learnings_list?user_id=carol" -H "Authorization: Bearer \$ADMIN"      # an admin sees carol
  curl -si "\$API/rpc/learnings_list"                                                     # 401: no token
(Over GET, ?limit= belongs to PostgREST: send a page size in a POST body, as above.)

AgentOS's own paths, unchanged (nginx in front of PostgREST, log $DOOR_DIR/error.log):
  export AGENTOS=http://127.0.0.1:$DOOR_PORT
  curl -s -w '\\n' "\$AGENTOS/learnings?limit=2&page=1" -H "Authorization: Bearer \$ALICE"
  curl -s -w '\\n' "\$AGENTOS/learnings/user_profile_alice" -H "Authorization: Bearer \$ALICE"
  curl -si "\$AGENTOS/learnings" -H "Authorization: Bearer \$ALICE" -H 'Content-Type: application/json' -d '{"learning_type": "session_context", "session_id": "s-43", "content": {"summary": "asked about refunds"}}'
  curl -s -w '\\n' -X PATCH "\$AGENTOS/learnings/user_profile_alice" -H "Authorization: Bearer \$ALICE" -H 'Content-Type: application/json' -d '{"content": {"name": "Alice C."}}'
  curl -si -X DELETE "\$AGENTOS/learnings/session_context_s-43" -H "Authorization: Bearer \$ALICE"
  curl -s -w '\\n' "\$AGENTOS/learnings/users" -H "Authorization: Bearer \$ADMIN"
  curl -si -X DELETE "\$AGENTOS/learnings/users/bob?learning_type=user_memory" -H "Authorization: Bearer \$ADMIN"
  curl -s -w '\\n' "\$AGENTOS/learnings?limit=abc" -H "Authorization: Bearer \$ALICE"             # 422, as FastAPI

Stop: bash scripts/run.sh stop    (data kept; bash scripts/run.sh reset recreates database $DB)
EOF
