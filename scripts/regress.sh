#!/usr/bin/env bash
# Runs the pg_regress tests in tests/pg_regress (the SQL API as a psql user sees it)
# against a running PostgreSQL 15 cluster whose installation has the extension
# (`cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config`).
#
# Usage: scripts/regress.sh [--accept] [TEST...]
#   TEST...   run only these tests (setup always runs first); default: all, in order.
#   --accept  copy the results of the tests that ran into expected/. Only for a new or
#             deliberately changed test: read `git diff tests/pg_regress/expected` after.
#
# Environment:
#   PGHOST, PGPORT, PGUSER  the cluster to test on (libpq defaults when unset); the user
#                           must be allowed to create databases and the extension.
#   PG_CONFIG               pg_config of that installation
#                           (default /usr/lib/postgresql/15/bin/pg_config).
#   REGRESS_DB              the test database, dropped and recreated (default agno_regress).
#   REGRESS_KEEP            keep the output directory even when every test passed.
#
# The test database is created by this script with the C collation, so the order of
# text (ids, user ids) does not depend on the cluster's locale, and left behind for
# inspection. Works from any directory, as root or not (the cluster must be reachable
# by the invoking OS user, e.g. through a socket directory it may read).
# `cargo pgrx regress` (0.18.0) is no substitute: it runs tests on its own pgrx-managed
# cluster (~/.pgrx/data-15), whose initdb fails as root even with --runas/--pgdata. The
# files still suit it (setup.sql first, then the others in any order).
# Exit status: 0 all passed, 1 some failed, 2 could not run.
set -euo pipefail

TESTS=(setup create errors list update_delete users tables security)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
inputdir="$repo/tests/pg_regress"
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
dbname=${REGRESS_DB:-agno_regress}

accept=false
selected=()
for arg in "$@"; do
    case "$arg" in
        --accept) accept=true ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
        -*) echo "regress.sh: unknown option $arg" >&2; exit 2 ;;
        *)
            if [[ ! -f "$inputdir/sql/$arg.sql" ]]; then
                echo "regress.sh: no test $arg (tests/pg_regress/sql/$arg.sql)" >&2; exit 2
            fi
            [[ "$arg" == setup ]] || selected+=("$arg") ;;
    esac
done
if ((${#selected[@]})); then
    tests=(setup "${selected[@]}")
else
    tests=("${TESTS[@]}")
fi

die() { echo "regress.sh: $*" >&2; exit 2; }

[[ -x "$pg_config" ]] || die "pg_config not found at $pg_config (set PG_CONFIG)"
bindir=$("$pg_config" --bindir)
pg_regress="$("$pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress"
[[ -x "$pg_regress" ]] || die "pg_regress not found at $pg_regress (apt-get install postgresql-server-dev-15)"
control="$("$pg_config" --sharedir)/extension/agno_learnings.control"
[[ -f "$control" ]] || die "the extension is not installed in $("$pg_config" --sharedir)
  run: cargo pgrx install --pg-config $pg_config"

conn=()
[[ -n "${PGHOST:-}" ]] && conn+=(--host="$PGHOST")
[[ -n "${PGPORT:-}" ]] && conn+=(--port="$PGPORT")
[[ -n "${PGUSER:-}" ]] && conn+=(--user="$PGUSER")

psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -d postgres)
"${psql[@]}" -c 'SELECT 1' >/dev/null || die "cannot connect (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} PGUSER=${PGUSER:-})"
server=$("${psql[@]}" -At -c 'SHOW server_version_num')
[[ "$server" == 15* ]] || echo "regress.sh: warning: server version $server, the expected output was made on 15" >&2

# A fresh database with a locale-independent order of text.
"${psql[@]}" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$dbname\"" \
             -c "CREATE DATABASE \"$dbname\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" \
    || die "cannot create database $dbname"
# Untranslated server messages, as pg_regress sets them on the databases it creates
# (lc_messages needs a superuser; without one, the cluster's setting must be C or English).
"${psql[@]}" -c "ALTER DATABASE \"$dbname\" SET lc_messages TO 'C'" 2>/dev/null \
    || echo "regress.sh: warning: could not set lc_messages for $dbname" >&2

outputdir=$(mktemp -d "${TMPDIR:-/tmp}/agno_regress.XXXXXX")
start=$(date +%s)
status=0
# pg_regress runs psql with -X -a -q on each sql/NAME.sql and compares with expected/NAME.out.
"$pg_regress" --use-existing --dbname="$dbname" --bindir="$bindir" \
    --inputdir="$inputdir" --outputdir="$outputdir" "${conn[@]}" "${tests[@]}" || status=$?
elapsed=$(($(date +%s) - start))

if $accept; then
    for t in "${tests[@]}"; do
        if [[ -f "$outputdir/results/$t.out" ]]; then
            cp "$outputdir/results/$t.out" "$inputdir/expected/$t.out"
            echo "accepted tests/pg_regress/expected/$t.out"
        fi
    done
fi

if ((status != 0)); then
    if [[ -s "$outputdir/regression.diffs" ]]; then
        echo "================ regression.diffs ================"
        cat "$outputdir/regression.diffs"
    fi
    echo "regress.sh: FAILED after ${elapsed}s (pg_regress exit $status); output kept in $outputdir" >&2
    exit $((status == 1 ? 1 : 2))
fi
echo "regress.sh: all ${#tests[@]} tests passed in ${elapsed}s (database $dbname)"
if [[ -n "${REGRESS_KEEP:-}" ]]; then
    echo "output in $outputdir"
else
    rm -rf "$outputdir"
fi
