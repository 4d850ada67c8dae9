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
# Skipped, with the reason printed, when Citus is not installed for PostgreSQL 15 (it is
# in no package registry: README, "Scaling out on Citus", says how to build it).
# Exit status: 0 passed or skipped, 1 failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

if ! citus_installed; then
    echo "65-citus: skipped: Citus is not installed for PostgreSQL $PG_MAJOR" \
        "(no citus.so in $("$PG_CONFIG" --pkglibdir)); README, \"Scaling out on Citus\", says how to build it"
    exit 0
fi

step "three PostgreSQL nodes with Citus"
work="$(mktemp -d /tmp/agno-citus.XXXXXX)"
chmod 755 "$work"
nodes=(coordinator worker1 worker2)
ports=()
for node in "${nodes[@]}"; do
    ports+=("$(free_port)")
done
cleanup() {
    local node
    for node in "${nodes[@]}"; do
        cluster_stop "$work/$node" >/dev/null 2>&1 || true
    done
    if [[ "${AGNO_KEEP_CLUSTER:-0}" == 1 ]]; then
        echo "65-citus: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# The key the nodes sign and verify forwarded callers with: one file, the same on each.
keys="$work/keys"
mkdir -p "$keys"
(umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$keys/cluster_key")
if is_root; then
    chown -R "$AGNO_PG_OS_USER:" "$keys"
fi
chmod 700 "$keys"

export AGNO_PG_FAST=1
export AGNO_PG_OPTS="-c shared_preload_libraries=citus -c max_prepared_transactions=100 -c agno_learnings.cluster_secret_file=$keys/cluster_key"
for i in 2 1 0; do # the coordinator last: cluster_start exports its PGHOST/PGPORT
    cluster_start "$work/${nodes[$i]}" "${ports[$i]}"
done
export AGNO_CITUS_WORKERS="${ports[1]} ${ports[2]}"
export AGNO_CITUS_KEY_FILE="$keys/cluster_key"
echo "65-citus: coordinator 127.0.0.1:${ports[0]}, workers 127.0.0.1:${ports[1]} and 127.0.0.1:${ports[2]}"

failed=()

step "regress on Citus"
# tests/pg_regress, with distribute after setup and Citus's expected output where its
# answers differ (only messages Citus itself words; the rows are the same).
regress_dir="$work/regress"
mkdir -p "$regress_dir/sql" "$regress_dir/expected"
for file in tests/pg_regress/sql/*.sql tests/citus/pg_regress/sql/*.sql; do
    ln -sf "$AGNO_REPO_ROOT/$file" "$regress_dir/sql/"
done
for file in tests/pg_regress/expected/*.out tests/citus/pg_regress/expected/*.out; do
    ln -sf "$AGNO_REPO_ROOT/$file" "$regress_dir/expected/"
done
# The database has the single-node suite's name: some answers name it.
citus_database agno_regress
regress_suite regress "$regress_dir" agno_regress existing "" \
    setup distribute create errors list update_delete users tables security || failed+=(regress)

step "isolation on Citus"
citus_database agno_citus_isolation
"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d agno_citus_isolation \
    -c "SET client_min_messages = warning" -c "CREATE SCHEMA ai" \
    -c "CREATE EXTENSION agno_learnings SCHEMA ai" -c "SELECT ai.learnings_distribute()" \
    -c "SELECT citus_internal.replace_isolation_tester_func()" >/dev/null
# (Citus's own: isolationtester then sees a session waiting on a worker's lock as blocked.)
mapfile -t specs < <(sed -n 's/^test:[[:space:]]*//p' tests/isolation/schedule | tr -s ' \t' '\n' | sed '/^$/d')
regress_suite isolation "$AGNO_REPO_ROOT/tests/isolation" agno_citus_isolation existing "" "${specs[@]}" ||
    failed+=(isolation)

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
