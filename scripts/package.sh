#!/usr/bin/env bash
# Builds the binary package of the extension for one PostgreSQL installation:
#
#   bash scripts/package.sh [PG_CONFIG]
#
# PG_CONFIG defaults to AGNO_PG_CONFIG, else the pg_config of AGNO_PG (15, 16, 17 or 18:
# installed first when missing, as scripts/lib.sh does), else Debian's PostgreSQL 15. The
# release build goes into dist/agno_learnings-<version>-pg<major>-<arch>-linux-gnu.tar.gz,
# one directory holding lib/, extension/, install.sh and README.md (packaging/README.md:
# how to install it into a server, agno's agnohq/pgvector:16 image included). A library
# only loads into the major version it was built for, so build one package per major.
# The last line printed is the tarball's path.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ $# -gt 1 || "${1:-}" == -* ]]; then
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
if [[ $# -eq 1 ]]; then
    export AGNO_PG_CONFIG="$1"
fi
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

step "the toolchain for PostgreSQL $PG_MAJOR"
ensure_deps
step "build the package (release)"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
name="agno_learnings-$version-pg$PG_MAJOR-$(uname -m)-linux-gnu"
work="$(mktemp -d "${TMPDIR:-/tmp}/agno-dist.XXXXXX")"
trap 'rm -rf "$work"' EXIT
AGNO_RELEASE=1 build_package "$work/$name"
mkdir -p dist
tar -czf "dist/$name.tar.gz" -C "$work" "$name"
log "package for PostgreSQL $PG_VERSION ($PG_CONFIG)"
echo "$AGNO_REPO_ROOT/dist/$name.tar.gz"
