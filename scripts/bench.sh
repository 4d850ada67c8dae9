#!/usr/bin/env bash
# Benchmarks (bench/README.md says what each one measures). Numbers, not assertions: not
# part of the test command.
#
#   bash scripts/bench.sh        SQL: installs the extension (release build), starts a
#                                private cluster, loads 100,000 learnings, and runs every
#                                API/baseline pair with pgbench for BENCH_SECONDS (default 5)
#                                each, on one client. Prints tps and the API's ratio to its
#                                baseline, measured in the same run on the same data.
#   bash scripts/bench.sh versions
#                                SQL on several PostgreSQL versions (BENCH_PG, default
#                                "15 16"), one after another in this run: each version's
#                                table as above, then side by side (API tps, ratio).
#   bash scripts/bench.sh citus  SQL on Citus: the SQL benchmark's API calls on one node and
#                                through a coordinator and two workers on this machine
#                                (same data, distributed), tps of both and their ratio.
#   bash scripts/bench.sh http   HTTP: AgentOS 3.1.10's own learnings router (uvicorn, one
#                                worker) side by side with PostgREST + the extension, on
#                                BENCH_ROWS learnings in a private cluster, with wrk for
#                                BENCH_SECONDS (default 10) per request kind. Prints req/s,
#                                p50 and p99 of both, their ratio, and our p50 against a
#                                floor of the same size served by the same PostgREST: each
#                                call and its floor measured in turn, BENCH_ROUNDS times,
#                                the median of the rounds' ratios (one after the other on
#                                2 cores, the same ratio moved between 1.0 and 2.2).
#
# Settings:
#   BENCH_SECONDS  seconds per measurement
#   BENCH_BUILD    skip: use the extension installed now (default: build and install the
#                  release build first)
#   BENCH_SHARDS   citus: shards of the distributed table (default 32, Citus's own default)
#   BENCH_ROWS     http: learnings to load (default 1000000; at most 10000000)
#   BENCH_WARMUP   http: seconds of warm-up before each measurement (default 2)
#   BENCH_ROUNDS   http: rounds of each call against its floor (default 3)
#   BENCH_PG       versions: the PostgreSQL versions to compare (default "15 16")
# Every mode runs on the PostgreSQL that AGNO_PG or AGNO_PG_CONFIG selects (default 15).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

install_build() {
    step "install the toolchain and the extension"
    ensure_deps
    if [[ "${BENCH_BUILD:-}" == skip ]]; then
        log "BENCH_BUILD=skip: benchmarking the extension installed now"
    else
        AGNO_RELEASE=1 install_extension
    fi
}

# ---------------------------------------------------------------------------------------
# SQL: API functions against plain SQL, with pgbench

BENCH_PAIRS=(page user scoped get write)

# tps SCRIPT ROLE: transactions per second of bench/SCRIPT.sql in database bench of the
# cluster in PGHOST/PGPORT, one client for BENCH_SECONDS. The scoped pair runs as a client
# role subject to row-level security; the others as the trusted runtime.
tps() {
    "$PG_BINDIR/pgbench" -n -c 1 -T "${BENCH_SECONDS:-5}" -U "$2" -f "bench/$1.sql" bench 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

pair_role() {
    if [[ $1 == scoped ]]; then echo bench_client; else echo postgres; fi
}

bench_sql() {
    local dir pair api sql
    install_build

    dir=$(mktemp -d "${TMPDIR:-/tmp}/agno-bench-XXXXXX")
    is_root && chown "$AGNO_PG_OS_USER" "$dir"
    cluster_start "$dir/pg" "$(free_port)" >/dev/null
    cluster_stop_on_exit "$dir/pg" remove
    "$PG_BINDIR/psql" -X -q -d postgres -c "CREATE DATABASE bench"
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d bench -f bench/setup.sql

    printf '%-14s %12s %12s %8s\n' pair "api tps" "sql tps" ratio
    for pair in "${BENCH_PAIRS[@]}"; do
        api=$(tps "${pair}_api" "$(pair_role "$pair")")
        sql=$(tps "${pair}_sql" postgres)
        awk -v p="$pair" -v a="$api" -v s="$sql" 'BEGIN { printf "%-14s %12.0f %12.0f %8.2f\n", p, a, s, a / s }'
    done
}

# The SQL benchmark on each version of BENCH_PG, then their tables side by side.
bench_versions() {
    local dir version versions header=() joined
    read -r -a versions <<<"${BENCH_PG:-15 16}"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/agno-bench-versions-XXXXXX")
    for version in "${versions[@]}"; do
        log "PostgreSQL $version"
        AGNO_PG="$version" AGNO_PG_CONFIG='' bash "${BASH_SOURCE[0]}" sql | tee "$dir/$version"
        header+=("pg$version api tps" "pg$version ratio")
    done
    printf '\nside by side (API tps and API/SQL ratio; each version against its own plain SQL):\n'
    printf '%-14s' pair
    printf ' %16s' "${header[@]}"
    printf '\n'
    joined="$(awk 'FNR > 1 && NF == 4 { row[$1] = row[$1] sprintf(" %16.0f %16.2f", $2, $4); order[$1] = FNR }
                   END { for (p in order) printf "%d %-14s%s\n", order[p], p, row[p] }' \
        "${versions[@]/#/$dir/}" | sort -n | cut -d' ' -f2-)"
    printf '%s\n' "$joined"
    rm -rf "$dir"
}

# ---------------------------------------------------------------------------------------
# Citus: the same API calls on one node and through a coordinator and two workers

CITUS_BENCH_DIR=

citus_bench_cleanup() {
    [[ -n "$CITUS_BENCH_DIR" ]] || return 0
    cluster_stop "$CITUS_BENCH_DIR/pg" >/dev/null 2>&1 || true
    citus_cluster_stop "$CITUS_BENCH_DIR"
    rm -rf "$CITUS_BENCH_DIR"
}

bench_citus() {
    local dir pair one=() i
    install_build
    citus_installed || die "Citus is not installed for PostgreSQL $PG_MAJOR (docs/scaling.md, Scaling out on Citus)"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/agno-bench-citus-XXXXXX")
    chmod 755 "$dir"
    CITUS_BENCH_DIR="$dir"
    trap citus_bench_cleanup EXIT

    step "one node: 100,000 learnings"
    cluster_start "$dir/pg" "$(free_port)" >/dev/null
    "$PG_BINDIR/psql" -X -q -d postgres -c "CREATE DATABASE bench"
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d bench -f bench/setup.sql
    for pair in "${BENCH_PAIRS[@]}"; do
        one+=("$(tps "${pair}_api" "$(pair_role "$pair")")")
    done

    # The two policy forms on one node, through the table as a scoped client: the
    # one-node form asks once per statement (InitPlans), Citus's form calls the helpers
    # per row (answers remembered per statement). Same data; only the policies differ.
    local form forms=(true false) scan=() page=()
    for form in "${forms[@]}"; do
        "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d bench -c \
            "SELECT agno_learnings_internal.learnings_secure_table('ai.agno_learnings', $form)" >/dev/null
        scan+=("$(tps policy_scan bench_client)")
        page+=("$(tps policy_page bench_client)")
    done
    printf '\none node, table read as a scoped client (tps)\n'
    printf '%-14s %14s %14s %8s\n' read "per-row form" "InitPlan form" ratio
    awk -v a="${scan[0]}" -v b="${scan[1]}" 'BEGIN { printf "%-14s %14.1f %14.1f %8.2f\n", "count(*)", a, b, a / b }'
    awk -v a="${page[0]}" -v b="${page[1]}" 'BEGIN { printf "%-14s %14.0f %14.0f %8.2f\n", "user page", a, b, a / b }'
    cluster_stop "$dir/pg" >/dev/null

    step "Citus, a coordinator and two workers: the same learnings, distributed"
    citus_cluster_start "$dir" >/dev/null
    citus_database bench
    [[ "${BENCH_SHARDS:-32}" =~ ^[0-9]+$ ]] || die "BENCH_SHARDS must be a number"
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d bench -f bench/setup.sql \
        -c "SELECT ai.learnings_distribute(shard_count => ${BENCH_SHARDS:-32})" >/dev/null
    printf '\nAPI calls (tps), one client\n'
    printf '%-14s %14s %14s %8s\n' pair "one node" "citus 1+2" ratio
    i=0
    for pair in "${BENCH_PAIRS[@]}"; do
        awk -v p="$pair" -v a="${one[$i]}" -v c="$(tps "${pair}_api" "$(pair_role "$pair")")" \
            'BEGIN { printf "%-14s %14.0f %14.0f %8.2f\n", p, a, c, c / a }'
        i=$((i + 1))
    done
}

# ---------------------------------------------------------------------------------------
# HTTP: AgentOS's router against PostgREST + the extension, with wrk

BENCH_DIR=
HTTP_DIR=

psql_bench() {
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

stop_servers() {
    if [[ -n "$HTTP_DIR" ]]; then
        agentos_stop "$HTTP_DIR"
        postgrest_stop "$HTTP_DIR"
    fi
}

# What lib.sh's exit trap does (stop the cluster), with the servers that use the cluster
# stopped before it and the whole work directory removed after it.
http_cleanup() {
    stop_servers
    _agno_cleanup
    if [[ -n "$BENCH_DIR" ]]; then
        rm -rf -- "$BENCH_DIR"
    fi
}

# The requests, by name: a server (router, ours, floor: ours with the bench_floor
# profile), method, path ("{id}" takes the get ids in turn), token, body, the status
# that must answer it.
declare -A T_BASE T_METHOD T_PATH T_TOKEN T_BODY T_HEADER T_STATUS
target() { # NAME SERVER METHOD PATH TOKEN BODY STATUS
    local name="$1"
    case "$2" in
    router) T_BASE[$name]="$ROUTER_URL" T_HEADER[$name]= ;;
    ours) T_BASE[$name]="$API_URL" T_HEADER[$name]= ;;
    floor)
        T_BASE[$name]="$API_URL"
        # PostgREST serves its second schema to requests that name it.
        if [[ "$3" == GET ]]; then
            T_HEADER[$name]="Accept-Profile: bench_floor"
        else
            T_HEADER[$name]="Content-Profile: bench_floor"
        fi
        ;;
    esac
    T_METHOD[$name]="$3" T_PATH[$name]="$4" T_TOKEN[$name]="$5" T_BODY[$name]="$6" T_STATUS[$name]="$7"
}

# request NAME ID OUT: sends request NAME once with curl (ID for "{id}"), the body into
# OUT; prints the HTTP status.
request() {
    local name="$1" path="${T_PATH[$1]}" args
    path="${path//\{id\}/$2}"
    args=(-sS -o "$3" -w '%{http_code}' -X "${T_METHOD[$name]}" -H "Authorization: Bearer ${T_TOKEN[$name]}")
    if [[ -n "${T_BODY[$name]}" ]]; then
        args+=(-H 'Content-Type: application/json' --data-binary "${T_BODY[$name]}")
    fi
    if [[ -n "${T_HEADER[$name]}" ]]; then
        args+=(-H "${T_HEADER[$name]}")
    fi
    curl "${args[@]}" "${T_BASE[$name]}$path"
}

# preflight NAME...: each request once, before it is measured: it must answer its status
# (its body is kept in $BENCH_DIR/resp/NAME.json for compare).
preflight() {
    local name status
    for name in "$@"; do
        status="$(request "$name" "$FIRST_ID" "$BENCH_DIR/resp/$name.json")"
        if [[ "$status" != "${T_STATUS[$name]}" ]]; then
            head -c 600 "$BENCH_DIR/resp/$name.json" >&2
            echo >&2
            die "$name: ${T_METHOD[$name]} ${T_PATH[$name]} answered $status, not ${T_STATUS[$name]}"
        fi
    done
}

# compare KIND A B: whether the two JSON answers hold the same records. KIND page: the
# same records and totals (agno adds a timing, search_time_ms); record: equal documents;
# created: equal but for the new id and timestamps.
compare() {
    "$AGNO_PYTHON" - "$@" <<'PY'
import json, sys
kind, a_path, b_path = sys.argv[1:4]
a, b = (json.load(open(p)) for p in (a_path, b_path))
for doc in (a, b):
    if kind == "page":
        doc["meta"].pop("search_time_ms", None)
    if kind == "created":
        for key in ("learning_id", "created_at", "updated_at"):
            doc.pop(key)
if a != b:
    if kind == "page":
        ids = lambda doc: [r.get("learning_id") for r in doc.get("data", [])]
        print("meta:", a.get("meta"), "vs", b.get("meta"), file=sys.stderr)
        print("ids:", ids(a), "vs", ids(b), file=sys.stderr)
    else:
        print(json.dumps(a, sort_keys=True)[:600], "\nvs\n", json.dumps(b, sort_keys=True)[:600], file=sys.stderr)
    sys.exit(1)
PY
}

# run_wrk NAME CONNS SECONDS KEY: wrk with bench/wrk.lua sending request NAME; its output
# into $BENCH_DIR/results/KEY.wrk.
run_wrk() {
    local name="$1" conns="$2" threads=2
    ((conns < threads)) && threads=$conns
    BENCH_LABEL="$name" BENCH_METHOD="${T_METHOD[$name]}" BENCH_PATH="${T_PATH[$name]}" \
        BENCH_IDS="$BENCH_DIR/ids" BENCH_BODY="${T_BODY[$name]}" BENCH_TOKEN="${T_TOKEN[$name]}" \
        BENCH_HEADER="${T_HEADER[$name]}" \
        wrk -t "$threads" -c "$conns" -d "${3}s" --timeout 30s -s bench/wrk.lua \
        "${T_BASE[$name]}/" >"$BENCH_DIR/results/$4.wrk"
}

# measure NAME CONNS [ROUND]: a warm-up, then BENCH_SECONDS of wrk with CONNS
# connections; the result line of bench/wrk.lua goes into
# $BENCH_DIR/results/NAME@CONNS[#ROUND] (once each).
measure() {
    local name="$1" conns="$2" key="$1@$2${3:+#$3}" out
    out="$BENCH_DIR/results/$key"
    [[ -s "$out" ]] && return 0
    if ((WARMUP > 0)); then
        run_wrk "$name" "$conns" "$WARMUP" "$key"
    fi
    log "wrk: $name, $conns connections, ${SECONDS_EACH}s${3:+, round $3}"
    run_wrk "$name" "$conns" "$SECONDS_EACH" "$key"
    grep '^BENCH-SAMPLE ' "$out.wrk" >&2 || true
    grep '^BENCH ' "$out.wrk" >"$out" || die "$name: wrk printed no result (see $out.wrk)"
}

# result KEY FIELD: a field of a measurement (rps, p50, p99, non2xx, socket_errors).
result() {
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$BENCH_DIR/results/$1"
}

# median [VALUE...]: the median of the numbers (given, or one a line on stdin).
median() {
    if (($#)); then printf '%s\n' "$@"; else cat; fi | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# rounds NAME FLOOR CONNS TAG: the call and its floor in turn, BENCH_ROUNDS times (the
# floor first in every second round), each round's results tagged TAG.R.
rounds() {
    local r
    for r in $(seq 1 "$ROUNDS"); do
        if ((r % 2)); then
            measure "$1" "$3" "$4.$r"
            measure "$2" "$3" "$4.$r"
        else
            measure "$2" "$3" "$4.$r"
            measure "$1" "$3" "$4.$r"
        fi
    done
}

# rounds_of NAME CONNS TAG FIELD: FIELD of each round, one a line.
rounds_of() {
    local r
    for r in $(seq 1 "$ROUNDS"); do
        result "$1@$2#$3.$r" "$4"
    done
}

bench_http() {
    local rows="${BENCH_ROWS:-1000000}" api_port router_port user_token admin_token create_body
    local work label conns name floor i id bad=0 n
    SECONDS_EACH="${BENCH_SECONDS:-10}"
    WARMUP="${BENCH_WARMUP:-2}"
    ROUNDS="${BENCH_ROUNDS:-3}"
    [[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a whole number of rounds, at least 1"
    [[ "$rows" =~ ^[0-9]+$ ]] && ((rows >= 1000 && rows <= 10000000)) ||
        die "BENCH_ROWS must be a number from 1000 to 10000000 (bench/http_setup.sql's sort keys)"
    [[ "$SECONDS_EACH" =~ ^[0-9]+$ && "$WARMUP" =~ ^[0-9]+$ ]] && ((SECONDS_EACH > 0)) ||
        die "BENCH_SECONDS and BENCH_WARMUP must be whole seconds"

    install_build
    step "install wrk, PostgREST, AgentOS"
    apt_install wrk
    ensure_agentos
    ensure_postgrest

    step "start a private cluster"
    BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/agno-bench-XXXXXX")
    HTTP_DIR="$BENCH_DIR/http"
    mkdir -p "$BENCH_DIR/resp" "$BENCH_DIR/results" "$HTTP_DIR"
    is_root && chown "$AGNO_PG_OS_USER" "$BENCH_DIR"
    cluster_stop_on_exit "$BENCH_DIR/pg"
    trap 'http_cleanup' EXIT
    trap 'http_cleanup; trap - EXIT; exit 130' INT
    trap 'http_cleanup; trap - EXIT; exit 143' TERM
    AGNO_PG_FAST=1 cluster_start "$BENCH_DIR/pg" "$(free_port)" >/dev/null
    step "load $rows learnings"
    log "database bench: $rows learnings (one INSERT … SELECT, then VACUUM ANALYZE)"
    psql_bench -d postgres -c "CREATE DATABASE bench"
    psql_bench -d bench -v rows="$rows" -f bench/http_setup.sql
    # The gets ask for ids user-8 may read: all of its own rows, then shared ones, 1000 in all.
    psql_bench -d bench -At -o "$BENCH_DIR/ids" -c "SELECT learning_id FROM ai.agno_learnings
        WHERE user_id = 'user-8' OR user_id IS NULL ORDER BY user_id IS NULL, random() LIMIT 1000"
    FIRST_ID="$(head -n 1 "$BENCH_DIR/ids")"

    step "PostgREST for database bench (schemas ai, bench_floor)"
    psql_bench -d bench -v schema=ai -f sql/postgrest.sql
    psql_bench -d bench -v get_id="$FIRST_ID" -f bench/floors.sql
    # The HS256 secret PostgREST, the extension and AgentOS verify tokens with; the server's
    # OS user must read it (run.sh does the same).
    (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$HTTP_DIR/jwt_secret")
    is_root && chown -R "$AGNO_PG_OS_USER:" "$HTTP_DIR"
    psql_bench -d bench -c "ALTER DATABASE bench SET agno_learnings.jwt_secret_file = '$HTTP_DIR/jwt_secret'"
    api_port="$(free_port)"
    postgrest_start "$HTTP_DIR" "$api_port" bench "ai,bench_floor"
    API_URL="http://127.0.0.1:$api_port"

    step "AgentOS 3.1.10 (uvicorn, one worker)"
    # Chosen after PostgREST listens, so that free_port cannot pick its ports.
    router_port="$(free_port)"
    agentos_start "$HTTP_DIR" "$router_port" \
        "postgresql+psycopg://postgres@/bench?host=$PGHOST&port=$PGPORT" "$HTTP_DIR/jwt_secret"
    ROUTER_URL="http://127.0.0.1:$router_port"

    step "tokens"
    mint() { # SUB SCOPE...: a token as AgentOS issues them (sub, scopes, no role claim)
        "$AGNO_PYTHON" - "$HTTP_DIR/jwt_secret" "$@" <<'PY'
import sys, time, jwt
secret = open(sys.argv[1]).read()
print(jwt.encode({"sub": sys.argv[2], "scopes": sys.argv[3:], "exp": int(time.time()) + 86400}, secret, algorithm="HS256"))
PY
    }
    user_token="$(mint user-8 learnings:read learnings:write learnings:delete)"
    admin_token="$(mint admin agent_os:admin)"
    create_body='{"learning_type": "decision_log", "content": {"decision": "escalate ticket 42", "reason": "customer on the enterprise plan, second incident this month"}}'

    target list_user.router router GET '/learnings?user_id=user-8&limit=20' "$admin_token" "" 200
    target list_user.ours ours POST /rpc/learnings_list "$admin_token" '{"user_id": "user-8", "limit": 20}' 200
    target list_scoped.router router GET '/learnings?limit=20' "$user_token" "" 200
    target list_scoped.ours ours POST /rpc/learnings_list "$user_token" '{"limit": 20}' 200
    target list_all.router router GET '/learnings?limit=20' "$admin_token" "" 200
    target list_all.ours ours POST /rpc/learnings_list "$admin_token" '{"limit": 20}' 200
    target get.router router GET '/learnings/{id}' "$user_token" "" 200
    target get.ours ours GET '/rpc/learnings_get?learning_id={id}' "$user_token" "" 200
    target create.router router POST /learnings "$user_token" "$create_body" 201
    target create.ours ours POST /rpc/learnings_create "$user_token" "$create_body" 201
    target floor_page floor GET /rpc/list_page "$user_token" "" 200
    target floor_record floor GET /rpc/get_record "$user_token" "" 200
    target floor_insert floor POST /rpc/plain_insert "$user_token" "$create_body" 200

    # work label | connections | request pair | its floor
    local works=(
        "list one user (admin)|8|list_user|floor_page"
        "list scoped user|8|list_scoped|floor_page"
        "list all (admin)|4|list_all|floor_page"
        "get by id|8|get|floor_record"
        "create decision_log|8|create|floor_insert"
    )

    # Reads first, on the data as loaded: the creates add rows at the head of every list.
    step "check the reads: every one answers, both servers the same records"
    preflight list_user.router list_user.ours list_scoped.router list_scoped.ours \
        list_all.router list_all.ours get.router get.ours floor_page floor_record
    for name in list_user list_scoped list_all; do
        compare page "$BENCH_DIR/resp/$name.router.json" "$BENCH_DIR/resp/$name.ours.json" ||
            die "$name: the router and PostgREST answered different pages"
    done
    n=0
    while read -r id && ((n < 20)); do
        for name in get.router get.ours; do
            [[ "$(request "$name" "$id" "$BENCH_DIR/resp/$name.json")" == 200 ]] ||
                die "$name: learning $id did not answer 200"
        done
        compare record "$BENCH_DIR/resp/get.router.json" "$BENCH_DIR/resp/get.ours.json" ||
            die "get: the router and PostgREST answered different records for $id"
        n=$((n + 1))
    done <"$BENCH_DIR/ids"
    log "the same answers from both for the 3 lists and $n gets"

    step "measure the reads"
    for i in 0 1 2 3; do
        IFS='|' read -r label conns name floor <<<"${works[$i]}"
        measure "$name.router" "$conns"
        rounds "$name.ours" "$floor" "$conns" "$i"
    done

    step "check and measure the creates"
    preflight create.router create.ours floor_insert
    compare created "$BENCH_DIR/resp/create.router.json" "$BENCH_DIR/resp/create.ours.json" ||
        die "create: the router and PostgREST created different records"
    compare created "$BENCH_DIR/resp/create.ours.json" "$BENCH_DIR/resp/floor_insert.json" ||
        die "create: the floor's INSERT makes a different record than the API's create"
    IFS='|' read -r label conns name floor <<<"${works[4]}"
    measure "$name.router" "$conns"
    rounds "$name.ours" "$floor" "$conns" 4

    step "report"
    printf '\n%s learnings, %ss per measurement after %ss of warm-up, %s cores; latencies in ms;\n' \
        "$rows" "$SECONDS_EACH" "$WARMUP" "$(nproc)"
    printf 'ours and floor: medians of %s rounds, ours/floor the median of the rounds'"'"' p50 ratios\n' "$ROUNDS"
    printf '%-22s %5s | %9s %8s %8s | %9s %8s %8s | %11s | %9s %10s | %s\n' \
        work conns "router/s" p50 p99 "ours/s" p50 p99 "ours/router" "floor p50" "ours/floor" "each round"
    for i in "${!works[@]}"; do
        IFS='|' read -r label conns name floor <<<"${works[$i]}"
        local ratios=() o50s f50s r
        mapfile -t o50s < <(rounds_of "$name.ours" "$conns" "$i" p50)
        mapfile -t f50s < <(rounds_of "$floor" "$conns" "$i" p50)
        for r in "${!o50s[@]}"; do
            ratios+=("$(awk -v o="${o50s[$r]}" -v f="${f50s[$r]}" 'BEGIN { print o / f }')")
        done
        awk -v label="$label" -v conns="$conns" \
            -v rr="$(result "$name.router@$conns" rps)" -v r50="$(result "$name.router@$conns" p50)" \
            -v r99="$(result "$name.router@$conns" p99)" \
            -v orps="$(rounds_of "$name.ours" "$conns" "$i" rps | median)" -v o50="$(median "${o50s[@]}")" \
            -v o99="$(rounds_of "$name.ours" "$conns" "$i" p99 | median)" -v f50="$(median "${f50s[@]}")" \
            -v ratio="$(median "${ratios[@]}")" -v each="${ratios[*]}" \
            'BEGIN { printf "%-22s %5d | %9.1f %8.2f %8.2f | %9.1f %8.2f %8.2f | %11.2f | %9.2f %10.2f | %s\n",
                     label, conns, rr, r50, r99, orps, o50, o99, orps / rr, f50, ratio, each }'
    done

    # A benchmark of errors is worthless: any non-2xx answer or socket error fails the run.
    for name in "$BENCH_DIR"/results/*@*; do
        [[ "$name" == *.wrk ]] && continue
        n=$(($(sed -n 's/.* non2xx=\([0-9]*\) socket_errors=\([0-9]*\).*/\1 + \2/p' "$name")))
        if ((n > 0)); then
            warn "${name##*/}: $n requests were not answered 2xx (or failed on the socket)"
            bad=$((bad + n))
        fi
    done
    ((bad == 0)) || die "$bad failed requests: these numbers are not a benchmark"
}

case "${1:-sql}" in
sql) bench_sql ;;
versions) bench_versions ;;
http) bench_http ;;
citus) bench_citus ;;
-h | --help | help) script_usage "${BASH_SOURCE[0]}" ;;
*)
    script_usage "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
esac
