#!/bin/sh
# Installs this agno_learnings package into a PostgreSQL installation.
#
#   sh install.sh [PG_CONFIG]                 the installation of that pg_config (default:
#                                             pg_config on PATH)
#   sh install.sh --libdir DIR --sharedir DIR  a server without pg_config (DIR as
#                                             `pg_config --pkglibdir` / `--sharedir` say)
#
# Run it as the user that owns the installation's files (root, usually). It copies
# lib/agno_learnings.so into the library directory and extension/* into
# SHAREDIR/extension. Each file is written under a temporary name in its own directory
# and then renamed over the old one: a running server's backends keep the library they
# mapped, and a backend starting meanwhile finds the old file or the new one, never none
# and never half a file. Nothing is restarted; new sessions get the new library, and
# `ALTER EXTENSION agno_learnings UPDATE` in each database moves to a new version.
#
# POSIX sh, so that it runs in any PostgreSQL container image.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
want=$(cat "$here/PG_MAJOR")
libdir=
sharedir=

die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

case "${1:-}" in
--libdir)
    [ $# -eq 4 ] && [ "$3" = --sharedir ] || die "usage: sh install.sh [PG_CONFIG] | --libdir DIR --sharedir DIR"
    libdir=$2
    sharedir=$4
    ;;
-h | --help)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    config=${1:-pg_config}
    command -v "$config" >/dev/null 2>&1 || die "pg_config not found: $config (pass its path, or --libdir and --sharedir)"
    version=$("$config" --version 2>&1) || die "$config cannot run: $version"
    # "PostgreSQL 16.14" -> 16; "PostgreSQL 18beta1" -> 18
    found=$(printf '%s\n' "$version" | sed -n 's/^PostgreSQL \([0-9][0-9]*\).*/\1/p')
    [ "$found" = "$want" ] ||
        die "this package is built for PostgreSQL $want, and $config is ${version:-no PostgreSQL}: use the package built for PostgreSQL ${found:-?}"
    libdir=$("$config" --pkglibdir)
    sharedir=$("$config" --sharedir)
    ;;
esac

[ -d "$libdir" ] || die "no library directory $libdir"
[ -d "$sharedir/extension" ] || die "no extension directory $sharedir/extension"

# put FILE DIR MODE: FILE into DIR under its own name, by rename(2) within DIR.
put() {
    name=$(basename "$1")
    tmp="$2/.$name.agno-install.$$"
    cp "$1" "$tmp" && chmod "$3" "$tmp" && mv -f "$tmp" "$2/$name" || {
        rm -f "$tmp"
        die "could not install $name into $2"
    }
}

# SQL scripts and the control file first, the library last: a session that sees the new
# library sees the scripts that go with it.
for file in "$here"/extension/*; do
    put "$file" "$sharedir/extension" 0644
done
put "$here/lib/agno_learnings.so" "$libdir" 0755
printf 'installed agno_learnings %s for PostgreSQL %s: %s/agno_learnings.so, %s/extension/agno_learnings*\n' \
    "$(cat "$here/VERSION")" "$want" "$libdir" "$sharedir"
