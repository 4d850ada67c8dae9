#!/usr/bin/env bash
# The test command: `bash scripts/test.sh` (CI: `.ci/run`).
#
# Lint once, then for each PostgreSQL version (AGNO_TEST_PG, default "16 17 18 15": the
# default version last, so that the suites which cross versions find the others
# installed), in a private cluster of that version:
#   pgNN/pgrx-tests  `cargo pgrx test pgNN`: the #[pg_test]s in src/, in PostgreSQL
#                    (pgrx's own temporary cluster, as `postgres` when run as root)
#   pgNN/install     that PostgreSQL installed when missing (scripts/lib.sh: Debian's 15,
#                    PyPI's 16, 17, 18), the extension's package built and installed into
#                    it, one private test cluster on a free port
#   pgNN/SUITE       regress, isolation, pytest and 50-agno on every version; on the
#                    default version (15) also every other scripts/suites/*.sh, in name
#                    order. docs/install.md, "Supported PostgreSQL versions", says why.
# Every suite runs even when an earlier one failed. A suite that exits with 77 could not
# run here (it prints why): it is `skipped`, and counted as neither passed nor failed; so
# is a version left out of AGNO_TEST_PG. The last line is `N passed, N failed, N skipped`.
# Exit status: 0 when no suite failed.
#
# Environment:
#   AGNO_TEST_PG            the versions to test, e.g. "15" or "16 18" (default "16 17 18 15")
#   AGNO_RELEASE=1          install the release build (default: debug, as the pgrx tests)
#   AGNO_KEEP_CLUSTER=1     leave each test cluster's directory (its postgres.log) behind
#   AGNO_PGRX_TEST_PGDATA   where pgrx's test cluster lives when run as root
#                           (default /tmp/agno_learnings-pgrx; must be writable by postgres)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# The suites that run on every version: the SQL API (regress, isolation), HTTP through
# PostgREST, agno's own client. The others run on the default version only.
EVERY_VERSION_SUITES=(regress isolation pytest 50-agno)
SKIPPED_STATUS=77

SUITE_NAMES=()
SUITE_RESULTS=()
PASSED=0
FAILED=0
SKIPPED=0

banner() {
    printf '\n======== %s ========\n' "$*"
}

record() { # NAME passed|failed|skipped DETAIL
    SUITE_NAMES+=("$1")
    SUITE_RESULTS+=("$2${3:+ ($3)}")
    case "$2" in
    passed) PASSED=$((PASSED + 1)) ;;
    skipped) SKIPPED=$((SKIPPED + 1)) ;;
    *) FAILED=$((FAILED + 1)) ;;
    esac
}

# run_suite NAME CMD...: run CMD, print its output as it goes, record the result. Exit
# status 77 means skipped: the reason is the last line the suite printed.
run_suite() {
    local name="$1" start rc=0 out reason
    shift
    banner "$name: $*"
    start=$SECONDS
    out="$(mktemp "${TMPDIR:-/tmp}/agno-suite.XXXXXX")"
    "$@" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
    if [[ $rc -eq 0 ]]; then
        record "$name" passed "$((SECONDS - start))s"
        banner "$name: passed"
    elif [[ $rc -eq $SKIPPED_STATUS ]]; then
        reason="$(grep -v '^[[:space:]]*$' "$out" | tail -n 1 | cut -c1-160)"
        record "$name" skipped "${reason:-no reason given}"
        banner "$name: SKIPPED"
    else
        record "$name" failed "exit $rc, $((SECONDS - start))s"
        banner "$name: FAILED (exit $rc)"
    fi
    rm -f "$out"
}

summary() {
    local i
    printf '\n======== summary ========\n'
    for i in "${!SUITE_NAMES[@]}"; do
        printf '  %-20s %s\n' "${SUITE_NAMES[$i]}" "${SUITE_RESULTS[$i]}"
    done
    printf '%d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
}

read -r -a TEST_VERSIONS <<<"${AGNO_TEST_PG:-16 17 18 15}"
for version in "${TEST_VERSIONS[@]}"; do
    pg_config_of "$version" >/dev/null || exit 2
done

banner "dependencies"
if ! (ensure_deps); then
    record deps failed
    summary
    exit 1
fi

# --- lint ------------------------------------------------------------------------------
# The code stays as clean as it is: formatting, clippy with warnings as errors (for the
# default version's feature; each version's build is compiled by its own pgrx tests) and
# the scripts' shellcheck.
lint() {
    local rc=0
    apt_install shellcheck || return 1
    cargo fmt --check || rc=1
    cargo clippy --all-targets -- -D warnings || rc=1
    shellcheck -x -S warning scripts/*.sh scripts/suites/*.sh packaging/install.sh .ci/run || rc=1
    return "$rc"
}
run_suite lint lint

# --- one version -----------------------------------------------------------------------
pgrx_test() {
    local args=(pgrx test "pg${PG_MAJOR}") pgdata
    if is_root; then
        # PostgreSQL refuses root: pgrx runs its cluster as postgres (through sudo) in a
        # directory postgres can write; it makes one subdirectory per run and removes it.
        pgdata="${AGNO_PGRX_TEST_PGDATA:-/tmp/agno_learnings-pgrx}"
        mkdir -p "$pgdata" && chown "$AGNO_PG_OS_USER:" "$pgdata" && chmod 700 "$pgdata" || return 1
        args+=(--runas "$AGNO_PG_OS_USER" --pgdata "$pgdata")
    elif [[ ! -w "$("$PG_CONFIG" --sharedir)/extension" ]]; then
        # pgrx first installs the test build into the PostgreSQL it tests, and uses sudo
        # for that only with --runas: run the test cluster as ourselves, through sudo.
        args+=(--runas "$(id -un)")
    fi
    cargo "${args[@]}"
}

install_and_start() { # DIR (the server is installed and selected: test_version)
    local port try
    echo "PostgreSQL $PG_VERSION: $PG_CONFIG"
    install_extension || return 1
    export AGNO_PG_FAST=1
    # A port may be taken between free_port and the start: try a few.
    for try in 1 2 3; do
        port="$(free_port)" || return 1
        if cluster_start "$1" "$port"; then
            echo "test cluster: PostgreSQL $PG_VERSION, PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER"
            return 0
        fi
        warn "cluster start failed (try $try)"
    done
    return 1
}

test_version() { # MAJOR
    local major="$1" cluster suite script scripts=() installed=0 ready=0
    # The suites and lib.sh of each child script select this version through AGNO_PG.
    export AGNO_PG="$major"
    unset AGNO_PG_CONFIG
    _pg_choose "$major"
    # The server, selected, and pgrx's registration of it: what the pgrx tests and the
    # install both need.
    if (ensure_postgresql "$major") && pg_select "$(pg_config_of "$major")" && (ensure_pgrx_init); then
        ready=1
        run_suite "pg$major/pgrx-tests" pgrx_test
    else
        record "pg$major/pgrx-tests" failed "PostgreSQL $major could not be installed"
    fi

    cluster="$(mktemp -d "/tmp/agno-test-pg$major-XXXXXX")"
    if [[ "${AGNO_KEEP_CLUSTER:-0}" == 1 ]]; then
        cluster_stop_on_exit "$cluster"
    else
        cluster_stop_on_exit "$cluster" remove
    fi
    # In this shell, not a subshell: the cluster's PGHOST/PGPORT stay for the suites.
    banner "pg$major/install"
    local start=$SECONDS
    if [[ $ready == 1 ]] && install_and_start "$cluster"; then
        record "pg$major/install" passed "PostgreSQL $PG_VERSION, $((SECONDS - start))s"
        installed=1
    else
        record "pg$major/install" failed "$((SECONDS - start))s"
    fi

    if [[ "$major" == "$AGNO_PG_DEFAULT" ]]; then
        for suite in regress isolation pytest; do
            scripts+=("scripts/$suite.sh")
        done
        for script in scripts/suites/*.sh; do
            scripts+=("$script")
        done
    else
        for suite in "${EVERY_VERSION_SUITES[@]}"; do
            if [[ -f "scripts/$suite.sh" ]]; then
                scripts+=("scripts/$suite.sh")
            else
                scripts+=("scripts/suites/$suite.sh")
            fi
        done
    fi
    for script in "${scripts[@]}"; do
        suite="pg$major/$(basename "$script" .sh)"
        if [[ $installed == 1 ]]; then
            run_suite "$suite" bash "$script"
        else
            record "$suite" failed "not run: install failed"
        fi
    done

    cluster_stop "$cluster" || warn "could not stop the test cluster in $cluster"
    if [[ "${AGNO_KEEP_CLUSTER:-0}" == 1 ]]; then
        echo "test cluster kept in $cluster (log: $cluster/postgres.log)"
    fi
}

for version in "${AGNO_PG_SUPPORTED[@]}"; do
    if [[ " ${TEST_VERSIONS[*]} " != *" $version "* ]]; then
        record "pg$version" skipped "not in AGNO_TEST_PG=\"${TEST_VERSIONS[*]}\""
    fi
done
for version in "${TEST_VERSIONS[@]}"; do
    test_version "$version"
done

summary
exit $((FAILED > 0 ? 1 : 0))
