#!/usr/bin/env bash
# Runs the isolation tests in tests/isolation (concurrent API calls, with PostgreSQL's
# isolationtester) against a running PostgreSQL 15 cluster whose installation has the
# extension (`cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config`).
#
# Usage: scripts/isolation.sh [--accept] [SPEC...]
#   SPEC...   run only these specs (tests/isolation/specs/SPEC.spec); default: all those
#             listed in tests/isolation/schedule, in that order.
#   --accept  copy the results of the specs that ran into expected/. Only for a new or
#             deliberately changed spec: read `git diff tests/isolation/expected` after,
#             it must show what the contract promises.
#
# Environment:
#   PGHOST, PGPORT, PGUSER  the cluster to test on (libpq defaults when unset); the user
#                           must be allowed to create databases and the extension.
#   PG_CONFIG               pg_config of that installation
#                           (default /usr/lib/postgresql/15/bin/pg_config).
#   ISOLATION_DB            the test database, dropped and recreated with schema ai and
#                           the extension (default agno_isolation); left behind.
#   ISOLATION_KEEP          keep the output directory even when every spec passed.
#   PGISOLATIONTIMEOUT      isolationtester's limit for one step, in seconds (its default
#                           is 300).
#
# The specs share one table, so they run one after another, never in parallel. Each
# spec's setup (re)creates its helper iso.attempt() and its rows; teardown empties the
# table. Works from any directory, as root or not (the cluster must be reachable by the
# invoking OS user, e.g. through a socket directory it may read).
# Exit status: 0 all passed, 1 some failed, 2 could not run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
inputdir="$repo/tests/isolation"
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
dbname=${ISOLATION_DB:-agno_isolation}

die() { echo "isolation.sh: $*" >&2; exit 2; }

[[ -f "$inputdir/schedule" ]] || die "no $inputdir/schedule"
mapfile -t scheduled < <(sed -n 's/^test:[[:space:]]*//p' "$inputdir/schedule" | tr -s ' \t' '\n' | sed '/^$/d')

accept=false
selected=()
for arg in "$@"; do
    case "$arg" in
        --accept) accept=true ;;
        -h|--help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $arg" ;;
        *)
            [[ -f "$inputdir/specs/$arg.spec" ]] || die "no spec $arg (tests/isolation/specs/$arg.spec)"
            selected+=("$arg") ;;
    esac
done
if ((${#selected[@]})); then
    specs=("${selected[@]}")
else
    specs=("${scheduled[@]}")
fi
((${#specs[@]})) || die "no specs to run"

[[ -x "$pg_config" ]] || die "pg_config not found at $pg_config (set PG_CONFIG)"
bindir=$("$pg_config" --bindir)
isolation_dir="$("$pg_config" --pkglibdir)/pgxs/src/test/isolation"
pg_isolation_regress="$isolation_dir/pg_isolation_regress"
[[ -x "$pg_isolation_regress" && -x "$isolation_dir/isolationtester" ]] \
    || die "pg_isolation_regress/isolationtester not found in $isolation_dir (apt-get install postgresql-server-dev-15)"
control="$("$pg_config" --sharedir)/extension/agno_learnings.control"
[[ -f "$control" ]] || die "the extension is not installed in $("$pg_config" --sharedir)
  run: cargo pgrx install --pg-config $pg_config"

conn=()
[[ -n "${PGHOST:-}" ]] && conn+=(--host="$PGHOST")
[[ -n "${PGPORT:-}" ]] && conn+=(--port="$PGPORT")
[[ -n "${PGUSER:-}" ]] && conn+=(--user="$PGUSER")

psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1)
"${psql[@]}" -d postgres -c 'SELECT 1' >/dev/null \
    || die "cannot connect (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} PGUSER=${PGUSER:-})"
server=$("${psql[@]}" -d postgres -At -c 'SHOW server_version_num')
[[ "$server" == 15* ]] || echo "isolation.sh: warning: server version $server, the expected output was made on 15" >&2

# A fresh database with a locale-independent order of text, and the extension in ai.
"${psql[@]}" -d postgres -c "SET client_min_messages = warning" \
             -c "DROP DATABASE IF EXISTS \"$dbname\" WITH (FORCE)" \
             -c "CREATE DATABASE \"$dbname\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" \
    || die "cannot create database $dbname"
"${psql[@]}" -d "$dbname" -c "CREATE SCHEMA ai" -c "CREATE EXTENSION agno_learnings SCHEMA ai" \
    || die "cannot create the extension in database $dbname"

outputdir=$(mktemp -d "${TMPDIR:-/tmp}/agno_isolation.XXXXXX")
start=$(date +%s)
status=0
# For each spec, isolationtester runs specs/NAME.spec with one connection per session
# and compares its output with expected/NAME.out.
"$pg_isolation_regress" --use-existing --dbname="$dbname" --bindir="$bindir" \
    --inputdir="$inputdir" --outputdir="$outputdir" "${conn[@]}" "${specs[@]}" || status=$?
elapsed=$(($(date +%s) - start))

if $accept; then
    for t in "${specs[@]}"; do
        if [[ -f "$outputdir/results/$t.out" ]]; then
            cp "$outputdir/results/$t.out" "$inputdir/expected/$t.out"
            echo "accepted tests/isolation/expected/$t.out"
        fi
    done
fi

if ((status != 0)); then
    if [[ -s "$outputdir/regression.diffs" ]]; then
        echo "================ regression.diffs ================"
        cat "$outputdir/regression.diffs"
    fi
    echo "isolation.sh: FAILED after ${elapsed}s (pg_isolation_regress exit $status); output kept in $outputdir" >&2
    exit $((status == 1 ? 1 : 2))
fi
echo "isolation.sh: all ${#specs[@]} specs passed in ${elapsed}s (database $dbname)"
if [[ -n "${ISOLATION_KEEP:-}" ]]; then
    echo "output in $outputdir"
else
    rm -rf "$outputdir"
fi
