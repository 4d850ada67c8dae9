#!/usr/bin/env bash
# Runs the Python suites in tests/python (HTTP through PostgREST, the agno client,
# adoption and lifecycle, a hot standby) against the running cluster in PGHOST, PGPORT
# and PGUSER, as scripts/test.sh provides. Arguments go to pytest (e.g. -k http).
# Exit status: pytest's, except that "no tests ran" (5) is a failure too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_postgrest
run_pytest pytest tests/python "$@"
