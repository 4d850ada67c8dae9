#!/usr/bin/env bash
# Suite 60-replica (issue 5): pg_dump/pg_restore (custom format with pg_restore, plain
# format with psql) round-trips rows, extension and security; a streaming hot standby
# (pg_basebackup -R over loopback) answers the read functions as the primary does and
# refuses writes with 25006 (pytest, tests/replica).
#
# Needs a running PostgreSQL 15 cluster in PGHOST/PGPORT/PGUSER (a superuser, initdb'd
# with -A trust so local replication connections work, wal_level replica and
# max_wal_senders >= 1: PostgreSQL's defaults), with the extension's files installed in
# the system PostgreSQL 15. As root the standby runs as `postgres`. It is stopped and
# removed when the tests end. Arguments go to pytest.
# Exit status: pytest's; "no tests ran" (pytest's 5) is a failure too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

run_pytest 60-replica tests/replica "$@"
