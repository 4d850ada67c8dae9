"""The differential test: one seeded sequence of requests (all seven endpoints; admin,
scoped, read-only, no-`sub`, anonymous and bad-token callers; valid and invalid input;
ids created earlier in the sequence) sent both to agno 3.1.10's own AgentOS app (its JWT
authentication and user isolation, on a database of its own) and to the door. Statuses
and bodies must be equal after normalising timestamps and generated uuids; a difference
is either one of known_differences.DIFFERENCES (with its reason) or a mismatch, which
fails the test.

DOOR_STEPS (default 400) and DOOR_SEED (default 12) choose the sequence; it prints
`steps N, equal N, known differences N, mismatches N`.
"""

import json
import os
import random
import re
import time
import urllib.parse
from dataclasses import dataclass, field

import pytest

from conftest import connect
from known_differences import DIFFERENCES, explain

STEPS = int(os.environ.get("DOOR_STEPS", "400"))
SEED = int(os.environ.get("DOOR_SEED", "12"))

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMPS = ("created_at", "updated_at", "last_learning_updated_at")

USERS = ["u1", "u2", "u3", "u4"]
IDENTITY_TYPES = ["user_profile", "user_memory", "session_context", "entity_memory"]
OTHER_TYPES = ["decision_log", "note"]
SESSIONS = ["s1", "s2", "s 3", "sé4", "s/5"]
ENTITIES = ["acme", "bob", "ünïcode", "a b"]
ENTITY_TYPES = ["company", "person"]
NAMESPACES = [None, None, "global", "user", "team-a", ""]


@dataclass
class Step:
    n: int
    caller: str
    method: str
    path: str  # may hold {ref:LABEL}
    query: str = ""
    body: bytes = None
    headers: dict = field(default_factory=dict)
    route: str = "odd"
    json_body: object = None
    has_nul: bool = False
    non_finite: bool = False
    note: str = ""
    sent: str = ""

    def query_value(self, name):
        value = None
        for k, v in urllib.parse.parse_qsl(self.query, keep_blank_values=True):
            if k == name:
                value = v
        return value

    def target(self, refs):
        path = re.sub(r"\{ref:([^}]*)\}", lambda m: urllib.parse.quote(refs.get(m.group(1), m.group(1)), safe=""),
                      self.path)
        return path + ("?" + self.query if self.query else "")

    def describe(self):
        body = self.body[:200].decode("utf-8", "replace") if self.body else ""
        return f"#{self.n} {self.caller} {self.method} {self.path}{'?' + self.query if self.query else ''} {body}"


@dataclass
class Answer:
    status: int
    raw: object
    body: object


class Labels:
    """Generated uuids, named by the step that created them, per system."""

    def __init__(self):
        self.to_label = {"agno": {}, "door": {}}
        self.to_id = {"agno": {}, "door": {}}

    def add(self, label, agno_id, door_id):
        self.to_label["agno"][agno_id] = label
        self.to_label["door"][door_id] = label
        self.to_id["agno"][label] = agno_id
        self.to_id["door"][label] = door_id

    def normalise(self, system, value):
        if isinstance(value, dict):
            return {k: ("<ts>" if k in TIMESTAMPS and isinstance(v, int) else self.normalise(system, v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self.normalise(system, v) for v in value]
        if isinstance(value, str):
            if UUID.match(value):
                return self.to_label[system].get(value, "<unknown uuid>")
            for uuid, label in self.to_label[system].items():
                if uuid in value:
                    value = value.replace(uuid, label)
        return value


def answer(labels, system, status, raw_bytes):
    try:
        raw = json.loads(raw_bytes) if raw_bytes else None
    except ValueError:
        raw = raw_bytes.decode("utf-8", "replace")
    return Answer(status, raw, labels.normalise(system, raw))


class Sequence:
    """The seeded generator. It knows which records were created (by label) so that later
    steps name them, and which caller owns each."""

    def __init__(self, rng, tokens):
        self.rng = rng
        self.records = []  # [{"label", "owner", "type"}]
        self.uuid_labels = 0
        t = tokens
        rw = ("learnings:read", "learnings:write", "learnings:delete")
        self.auth = {
            "admin": "Bearer " + t.admin(),
            "u1": "Bearer " + t.make("u1", rw),
            "u2": "Bearer " + t.make("u2", rw),
            "u3": "Bearer " + t.make("u3", rw),
            "u4": "Bearer " + t.make("u4", rw),
            "ro": "Bearer " + t.make("u5", ("learnings:read",)),
            "wild": "Bearer " + t.make("u6", ("learnings:*:read", "learnings:write")),
            "nosub": "Bearer " + t.make(None, rw),
            "noscope": "Bearer " + t.make("u7", ()),
            "expired": "Bearer " + t.make("u1", rw, exp_in=-3600),
            "badsig": "Bearer " + t.make("u1", rw, secret="not the secret, not at all, no"),
            "garbage": "Bearer not-a-token",
            "bare": t.make("u1", rw),
            "lower": "bearer " + t.make("u2", rw),
            "anon": None,
        }

    def caller(self):
        r = self.rng.random()
        if r < 0.22:
            return "admin"
        if r < 0.72:
            return self.rng.choice(USERS)
        return self.rng.choice(["ro", "wild", "nosub", "noscope", "expired", "badsig", "garbage",
                                "bare", "lower", "anon", "ro", "nosub", "u1", "admin"])

    def own(self, caller):
        return {"u1": "u1", "u2": "u2", "u3": "u3", "u4": "u4", "ro": "u5", "wild": "u6",
                "lower": "u2", "bare": "u1"}.get(caller)

    def headers(self, caller, json_body=True):
        h = {}
        if self.auth[caller] is not None:
            h["Authorization"] = self.auth[caller]
        if json_body:
            h["Content-Type"] = "application/json"
        return h

    def pick(self, seq):
        return self.rng.choice(seq)

    def maybe(self, p=0.5):
        return self.rng.random() < p

    # --- ids ---------------------------------------------------------------------------
    def some_id(self, caller):
        r = self.rng.random()
        if self.records and r < 0.7:
            mine = [x for x in self.records if x["owner"] == self.own(caller)]
            pool = mine if mine and self.maybe(0.6) else self.records
            return "{ref:" + self.pick(pool)["label"] + "}"
        odd = ["nope", "user_profile_u9", "a%2Fb", "with%20space", "%C3%A9t%C3%A9", "x" * 3000,
               "memories_u1", "users", "session_context_s%2F5", "a%00b", "%E2%9C%93%F0%9F%98%80"]
        return self.pick(odd)

    # --- bodies ------------------------------------------------------------------------
    def content(self):
        return self.pick([
            {"name": "Alice", "n": self.rng.randint(0, 10**6)},
            {"facts": ["a", "b"], "nested": {"deep": [1, 2.5, None, True]}},
            {},
            {"big": 12345678901234567890, "unicode": "ünï ✓ 😀"},
        ])

    def create_body(self, caller):
        lt = self.rng.random()
        learning_type = (self.pick(IDENTITY_TYPES) if lt < 0.6 else self.pick(OTHER_TYPES) if lt < 0.95
                         else "")
        body = {"learning_type": learning_type, "content": self.content()}
        own = self.own(caller)
        r = self.rng.random()
        if r < 0.5:
            body["user_id"] = own or self.pick(USERS)
        elif r < 0.7:
            body["user_id"] = self.pick(USERS)
        elif r < 0.75:
            body["user_id"] = None
        elif r < 0.78:
            body["user_id"] = ""
        if learning_type == "session_context" or self.maybe(0.15):
            body["session_id"] = self.pick(SESSIONS)
        if learning_type == "entity_memory" or self.maybe(0.1):
            if self.maybe(0.9):
                body["entity_id"] = self.pick(ENTITIES)
            if self.maybe(0.9):
                body["entity_type"] = self.pick(ENTITY_TYPES)
            ns = self.pick(NAMESPACES + ["user_0123456789abcdef"] * (1 if self.maybe(0.1) else 0))
            if ns is not None or self.maybe(0.3):
                body["namespace"] = ns
        if self.maybe(0.2):
            body["agent_id"] = self.pick(["agent-1", "agent-2", ""])
        if self.maybe(0.1):
            body["team_id"] = "team-x"
        if self.maybe(0.3):
            body["metadata"] = self.pick([None, {"source": "diff"}, {"k": [1, 2]}])
        # invalid variants
        r = self.rng.random()
        if r < 0.04:
            body["content"] = "just a string"
        elif r < 0.06:
            del body["content"]
        elif r < 0.08:
            body["learning_type"] = 7
        elif r < 0.09:
            body["metadata"] = [1, 2]
        elif r < 0.10:
            body["content"] = None
        elif r < 0.11:
            body["unknown_key"] = 1
        return body

    def patch_body(self):
        r = self.rng.random()
        if r < 0.45:
            return {"content": self.content()}
        if r < 0.55:
            return {"content": self.content(), "metadata": self.pick([None, {"m": 1}])}
        if r < 0.62:
            return {"metadata": {"only": "meta"}}
        if r < 0.70:
            return {}
        if r < 0.80:
            return {"content": None}
        if r < 0.86:
            return {"user_id": "u9", "content": {"x": 1}}
        if r < 0.90:
            return {"content": "text"}
        if r < 0.94:
            return {"metadata": 5}
        return []

    # --- steps -------------------------------------------------------------------------
    def step(self, n):
        caller = self.caller()
        kind = self.rng.random()
        if kind < 0.30:
            return self.create(n, caller)
        if kind < 0.45:
            return self.list(n, caller)
        if kind < 0.52:
            return self.users(n, caller)
        if kind < 0.64:
            return self.get(n, caller)
        if kind < 0.78:
            return self.update(n, caller)
        if kind < 0.86:
            return self.delete(n, caller)
        if kind < 0.91:
            return self.delete_user(n, caller)
        return self.odd(n, caller)

    def tail_query(self, parts):
        r = self.rng.random()
        if r < 0.04:
            parts.append("table=agno_learnings")
        elif r < 0.07:
            parts.append("db_id=agno_door")
        elif r < 0.09:
            parts.append("db_id=agno_door&table=agno_learnings")
        elif r < 0.11:
            parts.append("db_id=elsewhere")
        elif r < 0.12:
            parts.append("db_id=agno_door&table=nope")
        return "&".join(parts)

    def create(self, n, caller):
        body = self.create_body(caller)
        raw = json.dumps(body).encode()
        headers = self.headers(caller)
        r = self.rng.random()
        note = ""
        if r < 0.03:
            raw = b'{"learning_type": "decision_log", "content": {"a": 1},}'
        elif r < 0.05:
            raw = b"not json"
        elif r < 0.06:
            headers["Content-Type"] = "text/plain"
        elif r < 0.07:
            raw = b""
        elif r < 0.08:
            raw = b'{"learning_type": "decision_log", "content": {"x": NaN}}'
            note = "nan"
        step = Step(n, caller, "POST", "/learnings", self.tail_query([]), raw, headers, "create",
                    json_body=body if raw == json.dumps(body).encode() else None, note=note)
        step.non_finite = note == "nan"
        return step

    def list_query(self, users=False):
        parts = []
        if self.maybe(0.3):
            parts.append("user_id=" + urllib.parse.quote(self.pick(USERS + ["u5", ""])))
        if self.maybe(0.3):
            parts.append("learning_type=" + self.pick(IDENTITY_TYPES + OTHER_TYPES))
        if not users:
            for name, pool in (("session_id", SESSIONS), ("entity_type", ENTITY_TYPES),
                               ("namespace", ["global", "user", "team-a"]), ("agent_id", ["agent-1"])):
                if self.maybe(0.08):
                    parts.append(name + "=" + urllib.parse.quote(self.pick(pool)))
        if self.maybe(0.5):
            parts.append("limit=" + self.pick(["1", "2", "5", "100", "0", "1001", "abc", "1.5", "%203", "+4", "2.0", "1_0",
                                               "-1"]))
        if self.maybe(0.4):
            parts.append("page=" + self.pick(["1", "2", "3", "0", "x", "1.5"]))
        if self.maybe(0.3):
            parts.append("sort_by=" + self.pick(["created_at", "updated_at", "user_id", "nonsense",
                                                 "last_learning_updated_at"]))
        if self.maybe(0.3):
            parts.append("sort_order=" + self.pick(["asc", "desc", "ASC", "up", ""]))
        return self.tail_query(parts)

    def list(self, n, caller):
        return Step(n, caller, "GET", "/learnings", self.list_query(), None, self.headers(caller, False), "list")

    def users(self, n, caller):
        return Step(n, caller, "GET", self.pick(["/learnings/users", "/learnings/users/"]),
                    self.list_query(users=True), None, self.headers(caller, False), "users")

    def get(self, n, caller):
        rid = self.some_id(caller)
        return Step(n, caller, "GET", "/learnings/" + rid, self.tail_query([]), None,
                    self.headers(caller, False), "get", has_nul="%00" in rid)

    def update(self, n, caller):
        rid = self.some_id(caller)
        body = self.patch_body()
        return Step(n, caller, "PATCH", "/learnings/" + rid, self.tail_query([]), json.dumps(body).encode(),
                    self.headers(caller), "update", json_body=body, has_nul="%00" in rid)

    def delete(self, n, caller):
        rid = self.some_id(caller)
        return Step(n, caller, "DELETE", "/learnings/" + rid, self.tail_query([]), None,
                    self.headers(caller, False), "delete", has_nul="%00" in rid)

    def delete_user(self, n, caller):
        user = self.pick(USERS + ["u5", "nobody", "a%2Fb"]) if self.maybe(0.6) else (self.own(caller) or "u1")
        parts = []
        if self.maybe(0.4):
            parts.append("learning_type=" + self.pick(IDENTITY_TYPES + OTHER_TYPES))
        return Step(n, caller, "DELETE", "/learnings/users/" + user, self.tail_query(parts), None,
                    self.headers(caller, False), "delete_user")

    def odd(self, n, caller):
        method, path = self.pick([
            ("PUT", "/learnings"), ("POST", "/learnings/x"), ("GET", "/learnings/a/b"),
            ("DELETE", "/learnings"), ("PATCH", "/learnings"), ("POST", "/learnings/users"),
            ("GET", "/learnings/users/u1"), ("OPTIONS", "/learnings"), ("DELETE", "/learnings/a/b/c"),
            ("GET", "/learnings//"), ("GET", "/learnings//x"),
        ])
        return Step(n, caller, method, path, "", None, self.headers(caller, False))

    def created(self, step, agno, door, labels):
        """Remember what a successful create made (both systems made it)."""
        if step.route != "create" or agno.status != 201 or door.status != 201:
            return
        a_id, d_id = agno.raw["learning_id"], door.raw["learning_id"]
        if UUID.match(a_id) and UUID.match(d_id):
            self.uuid_labels += 1
            label = f"uuid#{step.n}"
            labels.add(label, a_id, d_id)
        else:
            label = a_id
        self.records.append({"label": label, "owner": agno.raw.get("user_id"), "type": agno.raw["learning_type"]})


def _ids(step, labels):
    """The (agno id, door id) a get/update/delete step names, or None."""
    m = re.match(r"^/learnings/\{ref:([^}]*)\}$", step.path)
    if m:
        label = m.group(1)
        return labels.to_id["agno"].get(label, label), labels.to_id["door"].get(label, label)
    m = re.match(r"^/learnings/([^/]+)$", step.path)
    if m:
        rid = urllib.parse.unquote(m.group(1))
        return rid, rid
    return None


class Mirror:
    """After a step the two systems answered differently (a known difference), the record
    it touched is made the same on agno's side as on ours, directly in agno's table, so
    that one difference does not turn every later list into another."""

    COLUMNS = ("learning_type", "namespace", "user_id", "agent_id", "team_id", "session_id",
               "entity_id", "entity_type", "content", "metadata", "created_at", "updated_at")

    def __init__(self, door_db, peer_db):
        self.door = connect(door_db)
        self.peer = connect(peer_db)

    def row(self, conn, learning_id):
        cols = ", ".join(c + ("::text" if c in ("content", "metadata") else "") for c in self.COLUMNS)
        return conn.execute(f"SELECT {cols} FROM ai.agno_learnings WHERE learning_id = %s",
                            (learning_id,)).fetchone()

    def resync(self, labels):
        """agno's table becomes ours, row for row (generated ids mapped by their labels)."""
        cols = ", ".join(c + ("::text" if c in ("content", "metadata") else "") for c in self.COLUMNS)
        rows = self.door.execute(f"SELECT learning_id, {cols} FROM ai.agno_learnings").fetchall()
        values = ", ".join("%s::jsonb" if c in ("content", "metadata") else "%s" for c in self.COLUMNS)
        with self.peer.transaction():
            self.peer.execute("DELETE FROM ai.agno_learnings")
            for row in rows:
                label = labels.to_label["door"].get(row[0], row[0])
                agno_id = labels.to_id["agno"].get(label, row[0])
                self.peer.execute(f"INSERT INTO ai.agno_learnings (learning_id, {', '.join(self.COLUMNS)}) "
                                  f"VALUES (%s, {values})", (agno_id, *row[1:]))

    def state(self, labels):
        """Both tables, normalised (for DOOR_CHECK_STATE=1: where do they part?)."""
        out = []
        for system, conn in (("agno", self.peer), ("door", self.door)):
            rows = conn.execute("SELECT learning_id, user_id, learning_type, content::text, NULLIF(metadata::text, 'null') "
                                "FROM ai.agno_learnings").fetchall()
            out.append(sorted((labels.normalise(system, r[0]),) + tuple(r[1:]) for r in rows))
        return out

    def after(self, step, agno, door, labels):
        if step.method == "POST" and door.status == 201 and agno.status != 201:
            # A record only we made: not named by later steps, and gone from both.
            self.door.execute("DELETE FROM ai.agno_learnings WHERE learning_id = %s", (door.raw["learning_id"],))
        if step.method not in ("GET", "HEAD", "OPTIONS"):
            self.resync(labels)


def send(client, system, step, labels):
    refs = labels.to_id[system]
    target = step.target(refs)
    step.sent = target
    for attempt in range(5):
        status, headers, raw = client.request(step.method, target, step.headers, step.body)
        # A 503 with Retry-After is the door saying PostgREST could not serve the request
        # now (e.g. its pool reconnecting): a client retries, and so does the test.
        if not (system == "door" and status == 503 and "retry-after" in headers):
            break
        RETRIED.append(step.n)
        time.sleep(1)
    return answer(labels, system, status, raw)


RETRIED = []


@pytest.fixture(scope="module")
def clean_tables(door, agentos, tokens, door_db, peer_db):
    # agno creates its table on first use; then both start empty.
    agentos.json("GET", "/learnings", tokens.admin())
    deadline = time.time() + 30
    while door.json("GET", "/learnings", tokens.admin())[0] != 200:
        assert time.time() < deadline, "the door does not answer 200 to an admin's list"
        time.sleep(0.5)
    with connect(door_db) as conn:
        conn.execute("TRUNCATE ai.agno_learnings")
    with connect(peer_db) as conn:
        conn.execute("TRUNCATE ai.agno_learnings")


def test_differential(door, agentos, tokens, clean_tables, door_db, peer_db, capsys):
    mirror = Mirror(door_db, peer_db)
    rng = random.Random(SEED)
    seq = Sequence(rng, tokens)
    labels = Labels()
    equal = 0
    known = {}
    mismatches = []
    for n in range(1, STEPS + 1):
        step = seq.step(n)
        a = send(agentos, "agno", step, labels)
        d = send(door, "door", step, labels)
        seq.created(step, a, d, labels)
        if a.status == d.status and a.body == d.body:
            equal += 1
            continue
        key = explain(step, a, d)
        mirror.after(step, a, d, labels)
        if os.environ.get("DOOR_CHECK_STATE") == "1":
            agno_rows, door_rows = mirror.state(labels)
            assert agno_rows == door_rows, (step.describe(), a.status, d.status,
                                            set(agno_rows) ^ set(door_rows))
        if key:
            known[key] = known.get(key, 0) + 1
            continue
        mismatches.append((step, a, d))

    print()
    for step, a, d in mismatches[:40]:
        print("MISMATCH", step.describe())
        print("   agno:", a.status, json.dumps(a.body)[:400])
        print("   door:", d.status, json.dumps(d.body)[:400])
    print("known differences by kind:", ", ".join(f"{k} {v}" for k, v in sorted(known.items())) or "none")
    summary = (f"steps {STEPS}, equal {equal}, known differences {sum(known.values())}, "
               f"mismatches {len(mismatches)}")
    if RETRIED:
        print(f"retried after the door's 503 (Retry-After): steps {sorted(set(RETRIED))}")
    print(summary)
    with capsys.disabled():
        print("\n" + summary)
    with open(os.environ.get("DOOR_SUMMARY_FILE", "/dev/null"), "w") as f:
        f.write(summary + "\n")
    assert STEPS >= 400 or os.environ.get("DOOR_STEPS"), "the differential test runs at least 400 steps"
    assert not mismatches, f"{len(mismatches)} mismatches (see above); {summary}"
    # The sequence must exercise what it claims to: every route, created ids reused.
    assert len(seq.records) >= 20, "too few records were created for later steps to name"
    assert equal >= STEPS // 2


def test_known_differences_have_reasons():
    for d in DIFFERENCES:
        assert d.key and d.what.strip() and d.why.strip(), d.key
