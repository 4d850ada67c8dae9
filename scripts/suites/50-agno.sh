#!/usr/bin/env bash
# Suite 50-agno (issue 5): agno 3.1.10's own client against the extension, adoption of a
# table agno created, DROP EXTENSION keeping learnings, ALTER EXTENSION ... UPDATE from
# every older installed version (pytest, tests/agno).
#
# Needs a running PostgreSQL 15 cluster in PGHOST/PGPORT/PGUSER (a superuser; as
# scripts/test.sh provides) with the extension's files installed in the system
# PostgreSQL 15. Builds .venv from tests/requirements.txt when needed.
# Arguments go to pytest (e.g. -k adoption, -x).
# Exit status: pytest's; "no tests ran" (pytest's 5) is a failure too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

for var in PGHOST PGPORT; do
    [[ -n "${!var:-}" ]] || die "$var is not set: run through scripts/test.sh (or export a running cluster's)"
done
export PGUSER="${PGUSER:-postgres}"
ensure_python

rc=0
.venv/bin/pytest tests/agno -q -rfEs -p no:cacheprovider "$@" || rc=$?
if [[ $rc -eq 5 ]]; then
    echo "50-agno: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
