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

# PG_CONFIG from the environment wins over lib.sh's default.
pg_config_env="${PG_CONFIG:-}"
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PG_CONFIG="${pg_config_env:-$PG_CONFIG}"

TESTS=(setup create errors list update_delete users tables security)
inputdir="$AGNO_REPO_ROOT/tests/pg_regress"

regress_args "${BASH_SOURCE[0]}" "$inputdir/sql/%s.sql" "$@"
tests=("${TESTS[@]}")
if ((${#REGRESS_ITEMS[@]})); then
    tests=(setup)
    for t in "${REGRESS_ITEMS[@]}"; do
        [[ "$t" == setup ]] || tests+=("$t")
    done
fi

rc=0
regress_suite regress "$inputdir" "${REGRESS_DB:-agno_regress}" none "${REGRESS_KEEP:-}" "${tests[@]}" || rc=$?
exit "$rc"
