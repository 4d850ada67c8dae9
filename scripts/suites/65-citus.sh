#!/usr/bin/env bash
# Citus suite: the learnings table distributed over a coordinator and two workers on this
# machine (free ports, a cluster key shared by the three), then
#   regress    the pg_regress tests (tests/pg_regress) on the coordinator after
#              tests/citus/pg_regress/sql/distribute.sql, with Citus's own expected output
#              where it differs (tests/citus/pg_regress/expected)
#   isolation  the isolation specs (tests/isolation) on a distributed table
#   pytest     the HTTP suite (tests/python) through PostgREST on the coordinator, every
#              database distributed, and tests/citus (forged identities on the coordinator
#              and on a worker directly, shards, totals, upgrades)
# Skipped, with the reason printed, when Citus is not installed for this PostgreSQL (it is
# in no package registry: docs/scaling.md, "Scaling out on Citus", says how to build it).
# Exit status: 0 passed, 1 failed, 77 skipped (the test command's convention).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

if ! citus_installed; then
    echo "65-citus: its library and control file are not both in $("$PG_CONFIG" --pkglibdir)" \
        "and $("$PG_CONFIG" --sharedir)/extension; docs/scaling.md says how to build Citus"
    # The last line is the reason the test command's summary shows.
    echo "skipped: Citus is not installed for PostgreSQL $PG_MAJOR"
    exit 77
fi

step "three PostgreSQL nodes with Citus"
work="$(mktemp -d /tmp/agno-citus.XXXXXX)"
cleanup() {
    citus_cluster_stop "$work"
    if [[ "${AGNO_KEEP_CLUSTER:-0}" == 1 ]]; then
        echo "65-citus: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
citus_cluster_start "$work"

failed=()

# tests/pg_regress and tests/isolation as they are, with Citus's own expected output where
# its answers differ (tests/citus/*/expected: what only Citus words, or does not block on).
merged() { # SOURCE_DIR INPUT_SUBDIR OVERRIDES_DIR: a directory of links for pg_regress
    local dir file
    dir="$work/$(basename "$1")"
    mkdir -p "$dir/$2" "$dir/expected"
    for file in "$AGNO_REPO_ROOT/$1/$2"/* "$AGNO_REPO_ROOT/$3/$2"/*; do
        [[ -e "$file" ]] && ln -sf "$file" "$dir/$2/"
    done
    for file in "$AGNO_REPO_ROOT/$1/expected"/*.out "$AGNO_REPO_ROOT/$3/expected"/*.out; do
        [[ -e "$file" ]] && ln -sf "$file" "$dir/expected/"
    done
    echo "$dir"
}

step "regress on Citus"
# distribute runs after setup; the database has the single-node suite's name (some
# answers name it).
citus_database agno_regress
regress_suite regress "$(merged tests/pg_regress sql tests/citus/pg_regress)" agno_regress existing "" \
    setup distribute create errors list update_delete users tables security || failed+=(regress)

step "isolation on Citus"
citus_database agno_citus_isolation
# Citus's own replace_isolation_tester_func: isolationtester then sees a session waiting
# on a worker's lock as blocked.
"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d agno_citus_isolation \
    -c "SET client_min_messages = warning" -c "CREATE SCHEMA ai" \
    -c "CREATE EXTENSION agno_learnings SCHEMA ai" -c "SELECT ai.learnings_distribute()" \
    -c "SELECT citus_internal.replace_isolation_tester_func()" >/dev/null
mapfile -t specs < <(sed -n 's/^test:[[:space:]]*//p' tests/isolation/schedule | tr -s ' \t' '\n' | sed '/^$/d')
regress_suite isolation "$(merged tests/isolation specs tests/citus/isolation)" agno_citus_isolation existing "" \
    "${specs[@]}" || failed+=(isolation)

step "pytest on Citus"
ensure_postgrest
# Two runs: each directory has a conftest of its own.
run_pytest pytest tests/python || failed+=(pytest-http)
run_pytest pytest tests/citus || failed+=(pytest-citus)

if ((${#failed[@]})); then
    echo "65-citus: FAILED: ${failed[*]}"
    exit 1
fi
echo "65-citus: passed (regress, isolation, pytest on a coordinator and two workers)"
