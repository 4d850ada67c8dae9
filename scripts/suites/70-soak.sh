#!/usr/bin/env bash
# Suite 70-soak (issue "Reliability"): a 20-second soak, then a 20-second crash soak
# (scripts/soak.sh and scripts/soak.sh --crash). Each starts its own private, durable
# cluster and PostgREST, so the test cluster in PGHOST/PGPORT is not used; both need the
# extension installed in the system PostgreSQL 15. Both run even when the first fails.
# Exit status: 0 when both passed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

rc=0
step "soak, 20 s"
bash scripts/soak.sh 20 || rc=1
step "crash soak, 20 s"
bash scripts/soak.sh --crash 20 || rc=1
exit "$rc"
