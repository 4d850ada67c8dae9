"""Soak and crash-recovery driver for agno_learnings (run by scripts/soak.sh).

32 HTTP clients (PostgREST) and 4 SQL clients (role soak_sql, learnings_authenticate in
every transaction) run a mixed workload over the seven functions for SECONDS, with about
5% bad input. Every user (and every shared key) belongs to exactly one client, so each
row has a single writer and the client's model of it (the last acknowledged write) is
exact; reads may go anywhere. With --crash, one backend serving PostgREST and later the
postmaster are SIGKILLed during the load (the postmaster is started again with pg_ctl).

Checks while running: statuses (no 5xx, no connection errors, only the contract's, the
one the model predicts), isolation (a user sees its rows and shared ones only), the
records and list envelopes. After it: the table against the model (nothing acknowledged
lost, nothing deleted back, no row nobody wrote), every list's total_count against
count(*), the server log. Errors are allowed only during an outage: from a kill until
the first good answer (on that channel) to a request begun after the server accepted
connections again. A write answered by an error that may come after the statement ran
(PostgREST's `400 {"code": ""}`, its other 5xx but PGRST000/PGRST002, a broken HTTP
connection, a COMMIT without an answer) has an unknown outcome: the final check accepts
the row as before or as after it, never a third state, and its client writes that user
(or shared row) no more. Prints requests by operation and status, latencies, a summary,
one line per check and `N passed, N failed`; exits 1 when a check failed.
"""

import argparse
import collections
import concurrent.futures
import hashlib
import http.client
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid

import jwt
import psycopg
from psycopg.types.json import Jsonb

CONTRACT_STATUSES = {200, 201, 204, 400, 401, 403, 404, 409, 422}
# The contract's SQLSTATEs and the HTTP status each stands for (section 4).
SQLSTATE_STATUS = {"22023": 400, "PT401": 401, "42501": 403, "PT404": 404, "23505": 409, "PT422": 422}
SUCCESS = {"learnings_list": 200, "learnings_get": 200, "learnings_list_users": 200, "learnings_create": 201,
           "learnings_update": 200, "learnings_delete": 204, "learnings_delete_user": 204}
WRITES = {"learnings_create", "learnings_update", "learnings_delete", "learnings_delete_user"}
FIELDS = ["learning_id", "learning_type", "namespace", "user_id", "agent_id", "team_id", "session_id",
          "entity_id", "entity_type", "content", "metadata", "created_at", "updated_at"]
TYPES = ["user_profile", "user_memory", "session_context", "entity_memory", "decision_log"]
USER_SCOPES = ["learnings:read", "learnings:write", "learnings:delete"]
ABSENT = ("absent", None)
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def short(value, n=240):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= n else text[:n] + "…"


# --------------------------------------------------------------------------------------
# results and the two channels (HTTP through PostgREST, SQL as soak_sql)

class Result:
    __slots__ = ("status", "body", "label", "t0", "t1", "error", "unknown")

    def __init__(self, status, body, label, t0, t1, error=False, unknown=False):
        self.status, self.body, self.label, self.t0, self.t1 = status, body, label, t0, t1
        # error: not a clean answer of the contract (5xx, broken connection, PostgREST's
        # empty 400, a SQLSTATE outside the contract). unknown: a write that may or may
        # not have happened.
        self.error, self.unknown = error, unknown


class HttpChannel:
    name = "http"

    def __init__(self, host, port, timeout=30):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def call(self, fn, params, token, method="POST"):
        path = "/rpc/" + fn
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        body = None
        if method == "GET":
            path += "?" + urllib.parse.urlencode(params)
        else:
            body = json.dumps(params)
        t0 = time.monotonic()
        try:
            if self.conn is None:
                # One keep-alive connection per client, as a real HTTP client keeps.
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request(method, path, body, headers)
            response = self.conn.getresponse()
            text = response.read().decode()
            status = response.status
            if (response.getheader("Connection") or "").lower() == "close":
                self.close()
        except socket.timeout:
            self.close()
            return Result(None, None, "timeout", t0, time.monotonic(), error=True, unknown=fn in WRITES)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Result(None, str(exc), "conn-error", t0, time.monotonic(), error=True, unknown=fn in WRITES)
        t1 = time.monotonic()
        try:
            parsed = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = text
        label = str(status)
        error = status >= 500 or status not in CONTRACT_STATUSES
        if status == 400 and isinstance(parsed, dict) and parsed.get("code") == "":
            # PostgREST 12.0.2's answer when the connection under a request died.
            label, error = "400-unknown", True
        # PostgREST answers these before running anything: it could not get a connection
        # (PGRST000), or its schema cache is not loaded yet (PGRST002). Any other error
        # may have come after the statement ran.
        not_run = status == 503 and isinstance(parsed, dict) and parsed.get("code") in ("PGRST000", "PGRST002")
        return Result(status, parsed, label, t0, t1, error=error, unknown=error and fn in WRITES and not not_run)


class SqlChannel:
    name = "sql"

    def __init__(self, conninfo):
        self.conninfo = conninfo
        self.conn = None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    @staticmethod
    def statement(fn, params):
        args, values = [], []
        for key, value in params.items():
            if key in ("content", "metadata", "changes"):
                args.append(f'"{key}" => %s::jsonb')
                values.append(None if value is None else Jsonb(value))
            elif isinstance(value, int):
                args.append(f'"{key}" => %s::int')
                values.append(value)
            else:
                args.append(f'"{key}" => %s::text')
                values.append(value)
        return f"SELECT ai.{fn}({', '.join(args)})", values

    def call(self, fn, params, token, method=None):
        query, values = self.statement(fn, params)
        t0 = time.monotonic()
        stage = "connect"
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10)
            # The session's login role is not PostgREST's authenticator, so its claims
            # would be refused: the token is verified in the database, per transaction.
            stage = "begin"
            self.conn.execute("BEGIN")
            stage = "authenticate"
            self.conn.execute("SELECT ai.learnings_authenticate(%s)", (token,))
            stage = "call"
            row = self.conn.execute(query, values).fetchone()
            stage = "commit"
            self.conn.execute("COMMIT")
        except psycopg.Error as exc:
            t1 = time.monotonic()
            sqlstate = getattr(exc, "sqlstate", None)
            broken = self.conn is None or self.conn.closed or isinstance(exc, psycopg.OperationalError)
            if sqlstate in SQLSTATE_STATUS and not broken and stage != "commit":
                try:
                    self.conn.execute("ROLLBACK")
                except psycopg.Error:
                    self.close()
                status = SQLSTATE_STATUS[sqlstate]
                return Result(status, {"code": sqlstate, "message": exc.diag.message_primary}, str(status), t0, t1)
            self.close()
            # Before COMMIT was sent nothing can have happened; a COMMIT without an
            # answer may or may not have committed.
            return Result(None, {"code": sqlstate, "message": str(exc).strip()[:300]},
                          f"sql-{sqlstate or 'conn'}", t0, t1, error=True,
                          unknown=stage == "commit" and fn in WRITES)
        t1 = time.monotonic()
        value = row[0]
        body = None if fn in ("learnings_delete", "learnings_delete_user") else value
        return Result(SUCCESS[fn], body, str(SUCCESS[fn]), t0, t1)


# --------------------------------------------------------------------------------------
# shared state: statistics, checks, kills

class Kill:
    def __init__(self, what, pid, t):
        self.what, self.pid, self.t = what, pid, t
        # When the server accepted connections again: a good answer counts as recovery
        # only from a request begun after it (one begun just after the kill may still be
        # served before the postmaster ends the other backends).
        self.ready = None
        self.first_good = {}  # channel name → monotonic time of the first good answer


class Context:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counts = collections.Counter()  # (channel, op, label)
        self.latencies = collections.defaultdict(list)  # (channel, op) → seconds
        self.checks = collections.OrderedDict()  # name → [passed, failed, examples]
        self.error_events = []  # (channel, op, label, t0, t1, detail)
        self.good_events = []
        self.kills = []
        self.seen_ids = []
        self.acked = collections.Counter()
        self.unknown_writes = 0
        self.start = time.monotonic()

    def check(self, name, ok, detail=None, count=1):
        with self.lock:
            entry = self.checks.setdefault(name, [0, 0, []])
            if ok:
                entry[0] += count
            else:
                entry[1] += 1
                if len(entry[2]) < 6:
                    entry[2].append(detail() if callable(detail) else detail)

    def record(self, channel, fn, params, res):
        op = fn.replace("learnings_", "")
        with self.lock:
            self.counts[(channel, op, res.label)] += 1
            self.latencies[(channel, op)].append(res.t1 - res.t0)
            if res.error:
                self.error_events.append((channel, op, res.label, res.t0, res.t1,
                                          f"{fn} {short(params, 120)} → {res.label} {short(res.body, 160)}"))
            elif 200 <= res.status < 300:
                if self.args.dump:
                    self.good_events.append((channel, res.t0, res.t1))
                for kill in self.kills:
                    if kill.ready is not None and res.t0 >= kill.ready and channel not in kill.first_good:
                        kill.first_good[channel] = res.t1

    def bump(self, counter, key=None):
        with self.lock:
            if counter == "unknown":
                self.unknown_writes += 1
            else:
                self.acked[key] += 1

    def note_ids(self, records):
        with self.lock:
            for rec in records:
                if len(self.seen_ids) < 3000:
                    self.seen_ids.append(rec["learning_id"])
                else:
                    self.seen_ids[random.randrange(3000)] = rec["learning_id"]

    def random_seen_id(self, rng):
        with self.lock:
            return rng.choice(self.seen_ids) if self.seen_ids else None


# --------------------------------------------------------------------------------------
# the model of one client's rows

class Row:
    __slots__ = ("cands", "frozen")

    def __init__(self, cands, frozen=False):
        self.cands = cands  # [("absent", None) | ("full", record) | ("proj", fields)]
        self.frozen = frozen


def derive_id(learning_type, params, owner):
    """agno 3.1.10's build_learning_id (None for a UUID type)."""
    if learning_type == "user_profile":
        return f"user_profile_{owner}"
    if learning_type == "user_memory":
        return f"memories_{owner}"
    if learning_type == "session_context":
        return f"session_context_{params['session_id']}"
    if learning_type == "entity_memory":
        namespace = params.get("namespace") or "global"
        if namespace == "user":
            digest = hashlib.sha256(owner.encode()).hexdigest()[:16]
            return f"entity_user_{digest}_{params['entity_type']}_{params['entity_id']}"
        return f"entity_{namespace}_{params['entity_type']}_{params['entity_id']}"
    return None


def create_projection(params, owner, learning_id):
    learning_type = params["learning_type"]
    namespace = params.get("namespace")
    if learning_type == "entity_memory":
        namespace = namespace or "global"
    proj = {"learning_type": learning_type, "namespace": namespace, "user_id": owner,
            "content": params["content"], "metadata": params.get("metadata")}
    for key in ("agent_id", "team_id", "session_id", "entity_id", "entity_type"):
        proj[key] = params.get(key)
    if learning_id is not None:
        proj["learning_id"] = learning_id
    return proj


def projection_of(record):
    return {k: record[k] for k in FIELDS if k not in ("created_at", "updated_at")}


def matches(cand, current):
    kind, value = cand
    if kind == "absent":
        return current is None
    if current is None:
        return False
    if kind == "full":
        return all(current.get(k) == value.get(k) for k in FIELDS)
    return all(current.get(k) == v for k, v in value.items())


class Worker(threading.Thread):
    SCOPED_OPS = [("list", 22), ("get", 16), ("create", 24), ("update", 16), ("delete", 9),
                  ("list_users", 6), ("delete_user", 2)]

    def __init__(self, ctx, tid, channel, users, tokens):
        super().__init__(name=f"{channel.name}-{tid}", daemon=True)
        self.ctx, self.tid, self.channel, self.users, self.tokens = ctx, tid, channel, users, tokens
        self.rng = random.Random(ctx.args.seed * 1000 + tid)
        self.rows = {}
        self.frozen_users = set()
        self.unknown_uuid = []  # projections of UUID creates whose outcome is unknown
        self.seq = 0
        self.ops, self.weights = zip(*self.SCOPED_OPS)

    # ---- model helpers
    def state(self, lid):
        row = self.rows.get(lid)
        if row is None:
            return ABSENT
        if row.frozen or len(row.cands) != 1:
            return None
        return row.cands[0]

    def writable(self, lid, owner=None):
        row = self.rows.get(lid)
        if row is not None and row.frozen:
            return False
        if owner is not None and owner in self.frozen_users:
            return False
        st = self.state(lid)
        return st is not None and (st[0] == "absent" or st[1]["user_id"] not in self.frozen_users)

    def present(self, predicate=lambda rec: True):
        return [lid for lid, row in self.rows.items()
                if not row.frozen and len(row.cands) == 1 and row.cands[0][0] == "full"
                and row.cands[0][1]["user_id"] not in self.frozen_users and predicate(row.cands[0][1])]

    def set_full(self, record):
        self.rows[record["learning_id"]] = Row([("full", record)])

    def make_unknown(self, lid, after, owner):
        row = self.rows.get(lid)
        before = row.cands if row is not None else [ABSENT]
        self.rows[lid] = Row(before + [after], frozen=True)
        if owner is not None:
            self.frozen_users.add(owner)
        self.ctx.bump("unknown")

    # ---- values
    def next_op(self):
        self.seq += 1
        return f"{self.channel.name}{self.tid}-{self.seq}"

    def content(self, op):
        value = {"op": op, "n": self.rng.randint(-10**6, 10**6), "exact": 2**60 + self.rng.randint(0, 999),
                 "text": self.rng.choice(["prefers short answers", "héllo ✓ 東京", "line\nbreak \"quoted\"", ""])}
        if self.rng.random() < 0.3:
            value["nested"] = {"facts": [self.rng.random() < 0.5, None, 1.5, {"k": "v"}]}
        if self.rng.random() < 0.05:
            value["blob"] = "x" * self.rng.randint(1000, 4000)
        return value

    def metadata(self, op):
        return self.rng.choice([None, {"source": "soak", "op": op}, {}])

    def session_ids(self, user):
        return [f"{user}-s{k}" for k in range(3)]

    def shared_entity(self):
        return {"namespace": self.rng.choice(["global", "kb"]), "entity_type": "topic",
                "entity_id": f"t{self.channel.name}{self.tid}-k{self.rng.randrange(4)}"}

    def shared_session(self):
        return f"shared-{self.channel.name}{self.tid}-{self.rng.randrange(3)}"

    # ---- one request
    def call(self, fn, params, token, expect, caller, method="POST"):
        if method == "GET" and self.channel.name != "http":
            method = "POST"
        res = self.channel.call(fn, params, token, method)
        self.ctx.record(self.channel.name, fn, params, res)
        if res.error:
            time.sleep(0.05 + self.rng.random() * 0.1)  # no busy loop during an outage
            return res
        ctx = self.ctx
        ctx.check("expected status", res.status in expect,
                  lambda: f"{self.channel.name} {fn} as {caller} {short(params, 160)}: expected "
                          f"{sorted(expect)}, got {res.status} {short(res.body, 200)}")
        if caller not in (None, "admin") and 200 <= res.status < 300 and res.body is not None:
            self.check_isolation(fn, params, caller, res.body)
        return res

    def check_isolation(self, fn, params, caller, body):
        if fn in ("learnings_list", "learnings_list_users"):
            records = body.get("data", []) if isinstance(body, dict) else []
        else:
            records = [body] if isinstance(body, dict) else []
        bad = [r.get("user_id") for r in records
               if r.get("user_id") not in ((caller,) if fn == "learnings_list_users" else (caller, None))]
        self.ctx.check("isolation: no other user's rows", not bad,
                       lambda: f"{self.channel.name} {fn} as {caller} {short(params, 120)} returned rows of {bad[:5]}")

    # ---- the loop
    def run(self):
        while not self.ctx.stop.is_set():
            try:
                r = self.rng.random()
                if r < 0.05:
                    self.bad_input()
                elif r < 0.13:
                    self.admin_op()
                else:
                    user = self.rng.choice(self.users)
                    op = self.rng.choices(self.ops, self.weights)[0]
                    getattr(self, "op_" + op)(user)
            except Exception:
                self.ctx.check("driver ran without exceptions", False, traceback.format_exc())
                time.sleep(0.2)

    # ---- scoped operations
    def list_params(self, user):
        params = {}
        choice = self.rng.random()
        if choice < 0.2:
            params["learning_type"] = self.rng.choice(["user_profile", "user_memory"])
        elif choice < 0.3:
            params.update(learning_type="entity_memory", namespace="user")
        elif choice < 0.45:
            params["learning_type"] = self.rng.choice(TYPES)
        elif choice < 0.5:
            params["agent_id"] = self.rng.choice(["support-agent", "planner"])
        elif choice < 0.55:
            params["session_id"] = self.rng.choice(self.session_ids(user))
        elif choice < 0.6:
            params["namespace"] = self.rng.choice(["global", "kb", "user"])
        elif choice < 0.65:
            params["user_id"] = user
        if self.rng.random() < 0.7:
            params["limit"] = self.rng.choice([1, 2, 5, 10, 50, 200])
        if self.rng.random() < 0.4:
            params["page"] = self.rng.randint(1, 3)
        if self.rng.random() < 0.3:
            params["sort_by"] = self.rng.choice(["created_at", "updated_at", "nonsense"])
        if self.rng.random() < 0.4:
            params["sort_order"] = self.rng.choice(["asc", "desc"])
        return params

    def check_list(self, params, body, default_limit, users=False):
        """The envelope's meta, the page's size, filters and order."""
        problems = []
        if not isinstance(body, dict) or "data" not in body or "meta" not in body:
            self.ctx.check("list envelopes", False, f"not an envelope: {short(body)}")
            return
        meta, data = body["meta"], body["data"]
        limit, page = params.get("limit", default_limit), params.get("page", 1)
        total = meta.get("total_count")
        if meta.get("limit") != limit or meta.get("page") != page:
            problems.append("limit/page")
        if not isinstance(total, int) or meta.get("total_pages") != math.ceil(total / limit):
            problems.append("total_pages")
        elif len(data) != max(0, min(limit, total - (page - 1) * limit)):
            problems.append(f"{len(data)} rows on the page")
        if not users:
            for key in ("learning_type", "agent_id", "session_id", "namespace"):
                if key in params and any(r.get(key) != params[key] for r in data):
                    problems.append(f"filter {key}")
            key = (lambda r: r["created_at"]) if params.get("sort_by") == "created_at" else \
                (lambda r: r["updated_at"] if r["updated_at"] is not None else r["created_at"])
            # desc: newest first, ties by learning_id ascending; asc is its exact reverse.
            rows = data[::-1] if params.get("sort_order", "desc") == "asc" else data
            order = [(-key(r), r["learning_id"]) for r in rows]
            if order != sorted(order):
                problems.append("order")
        self.ctx.check("list envelopes", not problems,
                       lambda: f"{short(params, 120)}: {problems} meta={meta}", count=1)

    def op_list(self, user, caller=None):
        caller = caller or (user if self.rng.random() < 0.7 else f"user-{self.rng.randrange(self.ctx.args.users):03d}")
        params = self.list_params(caller)
        res = self.call("learnings_list", params, self.tokens[caller], {200}, caller)
        if res.error or res.status != 200:
            return
        self.check_list(params, res.body, 100)
        self.ctx.note_ids(res.body["data"][:5])
        # The user's own identity-keyed rows that no shared row can join: exact.
        if caller in self.users and caller not in self.frozen_users:
            extra = set(params) - {"learning_type", "namespace", "limit", "page", "sort_by", "sort_order", "user_id"}
            lt = params.get("learning_type")
            exact = not extra and (lt in ("user_profile", "user_memory") and "namespace" not in params
                                   or lt == "entity_memory" and params.get("namespace") == "user")
            if exact:
                want = {lid: self.rows[lid].cands[0][1] for lid in self.present(
                    lambda r: r["user_id"] == caller and r["learning_type"] == lt
                    and (lt != "entity_memory" or r["namespace"] == "user"))}
                total = res.body["meta"]["total_count"]
                ok = total == len(want)
                if ok and params.get("page", 1) == 1 and params.get("limit", 100) >= total:
                    ok = {r["learning_id"]: r for r in res.body["data"]} == want
                self.ctx.check("lists match the model", ok,
                               lambda: f"{caller} {short(params)}: got {total} {short([r['learning_id'] for r in res.body['data']])}, "
                                       f"model {sorted(want)}")

    def op_get(self, user):
        method = "GET" if self.rng.random() < 0.2 else "POST"
        if self.rng.random() < 0.25:
            lid = self.ctx.random_seen_id(self.rng)
            if lid is not None:
                self.call("learnings_get", {"learning_id": lid}, self.tokens[user], {200, 404}, user, method)
                return
        if not self.rows:
            self.op_list(user, user)
            return
        lid = self.rng.choice(list(self.rows))
        st = self.state(lid)
        if st is None:
            expect = {200, 404}
        elif st[0] == "absent" or st[1]["user_id"] not in (user, None):
            expect = {404}
        else:
            expect = {200}
        res = self.call("learnings_get", {"learning_id": lid}, self.tokens[user], expect, user, method)
        if not res.error and res.status == 200 and st is not None and st[0] == "full":
            self.ctx.check("records match the model", res.body == st[1],
                           lambda: f"get {lid} as {user}: {short(res.body)} != model {short(st[1])}")

    def create_params(self, user, admin=False):
        op = self.next_op()
        lt = self.rng.choice(TYPES)
        params = {"learning_type": lt, "content": self.content(op)}
        if lt == "session_context":
            if admin and self.rng.random() < 0.5:
                params["session_id"] = self.shared_session()
            else:
                other = self.rng.choice(self.users) if self.rng.random() < 0.15 else user
                params["session_id"] = self.rng.choice(self.session_ids(other))
        elif lt == "entity_memory":
            if self.rng.random() < 0.6:
                params.update(namespace="user", entity_type=self.rng.choice(["person", "company"]),
                              entity_id=f"e{self.rng.randrange(3)}")
            else:
                params.update(self.shared_entity())
                if params["namespace"] == "global" and self.rng.random() < 0.5:
                    del params["namespace"]  # missing namespace is global
        if self.rng.random() < 0.4:
            params["agent_id"] = self.rng.choice(["support-agent", "planner"])
        if self.rng.random() < 0.2:
            params["team_id"] = "team-a"
        meta = self.metadata(op)
        if meta is not None or self.rng.random() < 0.3:
            params["metadata"] = meta
        return params

    def op_create(self, user):
        if user in self.frozen_users:
            return self.op_list(user, user)
        params = self.create_params(user)
        if self.rng.random() < 0.2:
            params["user_id"] = user
        self.create(params, user, user)

    def create(self, params, caller, owner):
        """caller: a user or "admin"; owner: the user_id the row gets (None: shared)."""
        lt = params["learning_type"]
        if lt == "decision_log":
            mine = self.present(lambda r: r["user_id"] == owner and r["learning_type"] == "decision_log")
            if len(mine) >= 4:  # keep the table bounded: delete one instead
                self.delete(self.rng.choice(mine), caller)
                return
        lid = derive_id(lt, params, owner)
        if lid is not None and not self.writable(lid, owner):
            return
        st = self.state(lid) if lid is not None else ABSENT
        if st[0] == "absent":
            expect = {201}
        elif caller == "admin" or st[1]["user_id"] in (caller, None):
            expect = {409}
        else:
            expect = {404}  # a row the caller cannot see: never a 409
        token = self.tokens[caller]
        res = self.call("learnings_create", params, token, expect, caller)
        proj = create_projection(params, owner, lid)
        if res.unknown:
            if lid is None:
                self.unknown_uuid.append(proj)
                if owner is not None:
                    self.frozen_users.add(owner)
                self.ctx.bump("unknown")
            else:
                self.make_unknown(lid, ("proj", proj), owner)
            return
        if res.error or res.status != 201:
            return
        body = res.body
        ok = isinstance(body, dict) and all(body.get(k) == v for k, v in proj.items()) and \
            (lid is not None or bool(UUID_RE.match(body.get("learning_id", "")))) and \
            isinstance(body.get("created_at"), int)
        self.ctx.check("records match the model", ok,
                       lambda: f"create {short(params)} as {caller}: {short(body)} (expected {short(proj)})")
        if isinstance(body, dict) and "learning_id" in body:
            self.set_full(body)
            self.ctx.bump("acked", "create")

    def changes(self):
        op = self.next_op()
        choice = self.rng.random()
        if choice < 0.5:
            return {"content": self.content(op)}
        if choice < 0.7:
            return {"metadata": self.metadata(op)}
        if choice < 0.92:
            return {"content": self.content(op), "metadata": self.metadata(op)}
        return {}

    def pick_row(self, caller):
        """A row for update/delete: mostly the caller's own, sometimes shared, another
        user's or a deleted one (each with its status)."""
        choice = self.rng.random()
        if caller != "admin" and choice < 0.75:
            pool = self.present(lambda r: r["user_id"] == caller)
        elif choice < 0.85:
            pool = self.present()
        else:
            pool = [lid for lid in self.rows if self.state(lid) == ABSENT]
        return self.rng.choice(pool) if pool else None

    def expect_mutation(self, lid, caller, ok_status):
        st = self.state(lid)
        if st[0] == "absent":
            return {404}
        owner = st[1]["user_id"]
        if caller == "admin" or owner == caller:
            return {ok_status}
        return {403} if owner is None else {404}

    def op_update(self, user, caller=None):
        caller = caller or user
        if caller in self.frozen_users:
            return self.op_get(user)
        lid = self.pick_row(caller)
        if lid is None or not self.writable(lid):
            return self.op_create(user) if caller != "admin" else None
        self.update(lid, caller, self.changes())

    def update(self, lid, caller, changes):
        st = self.state(lid)
        expect = self.expect_mutation(lid, caller, 200)
        res = self.call("learnings_update", {"learning_id": lid, "changes": changes}, self.tokens[caller], expect, caller)
        if res.unknown:
            if st[0] == "full":
                after = projection_of(st[1])
                after.update(changes)
                self.make_unknown(lid, ("proj", after), st[1]["user_id"])
            return
        if res.error or res.status != 200:
            return
        body = res.body
        want = dict(st[1]) if st[0] == "full" else {}
        want.update(changes)
        ok = isinstance(body, dict) and all(body.get(k) == want.get(k) for k in FIELDS if k != "updated_at")
        self.ctx.check("records match the model", ok,
                       lambda: f"update {lid} {short(changes)} as {caller}: {short(body)} (before {short(st[1])})")
        if isinstance(body, dict) and "learning_id" in body:
            self.set_full(body)
            self.ctx.bump("acked", "update")

    def op_delete(self, user, caller=None):
        caller = caller or user
        if caller in self.frozen_users:
            return self.op_get(user)
        lid = self.pick_row(caller)
        if lid is None or not self.writable(lid):
            return self.op_list(user, user) if caller != "admin" else None
        self.delete(lid, caller)

    def delete(self, lid, caller):
        st = self.state(lid)
        if st is None or not self.writable(lid):
            return
        expect = self.expect_mutation(lid, caller, 204)
        res = self.call("learnings_delete", {"learning_id": lid}, self.tokens[caller], expect, caller)
        if res.unknown:
            if st[0] == "full":
                self.make_unknown(lid, ABSENT, st[1]["user_id"])
            return
        if not res.error and res.status == 204:
            self.rows[lid] = Row([ABSENT])
            self.ctx.bump("acked", "delete")

    def op_list_users(self, user):
        params = {}
        if self.rng.random() < 0.3:
            params["user_id"] = user
        if self.rng.random() < 0.5:
            params["limit"] = self.rng.choice([1, 5, 20])
        if self.rng.random() < 0.3:
            params["sort_by"] = self.rng.choice(["user_id", "last_learning_updated_at"])
        res = self.call("learnings_list_users", params, self.tokens[user], {200}, user)
        if res.error or res.status != 200:
            return
        self.check_list(params, res.body, 20, users=True)
        if user not in self.frozen_users:
            has_rows = bool(self.present(lambda r: r["user_id"] == user))
            got = [u.get("user_id") for u in res.body.get("data", [])]
            self.ctx.check("lists match the model", got == ([user] if has_rows else []),
                           lambda: f"list_users as {user}: {got}, model has rows: {has_rows}")

    def op_delete_user(self, user, caller=None):
        caller = caller or user
        if user in self.frozen_users:
            return self.op_list(user, user)
        params = {"user_id": user}
        if self.rng.random() < 0.5:
            params["learning_type"] = self.rng.choice(TYPES)
        res = self.call("learnings_delete_user", params, self.tokens[caller], {204}, caller)
        affected = self.present(lambda r: r["user_id"] == user
                                and r["learning_type"] == params.get("learning_type", r["learning_type"]))
        if res.unknown:
            for lid in affected:
                self.make_unknown(lid, ABSENT, user)
            self.frozen_users.add(user)
            return
        if not res.error and res.status == 204:
            for lid in affected:
                self.rows[lid] = Row([ABSENT])
            self.ctx.bump("acked", "delete_user")

    # ---- the admin
    def admin_op(self):
        choice = self.rng.random()
        admin = self.tokens["admin"]
        if choice < 0.25:
            op = self.next_op()
            kind = self.rng.random()
            params = {"content": self.content(op)}
            if kind < 0.4:
                params.update(learning_type="entity_memory", **self.shared_entity())
            elif kind < 0.7:
                params.update(learning_type="session_context", session_id=self.shared_session())
            else:
                params["learning_type"] = "decision_log"
            if self.rng.random() < 0.5:
                params["metadata"] = self.metadata(op)
            self.create(params, "admin", None)
        elif choice < 0.4:
            user = self.rng.choice(self.users)
            if user in self.frozen_users:
                return
            params = self.create_params(user, admin=True)
            params["user_id"] = user
            self.create(params, "admin", user)
        elif choice < 0.55:
            self.op_update(None, "admin")
        elif choice < 0.63:
            self.op_delete(None, "admin")
        elif choice < 0.83:
            params = {}
            pick = self.rng.random()
            if pick < 0.3:
                params["learning_type"] = self.rng.choice(TYPES)
            elif pick < 0.5:
                params["user_id"] = f"user-{self.rng.randrange(self.ctx.args.users):03d}"
            params["limit"] = self.rng.choice([1, 10, 100, 500])
            params["page"] = self.rng.randint(1, 3)
            res = self.call("learnings_list", params, admin, {200}, "admin")
            if not res.error and res.status == 200:
                self.check_list(params, res.body, 100)
                self.ctx.note_ids(res.body["data"])
                if "user_id" in params:
                    self.ctx.check("list envelopes", all(r["user_id"] == params["user_id"] for r in res.body["data"]),
                                   f"admin list {params}: rows of other users")
        elif choice < 0.9:
            params = {"limit": self.rng.choice([1, 20, 100]), "page": self.rng.randint(1, 2),
                      "sort_by": self.rng.choice(["user_id", "last_learning_updated_at"])}
            res = self.call("learnings_list_users", params, admin, {200}, "admin")
            if not res.error and res.status == 200:
                self.check_list(params, res.body, 20, users=True)
        elif choice < 0.97:
            if self.rows:
                lid = self.rng.choice(list(self.rows))
                st = self.state(lid)
                expect = {200, 404} if st is None else ({404} if st[0] == "absent" else {200})
                res = self.call("learnings_get", {"learning_id": lid}, admin, expect, "admin")
                if not res.error and res.status == 200 and st is not None and st[0] == "full":
                    self.ctx.check("records match the model", res.body == st[1],
                                   lambda: f"admin get {lid}: {short(res.body)} != model {short(st[1])}")
        else:
            self.op_delete_user(self.rng.choice(self.users), "admin")

    # ---- bad input: each with the status the contract gives it
    def bad_input(self):
        user = self.rng.choice(self.users)
        token = self.tokens[user]
        others = [u for u in self.users if u != user]
        other = self.rng.choice(others) if others else "user-x"
        case = self.rng.randrange(16)
        if case == 0:
            self.call("learnings_list", {"limit": self.rng.choice([0, 1001, -5])}, token, {422}, user)
        elif case == 1:
            self.call("learnings_list", {"page": 0, "limit": 5}, token, {422}, user)
        elif case == 2:
            self.call("learnings_list", {"sort_order": "sideways"}, token, {422}, user)
        elif case == 3:
            self.call("learnings_list_users", {"limit": 0}, token, {422}, user)
        elif case == 4:
            params = {"learning_type": self.rng.choice(TYPES), "session_id": "bad-s", "entity_id": "x",
                      "entity_type": "y", "content": self.rng.choice(["a string", [1, 2], 42, None])}
            self.call("learnings_create", params, token, {422}, user)
        elif case == 5:
            self.call("learnings_create", {"learning_type": "entity_memory", "entity_id": "x", "content": {}},
                      token, {422}, user)
        elif case == 6:
            mine = self.present(lambda r: r["user_id"] == user)
            lid = self.rng.choice(mine) if mine else "user_profile_" + user
            changes = self.rng.choice([{"content": None}, {"user_id": other}, {"bogus": 1}, {"content": "text"}])
            self.call("learnings_update", {"learning_id": lid, "changes": changes}, token, {422}, user)
        elif case == 7:
            theirs = self.present(lambda r: r["user_id"] not in (user, None))
            if theirs:
                lid = self.rng.choice(theirs)
                fn = self.rng.choice(["learnings_get", "learnings_update", "learnings_delete"])
                params = {"learning_id": lid}
                if fn == "learnings_update":
                    params["changes"] = {"content": {"hijacked": True}}
                self.call(fn, params, token, {404}, user)
        elif case == 8:
            shared = self.present(lambda r: r["user_id"] is None)
            if shared:
                lid = self.rng.choice(shared)
                if self.rng.random() < 0.5:
                    self.call("learnings_delete", {"learning_id": lid}, token, {403}, user)
                else:
                    self.call("learnings_update", {"learning_id": lid, "changes": {"content": {"x": 1}}},
                              token, {403}, user)
        elif case == 9:
            fn, params = self.rng.choice([
                ("learnings_list", {"user_id": other}), ("learnings_list_users", {"user_id": other}),
                ("learnings_delete_user", {"user_id": other}),
                ("learnings_create", {"learning_type": "decision_log", "user_id": other, "content": {}})])
            self.call(fn, params, token, {403}, user)
        elif case in (10, 11, 12):
            bad = self.rng.choice(["expired", "wrong_secret", "garbage", "alg_none", "truncated"])
            fn = self.rng.choice(list(SUCCESS))
            params = {"learning_id": "user_profile_" + user} if fn in ("learnings_get", "learnings_delete") else \
                {"user_id": user} if fn == "learnings_delete_user" else \
                {"learning_type": "decision_log", "content": {}} if fn == "learnings_create" else \
                {"learning_id": "user_profile_" + user, "changes": {}} if fn == "learnings_update" else {}
            self.call(fn, params, self.tokens["bad:" + bad], {401}, None)
        elif case == 13:
            self.call("learnings_create", {"learning_type": "decision_log", "content": {}},
                      self.tokens["readonly:" + user], {403}, user)
        elif case == 14:
            self.call("learnings_list", {"table": "agno_learnings"}, token, {400}, user)
        else:
            self.call("learnings_get", {"learning_id": "no_such_" + uuid.uuid4().hex}, token, {404}, user)


# --------------------------------------------------------------------------------------
# tokens

def make_tokens(secret, users, seconds):
    exp = int(time.time()) + seconds + 7200
    tokens = {u: jwt.encode({"sub": u, "scopes": USER_SCOPES, "exp": exp}, secret, algorithm="HS256")
              for u in users}
    tokens["admin"] = jwt.encode({"sub": "soak-admin", "scopes": ["agent_os:admin"], "exp": exp}, secret,
                                 algorithm="HS256")
    for u in users:
        tokens["readonly:" + u] = jwt.encode({"sub": u, "scopes": ["learnings:read"], "exp": exp}, secret,
                                             algorithm="HS256")
    good = tokens[users[0]]
    header, payload, _ = good.split(".")
    tokens["bad:expired"] = jwt.encode({"sub": users[0], "scopes": USER_SCOPES, "exp": int(time.time()) - 3600},
                                       secret, algorithm="HS256")
    tokens["bad:wrong_secret"] = jwt.encode({"sub": users[0], "scopes": USER_SCOPES, "exp": exp},
                                            "not-the-secret-" * 4, algorithm="HS256")
    tokens["bad:garbage"] = "not.a.token"
    tokens["bad:alg_none"] = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + "."
    tokens["bad:truncated"] = good[:-4]
    return tokens


# --------------------------------------------------------------------------------------
# chaos (--crash)

def pg_superuser(args, dbname=None):
    return psycopg.connect(host=args.pghost, port=args.pgport, user="postgres", dbname=dbname or args.db,
                           autocommit=True, connect_timeout=10)


def wait_recovered(ctx, kill, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not ctx.stop.is_set():
        if "http" in kill.first_good and "sql" in kill.first_good:
            return True
        time.sleep(0.1)
    return False


def chaos(ctx):
    args = ctx.args
    try:
        # 1. One backend serving PostgREST (an active one when there is one): the
        # postmaster then ends every backend and reinitializes.
        time.sleep(max(0.0, ctx.start + max(3.0, 0.25 * args.seconds) - time.monotonic()))
        with pg_superuser(args) as conn:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE usename = 'learnings_authenticator' "
                "ORDER BY state = 'active' DESC, random() LIMIT 1").fetchone()
        ctx.check("crash: a PostgREST backend to kill", row is not None, "no backend of learnings_authenticator")
        if row is None:
            return
        # A connection of our own sees when the postmaster ends every backend; then wait
        # until a new one is accepted.
        watcher = pg_superuser(args)
        kill = Kill("backend", row[0], time.monotonic())
        with ctx.lock:
            ctx.kills.append(kill)
        os.kill(row[0], signal.SIGKILL)
        log(f"SIGKILL backend {row[0]} at {kill.t - ctx.start:.1f} s")
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                watcher.execute("SELECT 1")
                time.sleep(0.01)
            log("the postmaster did not end the other backends within 10 s")
        except psycopg.Error:
            pass
        finally:
            watcher.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                pg_superuser(args).close()
                break
            except psycopg.Error:
                time.sleep(0.02)
        kill.ready = time.monotonic()
        log(f"accepting connections again at {kill.ready - ctx.start:.1f} s")
        wait_recovered(ctx, kill, 90)

        # 2. The postmaster itself; then start it again with pg_ctl, as the cluster's OS
        # user. It refuses while the dead postmaster is unreaped or its backends still
        # hold the shared memory, so retry.
        time.sleep(max(0.0, ctx.start + 0.55 * args.seconds - time.monotonic(), 2.0))
        with open(os.path.join(args.pgdata, "postmaster.pid")) as f:
            pid = int(f.readline())
        kill = Kill("postmaster", pid, time.monotonic())
        with ctx.lock:
            ctx.kills.append(kill)
        os.kill(pid, signal.SIGKILL)
        log(f"SIGKILL postmaster {pid} at {kill.t - ctx.start:.1f} s")
        deadline = time.monotonic() + 90
        tries = 0
        while True:
            tries += 1
            done = subprocess.run(
                ["bash", "-c", 'source "$0" && as_pg_user "$PG_BINDIR/pg_ctl" -D "$1" -l "$1/postgres.log" '
                               '-o "-p $2" -w -t 60 start', args.lib, args.pgdata, str(args.pgport)],
                capture_output=True, text=True)
            if done.returncode == 0:
                break
            if time.monotonic() > deadline:
                ctx.check("crash: the postmaster started again", False,
                          f"pg_ctl start failed {tries} times: {done.stdout[-300:]} {done.stderr[-300:]}")
                return
            time.sleep(0.5)
        log(f"postmaster started again at {time.monotonic() - ctx.start:.1f} s ({tries} pg_ctl start)")
        kill.ready = time.monotonic()
        ctx.check("crash: the postmaster started again", True)
        wait_recovered(ctx, kill, 90)
    except Exception:
        ctx.check("driver ran without exceptions", False, traceback.format_exc())


def log(message):
    print(f"soak: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# after the load

def read_table(args):
    with pg_superuser(args) as conn:
        rows = conn.execute(f"SELECT {', '.join(FIELDS)} FROM ai.agno_learnings").fetchall()
    return {r[0]: dict(zip(FIELDS, r)) for r in rows}


def final_checks(ctx, workers, summary):
    args = ctx.args
    table = read_table(args)
    model, unknown_uuid = {}, []
    for w in workers:
        model.update(w.rows)
        unknown_uuid += w.unknown_uuid

    lost, resurrected, wrong = [], [], []
    outcome = collections.Counter()  # writes of unknown outcome: applied or not
    for lid, row in model.items():
        current = table.get(lid)
        hit = next((i for i, c in enumerate(row.cands) if matches(c, current)), None)
        if hit is not None:
            if len(row.cands) > 1:
                outcome["applied" if hit > 0 else "not applied"] += 1
            continue
        kinds = {c[0] for c in row.cands}
        if current is None:
            lost.append(f"{lid}: missing; acknowledged {short(row.cands[-1][1])}")
        elif kinds == {"absent"}:
            resurrected.append(f"{lid}: deleted, but present as {short(current)}")
        else:
            wrong.append(f"{lid}: {short(current)} is none of {short([c[1] for c in row.cands], 400)}")
    ctx.check("acknowledged writes kept exactly", True, count=len(model) - len(lost) - len(wrong))
    for detail in lost + wrong:
        ctx.check("acknowledged writes kept exactly", False, detail)
    ctx.check("no acknowledged delete came back", True, count=len(model) - len(resurrected))
    for detail in resurrected:
        ctx.check("no acknowledged delete came back", False, detail)

    phantoms, used = [], collections.Counter()
    for lid, current in table.items():
        if lid in model:
            continue
        hits = [i for i, proj in enumerate(unknown_uuid) if matches(("proj", proj), current)]
        if hits:
            used[hits[0]] += 1
        else:
            phantoms.append(f"{lid}: {short(current)}")
    duplicated = [i for i, n in used.items() if n > 1]
    ctx.check("no row that no request wrote", not phantoms and not duplicated,
              lambda: f"{len(phantoms)} unexplained rows, e.g. {phantoms[:2]}; duplicated unknown creates {duplicated[:3]}",
              count=len(table))
    outcome["applied"] += len(used)
    outcome["not applied"] += len(unknown_uuid) - len(used)
    summary.update(lost=len(lost) + len(wrong), resurrected=len(resurrected), phantom=len(phantoms),
                   rows=len(table), outcome={k: n for k, n in outcome.items() if n})

    # Every list's total_count against count(*) for its filter, with no load running.
    users = [f"user-{i:03d}" for i in range(args.users)]
    by_user = collections.Counter(r["user_id"] for r in table.values())
    by_type = collections.Counter(r["learning_type"] for r in table.values())
    shared = by_user[None]
    tokens = ctx.tokens
    local = threading.local()

    def channel(kind):
        if not hasattr(local, kind):
            setattr(local, kind, HttpChannel("127.0.0.1", args.http_port) if kind == "http"
                    else SqlChannel(args.sql_conninfo))
        return getattr(local, kind)

    def total_check(name, kind, fn, params, token, want, want_ids=None):
        res = channel(kind).call(fn, params, token)
        if res.status != 200:
            ctx.check(name, False, f"{kind} {fn} {params}: {res.label} {short(res.body)}")
            return
        total = res.body["meta"]["total_count"]
        ok = total == want
        if ok and want_ids is not None:
            ok = sorted(r["learning_id"] for r in res.body["data"]) == sorted(want_ids)
        ctx.check(name, ok, lambda: f"{kind} {fn} {params}: total_count {total}, count(*) {want}")

    jobs = []
    for i, user in enumerate(users):
        kind = "sql" if i % 4 == 0 else "http"
        ids = [lid for lid, r in table.items() if r["user_id"] in (user, None)]
        jobs.append(("list totals for each user", kind, "learnings_list", {"limit": 1000}, tokens[user],
                     by_user[user] + shared, ids if len(ids) <= 1000 else None))
        jobs.append(("list totals for each user", "http", "learnings_list", {"user_id": user, "limit": 1},
                     tokens["admin"], by_user[user], None))
    for lt in TYPES:
        for kind in ("http", "sql"):
            jobs.append(("list totals for each type", kind, "learnings_list", {"learning_type": lt, "limit": 1},
                         tokens["admin"], by_type[lt], None))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(total_check, *job) for job in jobs]:
            future.result()

    # The admin's unfiltered list, page by page: the count, and every row exactly once.
    http = HttpChannel("127.0.0.1", args.http_port)
    seen, page, total = [], 1, None
    while True:
        res = http.call("learnings_list", {"limit": 500, "page": page, "sort_order": "asc"}, tokens["admin"])
        if res.status != 200:
            ctx.check("admin list: total and pages", False, f"page {page}: {res.label} {short(res.body)}")
            break
        total = res.body["meta"]["total_count"]
        seen += [r["learning_id"] for r in res.body["data"]]
        if page >= res.body["meta"]["total_pages"]:
            ctx.check("admin list: total and pages", total == len(table) and sorted(seen) == sorted(table),
                      f"total_count {total}, {len(seen)} listed ({len(set(seen))} distinct), count(*) {len(table)}")
            break
        page += 1
    res = http.call("learnings_list_users", {"limit": 1000}, tokens["admin"])
    owners = {u for u in by_user if u is not None}
    ok = res.status == 200 and res.body["meta"]["total_count"] == len(owners) and \
        {u["user_id"] for u in res.body["data"]} == owners
    ctx.check("admin list: total and pages", ok,
              lambda: f"list_users: {res.label} {short(res.body)} vs {len(owners)} owners")


def check_server_log(ctx):
    path = os.path.join(ctx.args.pgdata, "postgres.log")
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    killed = {k.pid for k in ctx.kills if k.what == "backend"}
    bad = []
    for line in lines:
        if "terminated by signal" in line:
            m = re.search(r"PID (\d+)\) was terminated by signal 9", line)
            if not (m and int(m.group(1)) in killed):
                bad.append(line)
        elif re.search(r"\bPANIC:|TRAP:|terminated by exception|exited with exit code (?!0\b|1\b)\d", line):
            bad.append(line)
    ctx.check("server log: no crash but the ones we caused", not bad, lambda: " | ".join(bad[:4]), count=len(lines))


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))]


def classify_errors(ctx, summary):
    """Errors inside an outage (a request that ended after a kill and began before the
    first good answer of its channel after it) are allowed and counted; any other fails
    its check."""
    in_outage = collections.Counter()
    outside = {"no 5xx": [], "no connection errors": [], "only the contract's statuses": []}
    unknown_400 = 0
    for channel, op, label, t0, t1, detail in ctx.error_events:
        unknown_400 += label == "400-unknown"
        outage = None
        for kill in ctx.kills:
            good = kill.first_good.get(channel)
            if t1 >= kill.t and (good is None or t0 <= good):
                outage = kill
        if outage is not None:
            in_outage[outage.what] += 1
            continue
        if label.startswith("5"):
            outside["no 5xx"].append(detail)
        elif label in ("conn-error", "timeout", "sql-conn") or label.startswith("sql-08"):
            outside["no connection errors"].append(detail)
        else:
            outside["only the contract's statuses"].append(detail)
    total = sum(ctx.counts.values())
    for name, details in outside.items():
        ctx.check(name, not details, lambda d=details: f"{len(d)} outside any outage, e.g. {d[:3]}", count=total)
    summary.update(errors=len(ctx.error_events), errors_in_outages=sum(in_outage.values()),
                   errors_outside=sum(len(d) for d in outside.values()), unknown_400=unknown_400,
                   in_outage=dict(in_outage))


def report(ctx, summary):
    labels = sorted({k[2] for k in ctx.counts}, key=lambda s: (not s.isdigit(), s))
    rows = sorted({(k[0], k[1]) for k in ctx.counts})
    print("\nrequests by operation and status:")
    print(f"  {'channel op':<24}{'total':>8}" + "".join(f"{label:>12}" for label in labels))
    for channel, op in rows:
        counts = [ctx.counts[(channel, op, label)] for label in labels]
        print(f"  {channel + ' ' + op:<24}{sum(counts):>8}" + "".join(f"{c:>12}" for c in counts))
    print("\nlatency (ms):")
    print(f"  {'channel op':<24}{'n':>8}{'p50':>10}{'p99':>10}")
    for channel, op in rows:
        values = ctx.latencies[(channel, op)]
        print(f"  {channel + ' ' + op:<24}{len(values):>8}{percentile(values, 50) * 1000:>10.1f}"
              f"{percentile(values, 99) * 1000:>10.1f}")
    total = sum(ctx.counts.values())
    http_n = sum(n for k, n in ctx.counts.items() if k[0] == "http")
    print(f"\nsummary: {summary['elapsed']:.0f} s, {total} requests ({http_n} HTTP, {total - http_n} SQL, "
          f"{total / summary['elapsed']:.0f}/s); errors {summary['errors']} ({summary['errors_in_outages']} in outages"
          f"{' ' + str(summary['in_outage']) if summary['in_outage'] else ''}, {summary['errors_outside']} outside), "
          f"outcome unknown {summary['unknown_400']} (400 with an empty code), writes of unknown outcome "
          f"{ctx.unknown_writes}")
    print(f"summary: acknowledged writes {sum(ctx.acked.values())} ({dict(ctx.acked)}); rows {summary.get('rows')}; "
          f"lost {summary.get('lost')}, resurrected {summary.get('resurrected')}, unexplained rows "
          f"{summary.get('phantom')}; rows written with an unknown outcome, found as before or as after: "
          f"{summary.get('outcome') or 'none'}")
    for kill in ctx.kills:
        parts = [f"{ch} {kill.first_good[ch] - kill.t:.1f} s" if ch in kill.first_good else f"{ch} never"
                 for ch in ("http", "sql")]
        print(f"summary: SIGKILL {kill.what} (pid {kill.pid}) at {kill.t - ctx.start:.1f} s: first good answer "
              f"after {', '.join(parts)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--crash", action="store_true")
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--pghost", required=True)
    parser.add_argument("--pgport", type=int, required=True)
    parser.add_argument("--pgdata", required=True)
    parser.add_argument("--db", default="soak")
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--lib", required=True, help="scripts/lib.sh (as_pg_user, to restart the postmaster)")
    parser.add_argument("--http-clients", type=int, default=32)
    parser.add_argument("--sql-clients", type=int, default=4)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--dump", help="write the error and good-answer timeline to this file (JSON)")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    args.sql_conninfo = psycopg.conninfo.make_conninfo(host=args.pghost, port=args.pgport, user="soak_sql",
                                                       dbname=args.db)
    with open(args.secret_file) as f:
        secret = f.read()
    ctx = Context(args)
    users = [f"user-{i:03d}" for i in range(args.users)]
    ctx.tokens = tokens = make_tokens(secret, users, int(args.seconds))

    clients = args.http_clients + args.sql_clients
    workers = []
    for tid in range(clients):
        mine = users[tid::clients]  # every user has exactly one writer
        channel = HttpChannel("127.0.0.1", args.http_port) if tid < args.http_clients else SqlChannel(args.sql_conninfo)
        workers.append(Worker(ctx, tid, channel, mine, tokens))
    log(f"{args.seconds:.0f} s, {args.http_clients} HTTP + {args.sql_clients} SQL clients, {args.users} users, "
        f"crash={'yes' if args.crash else 'no'}, seed {args.seed}")
    ctx.start = time.monotonic()
    for w in workers:
        w.start()
    chaos_thread = None
    if args.crash:
        chaos_thread = threading.Thread(target=chaos, args=(ctx,), daemon=True)
        chaos_thread.start()

    # Run for SECONDS; with --crash, also until both kills are done and both channels
    # answered well after the last one (at most 90 s more).
    end = ctx.start + args.seconds
    while True:
        time.sleep(0.2)
        now = time.monotonic()
        if now < end:
            continue
        if chaos_thread is None or now > end + 90:
            break
        if not chaos_thread.is_alive() and all(len(k.first_good) == 2 for k in ctx.kills):
            last = max((max(k.first_good.values()) for k in ctx.kills), default=0)
            if now > last + 2:
                break
    ctx.stop.set()
    for w in workers:
        w.join(60)
    if chaos_thread is not None:
        chaos_thread.join(5)
    summary = {"elapsed": time.monotonic() - ctx.start}
    log(f"load stopped after {summary['elapsed']:.1f} s; checking")

    if args.crash:
        for what in ("backend", "postmaster"):
            kill = next((k for k in ctx.kills if k.what == what), None)
            ok = kill is not None and "http" in kill.first_good and "sql" in kill.first_good
            ctx.check(f"crash: good answers again after the {what} kill", ok,
                      f"{what}: {'not killed' if kill is None else 'first good answers ' + str(kill.first_good)}")
    classify_errors(ctx, summary)
    # PostgREST must be answering before the lists can be checked.
    deadline = time.monotonic() + 60
    probe = HttpChannel("127.0.0.1", args.http_port)
    while probe.call("learnings_list", {"limit": 1}, tokens["admin"]).status != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    try:
        final_checks(ctx, workers, summary)
    except Exception:
        ctx.check("driver ran without exceptions", False, traceback.format_exc())
    check_server_log(ctx)

    if args.dump:
        with open(args.dump, "w") as f:
            json.dump({"start": ctx.start, "kills": [[k.what, k.t, k.first_good] for k in ctx.kills],
                       "errors": ctx.error_events, "good": ctx.good_events}, f)
    report(ctx, summary)
    print("\nchecks:")
    passed = failed = 0
    for name, (ok_count, bad_count, examples) in ctx.checks.items():
        if bad_count:
            failed += 1
            print(f"  FAIL {name}: {bad_count} failed, {ok_count} passed")
            for example in examples:
                print(f"       {short(example, 600)}")
        else:
            passed += 1
            print(f"  ok   {name} ({ok_count})")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
