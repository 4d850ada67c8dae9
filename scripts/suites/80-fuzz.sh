#!/usr/bin/env bash
# Suite 80-fuzz (issue "Reliability", part 3): property-based fuzzing with Hypothesis
# against the real database and a real PostgREST 12 (pytest, tests/fuzz). Every API
# function, learnings_authenticate and learnings_register_table are called through SQL
# (as a superuser, and as PostgREST's client role with trusted claims or a token it
# verifies itself) and over HTTP (any JSON body, query string, method, path and
# Authorization header), with arbitrary Unicode, JSON, integers at the bounds and
# forged or mangled JWTs. Properties: only the contract's SQLSTATEs and statuses (and
# PostgreSQL's or PostgREST's own refusals of input, listed with their reasons in
# tests/fuzz/fuzzsupport.py), never XX000 or a 5xx; the backend never crashes (the
# server log is checked at the end); a refusal changes nothing; an accepted create reads
# back exactly.
#
# Needs a running PostgreSQL 15 cluster in PGHOST/PGPORT/PGUSER (a superuser; as
# scripts/test.sh provides) with the extension's files installed in the system
# PostgreSQL 15. Installs PostgREST (.tools/) and .venv from tests/requirements.txt when
# needed. Makes and drops the database agno_fuzz.
#
#   FUZZ_EXAMPLES=N          examples per test (default 50: under a minute); e.g. 2000
#   FUZZ_VERBOSE=1           print every SQL example and its outcome (with -s)
#   FUZZ_STRICT_POSTGREST=1  fail on PostgREST 12.0.2's own defects too (see fuzzsupport)
#   FUZZ_SERVER_LOG=PATH     the server log, when it is neither pg_current_logfile() nor
#                            DATA_DIR/postgres.log
#
# Runs are reproducible: examples are derandomized (a fixed seed per test) and no
# example database is kept. Arguments go to pytest (e.g. -k http, -x).
# Exit status: pytest's; "no tests ran" (pytest's 5) is a failure too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

step "PostgREST"
ensure_postgrest
step "pytest tests/fuzz (FUZZ_EXAMPLES=${FUZZ_EXAMPLES:-50})"
run_pytest 80-fuzz tests/fuzz "$@"
