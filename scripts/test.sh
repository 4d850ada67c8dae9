#!/usr/bin/env bash
# The test command: `bash scripts/test.sh` (CI: `.ci/run`).
#
# Suites, in order; every suite runs even when an earlier one failed:
#   lint        cargo fmt --check, cargo clippy -D warnings, shellcheck on the scripts
#   pgrx-tests  `cargo pgrx test pg15`: the #[pg_test]s in src/, in PostgreSQL (pgrx's own
#               temporary cluster, as `postgres` when run as root)
#   install     `cargo pgrx install` into the system PostgreSQL 15, then one private test
#               cluster (scripts/lib.sh) on a free port
#   regress     scripts/regress.sh    } if present; each gets PGHOST/PGPORT/PGUSER of the
#   isolation   scripts/isolation.sh  } running test cluster and exits non-zero on failure
#   pytest      scripts/pytest.sh     }
#   NAME        scripts/suites/NAME.sh, every one in name order (when the directory exists)
# Then the cluster is stopped and removed, and the last line is `N passed, N failed`.
# Exit status: 0 when every suite passed.
#
# Environment:
#   AGNO_RELEASE=1          install the release build (default: debug, as the pgrx tests)
#   AGNO_KEEP_CLUSTER=1     leave the test cluster's directory (its postgres.log) behind
#   AGNO_PGRX_TEST_PGDATA   where pgrx's test cluster lives when run as root
#                           (default /tmp/agno_learnings-pgrx; must be writable by postgres)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

SUITE_NAMES=()
SUITE_RESULTS=()

banner() {
    printf '\n======== %s ========\n' "$*"
}

record() { # NAME passed|failed DETAIL
    SUITE_NAMES+=("$1")
    SUITE_RESULTS+=("$2${3:+ ($3)}")
    if [[ "$2" == passed ]]; then
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
    fi
}

# run_suite NAME CMD...: run CMD, print its output as it goes, record the result.
run_suite() {
    local name="$1" start rc=0
    shift
    banner "$name: $*"
    start=$SECONDS
    "$@" || rc=$?
    if [[ $rc -eq 0 ]]; then
        record "$name" passed "$((SECONDS - start))s"
    else
        record "$name" failed "exit $rc, $((SECONDS - start))s"
    fi
    banner "$name: $([[ $rc -eq 0 ]] && echo passed || echo "FAILED (exit $rc)")"
}

summary() {
    local i
    printf '\n======== summary ========\n'
    for i in "${!SUITE_NAMES[@]}"; do
        printf '  %-12s %s\n' "${SUITE_NAMES[$i]}" "${SUITE_RESULTS[$i]}"
    done
    printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
}

PASSED=0
FAILED=0

banner "dependencies"
if ! (ensure_deps); then
    record deps failed
    summary
    exit 1
fi

# --- lint ------------------------------------------------------------------------------
# The code stays as clean as it is: formatting, clippy with warnings as errors, shellcheck.
lint() {
    local rc=0
    apt_install shellcheck || return 1
    cargo fmt --check || rc=1
    cargo clippy --all-targets -- -D warnings || rc=1
    shellcheck -x -S warning scripts/*.sh scripts/suites/*.sh .ci/run || rc=1
    return "$rc"
}
run_suite lint lint

# --- pgrx tests ------------------------------------------------------------------------
pgrx_test() {
    local args=(pgrx test "pg${PG_MAJOR}") pgdata
    if is_root; then
        # PostgreSQL refuses root: pgrx runs its cluster as postgres (through sudo) in a
        # directory postgres can write; it makes one subdirectory per run and removes it.
        pgdata="${AGNO_PGRX_TEST_PGDATA:-/tmp/agno_learnings-pgrx}"
        mkdir -p "$pgdata" && chown "$AGNO_PG_OS_USER:" "$pgdata" && chmod 700 "$pgdata" || return 1
        args+=(--runas "$AGNO_PG_OS_USER" --pgdata "$pgdata")
    elif [[ ! -w "$("$PG_CONFIG" --sharedir)/extension" ]]; then
        # pgrx first installs the test build into the system PostgreSQL, and uses sudo for
        # that only with --runas: run the test cluster as ourselves, through sudo.
        args+=(--runas "$(id -un)")
    fi
    cargo "${args[@]}"
}
run_suite pgrx-tests pgrx_test

# --- install + one private cluster for the SQL-level suites -----------------------------
CLUSTER_DIR="$(mktemp -d /tmp/agno-test-XXXXXX)"
if [[ "${AGNO_KEEP_CLUSTER:-0}" == 1 ]]; then
    cluster_stop_on_exit "$CLUSTER_DIR"
else
    cluster_stop_on_exit "$CLUSTER_DIR" remove
fi

install_and_start() {
    local port try
    install_extension || return 1
    export AGNO_PG_FAST=1
    # A port may be taken between free_port and the start: try a few.
    for try in 1 2 3; do
        port="$(free_port)" || return 1
        if cluster_start "$CLUSTER_DIR" "$port"; then
            echo "test cluster: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER"
            return 0
        fi
        warn "cluster start failed (try $try)"
    done
    return 1
}
run_suite install install_and_start
CLUSTER_OK=0
if [[ "${SUITE_RESULTS[-1]}" == passed* ]]; then
    CLUSTER_OK=1
fi

# --- suites that use the running cluster (written alongside the SQL) --------------------
# The fixed suites, then every scripts/suites/*.sh in name order (a suite named after its
# file, without .sh). Each gets PGHOST/PGPORT/PGUSER and exits non-zero on failure.
suite_scripts=()
for suite in regress isolation pytest; do
    [[ -f "scripts/$suite.sh" ]] && suite_scripts+=("scripts/$suite.sh")
done
for script in scripts/suites/*.sh; do
    [[ -f "$script" ]] && suite_scripts+=("$script")
done
for script in "${suite_scripts[@]}"; do
    suite="$(basename "$script" .sh)"
    if [[ $CLUSTER_OK == 1 ]]; then
        run_suite "$suite" bash "$script"
    else
        banner "$suite: not run (install or cluster start failed)"
        record "$suite" failed "not run: install failed"
    fi
done

banner "cleanup"
cluster_stop "$CLUSTER_DIR" || warn "could not stop the test cluster in $CLUSTER_DIR"
if [[ "${AGNO_KEEP_CLUSTER:-0}" == 1 ]]; then
    echo "test cluster kept in $CLUSTER_DIR (log: $CLUSTER_DIR/postgres.log)"
fi

summary
exit $((FAILED > 0 ? 1 : 0))
