#!/usr/bin/env bash
# Benchmarks: `bash scripts/bench.sh` (bench/README.md says what each pair measures).
# Installs the extension (release build), starts a private cluster, loads 100,000
# learnings, and runs every API/baseline pair with pgbench for BENCH_SECONDS (default 5)
# each, on one client. Prints tps and the API's ratio to its baseline, measured in the
# same run on the same data. Not part of the test command: numbers, not assertions.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

seconds="${BENCH_SECONDS:-5}"
ensure_deps
AGNO_RELEASE=1 install_extension

dir=$(mktemp -d "${TMPDIR:-/tmp}/agno-bench-XXXXXX")
is_root && chown "$AGNO_PG_OS_USER" "$dir"
cluster_start "$dir/pg" "$(free_port)" >/dev/null
cluster_stop_on_exit "$dir/pg" remove
"$PG_BINDIR/psql" -X -q -d postgres -c "CREATE DATABASE bench"
"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d bench -f bench/setup.sql

tps() { # SCRIPT ROLE → transactions per second
    "$PG_BINDIR/pgbench" -n -c 1 -T "$seconds" -U "$2" -f "bench/$1.sql" bench 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

printf '%-14s %12s %12s %8s\n' pair "api tps" "sql tps" ratio
for pair in page user scoped get write; do
    api_role=postgres
    [[ $pair == scoped ]] && api_role=bench_client
    api=$(tps "${pair}_api" "$api_role")
    sql=$(tps "${pair}_sql" postgres)
    awk -v p="$pair" -v a="$api" -v s="$sql" 'BEGIN { printf "%-14s %12.0f %12.0f %8.2f\n", p, a, s, a / s }'
done
