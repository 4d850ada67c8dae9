#!/usr/bin/env bash
# Suite 90-first-run (issue 8): the path a new user takes, `bash scripts/run.sh`, on a
# machine where the extension is not installed. Removes the installed extension (library,
# control file and SQL scripts) from the system PostgreSQL 15, then runs run.sh with a
# fresh run directory and free ports, and checks: exit status 0, the printed connect line
# and both tokens, that a printed curl line answers 200 with the demo record, and that
# `bash scripts/run.sh stop` stops it. Runs last: run.sh leaves the extension installed
# again for whatever comes after.
#
# It installs the debug build (AGNO_RELEASE=0, already built by the test command) where a
# user gets the release build: the path is the same, the profile only changes speed.
# AGNO_FIRST_RUN_RELEASE=1 tests the release build.
# Exit status: 0 when every check passed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

passed=0
failed=0
check() { # NAME CMD...: one check, reported as it ends
    if "${@:2}"; then
        passed=$((passed + 1))
        printf 'ok      %s\n' "$1"
    else
        failed=$((failed + 1))
        printf 'FAILED  %s\n' "$1"
    fi
}

step "remove the installed extension"
sharedir="$("$PG_CONFIG" --sharedir)/extension"
pkglibdir="$("$PG_CONFIG" --pkglibdir)"
as_root rm -f "$pkglibdir/agno_learnings.so" "$sharedir/agno_learnings.control" \
    "$sharedir"/agno_learnings--*.sql
check "no agno_learnings files left in the system PostgreSQL" \
    bash -c "! compgen -G '$sharedir/agno_learnings*' >/dev/null && [[ ! -e '$pkglibdir/agno_learnings.so' ]]"

step "a fresh run directory and free ports"
dir="$(mktemp -d /tmp/agno-first-run-XXXXXX)"
chmod 755 "$dir"
pg_port="$(free_port)"
http_port="$(free_port)"
while [[ "$http_port" == "$pg_port" || "$((http_port + 1))" == "$pg_port" ]] ||
    (exec 3<>"/dev/tcp/127.0.0.1/$((http_port + 1))") 2>/dev/null; do
    http_port="$(free_port)"
done
door_port="$(free_port)"
while [[ "$door_port" == "$pg_port" || "$door_port" == "$http_port" || "$door_port" == "$((http_port + 1))" ]]; do
    door_port="$(free_port)"
done
export AGNO_RUN_DIR="$dir/pg" AGNO_PORT="$pg_port" AGNO_HTTP_PORT="$http_port" AGNO_DOOR_PORT="$door_port"
export AGNO_RELEASE="${AGNO_FIRST_RUN_RELEASE:-0}"
stop_and_remove() {
    bash scripts/run.sh stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop_and_remove EXIT

step "bash scripts/run.sh"
out="$dir/run.out"
rc=0
bash scripts/run.sh >"$out" 2>&1 || rc=$?
sed 's/^/  | /' "$out"
check "run.sh exits with status 0" test "$rc" -eq 0
check "it prints the connect line" \
    grep -qF "psql -h $AGNO_RUN_DIR -p $pg_port -U postgres -d agno" "$out"
check "it prints alice's token" grep -Eq "^  export ALICE='[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+'$" "$out"
check "it prints the admin's token" grep -Eq "^  export ADMIN='[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+'$" "$out"

step "a printed curl line"
# The exports and the get line exactly as printed, run by a shell as a user would paste them.
exports="$(grep -E "^  export (ALICE|ADMIN|API)=" "$out" || true)"
get_line="$(grep -F 'rpc/learnings_get?learning_id=user_profile_alice' "$out" | head -n 1 || true)"
status="$(bash -c "$exports; ${get_line} -o /dev/null -w '%{http_code}'" 2>/dev/null || true)"
body="$(bash -c "$exports; ${get_line}" 2>/dev/null || true)"
check "the printed learnings_get line answers 200 (got ${status:-nothing})" test "$status" = 200
check "with alice's profile" grep -q '"learning_id": *"user_profile_alice"' <<<"$body"

step "a printed curl line of the AgentOS door"
exports="$(grep -E "^  export (ALICE|ADMIN|API|AGENTOS)=" "$out" || true)"
get_line="$(grep -F '$AGENTOS/learnings/user_profile_alice"' "$out" | head -n 1 || true)"
status="$(bash -c "$exports; ${get_line} -o /dev/null -w '%{http_code}'" 2>/dev/null || true)"
body="$(bash -c "$exports; ${get_line}" 2>/dev/null || true)"
check "the printed AgentOS get line answers 200 (got ${status:-nothing})" test "$status" = 200
check "with alice's profile, as AgentOS answers it" grep -q '"learning_id": *"user_profile_alice"' <<<"$body"

step "bash scripts/run.sh stop"
rc=0
bash scripts/run.sh stop >"$dir/stop.out" 2>&1 || rc=$?
sed 's/^/  | /' "$dir/stop.out"
check "run.sh stop exits with status 0" test "$rc" -eq 0
check "PostgreSQL is stopped" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$pg_port) 2>/dev/null"
check "PostgREST is stopped" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$http_port) 2>/dev/null"
check "the AgentOS door is stopped" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$door_port) 2>/dev/null"

printf '%d passed, %d failed\n' "$passed" "$failed"
exit $((failed > 0 ? 1 : 0))
