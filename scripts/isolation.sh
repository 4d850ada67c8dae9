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

# PG_CONFIG from the environment wins over lib.sh's default.
pg_config_env="${PG_CONFIG:-}"
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PG_CONFIG="${pg_config_env:-$PG_CONFIG}"

inputdir="$AGNO_REPO_ROOT/tests/isolation"
[[ -f "$inputdir/schedule" ]] || { echo "isolation.sh: no $inputdir/schedule" >&2; exit 2; }

regress_args "${BASH_SOURCE[0]}" "$inputdir/specs/%s.spec" "$@"
specs=("${REGRESS_ITEMS[@]}")
if ((${#specs[@]} == 0)); then
    mapfile -t specs < <(sed -n 's/^test:[[:space:]]*//p' "$inputdir/schedule" | tr -s ' \t' '\n' | sed '/^$/d')
fi

rc=0
regress_suite isolation "$inputdir" "${ISOLATION_DB:-agno_isolation}" extension "${ISOLATION_KEEP:-}" "${specs[@]}" || rc=$?
exit "$rc"
