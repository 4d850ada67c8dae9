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

run_pytest 50-agno tests/agno "$@"
