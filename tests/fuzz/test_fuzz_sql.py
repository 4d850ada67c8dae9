"""Fuzzing the SQL API through psycopg, with parameters: each of the seven functions,
learnings_authenticate and learnings_register_table, called as a superuser and as the
client role (learnings_user) whose caller comes from trusted claims or from a token it
verifies itself.

Properties, after every example:
- a refusal carries an accepted SQLSTATE (fuzzsupport: the contract's, and PostgreSQL's
  own input refusals), never XX000, and leaves the tables, the registry and the list
  totals byte-identical;
- the connection still works (the backend did not crash);
- an accepted call keeps every stored text printable (no embedded NUL) and the lists'
  totals equal to the row counts;
- an accepted create reads back exactly (learnings_get returns the record create
  returned, with the content, metadata and identity fields that were sent); an accepted
  update reads back too; a list's meta agrees with the page asked for;
- a token every verifier must refuse is never accepted.
"""

import json
import math
import os
import re

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg import sql

import fuzzstrategies as fs
from fuzzsupport import (INPUT_SQLSTATES, REGISTER_ACCEPTED, REGISTERED, SQL_ACCEPTED,
                         check_invariants, check_sqlstate, connect, dumps, note)

CAST = {"text": "text", "jsonb": "jsonb", "int": "int4"}
INT_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
DEFAULT_LIMIT = {"learnings_list": 100, "learnings_list_users": 20}
IDENTITY = ("agent_id", "team_id", "session_id", "entity_id", "entity_type")


@pytest.fixture
def caller(fresh):
    """The connection the calls are made on (one per test: it must survive every example)."""
    conn = connect(autocommit=False)
    yield conn
    conn.close()


def call_statement(function, args):
    parts, params = [], []
    for name, (kind, value) in args.items():
        parts.append(sql.SQL("{} => {}::" + CAST[kind]).format(sql.Identifier(name), sql.Placeholder()))
        params.append(value)
    call = sql.SQL("ai.{}({})").format(sql.Identifier(function), sql.SQL(", ").join(parts))
    if function in ("learnings_delete", "learnings_delete_user"):
        return sql.SQL("SELECT {}").format(call), params
    return sql.SQL("SELECT ({})::text").format(call), params


# ---------------------------------------------------------------------------------------
# who calls


@st.composite
def callers(draw, env, mode):
    """How the transaction is set up: the role, where the identity comes from, read-only,
    PostgREST's error form (request.method set)."""
    secret = env.api.secret
    if mode == "superuser":
        auth = draw(st.sampled_from(["none"] * 9 + ["token", "claims"]))
    else:
        auth = draw(st.sampled_from(["claims"] * 6 + ["token"] * 2 + ["none"]))
    how = {"mode": mode, "auth": auth, "read_only": draw(st.integers(0, 11)) == 0,
           "request_method": mode == "client" and draw(st.integers(0, 9)) == 0}
    if auth == "claims":
        form = draw(st.sampled_from(["good"] * 10 + ["json"] * 5 + ["not json", "not an object"]))
        if form in ("good", "json"):
            how["claims"] = draw(fs.good_claims() if form == "good" else fs.claims())
            how["claims_text"] = dumps(how["claims"])
        elif form == "not json":
            how["claims_text"] = draw(st.text(fs.SQL_CHARS, max_size=20))
        else:
            how["claims_text"] = dumps(draw(fs.json_values(3)))
    elif auth == "token":
        how["token"] = draw(fs.tokens(secret))
    return how


def subject(how):
    """The user id the caller's claims name, when it is a non-empty string."""
    claims = how.get("claims")
    if how["auth"] == "token":
        try:
            claims = json.loads(fs.decoded_segments(how["token"])[1])
        except (TypeError, ValueError, IndexError):
            return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) and sub else None


class Refused(Exception):
    def __init__(self, code, message, where):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.where = code, message, where


def sqlstate_of(error, how):
    """The SQLSTATE a client sees; with request.method set the API answers in PostgREST's
    PGRST form, whose JSON message holds the contract's code."""
    code = error.sqlstate
    if code == "PGRST" and how.get("request_method"):
        body = json.loads(error.diag.message_primary)
        detail = json.loads(error.diag.message_detail)
        assert body["code"] in SQL_ACCEPTED and body["code"] not in INPUT_SQLSTATES, body
        assert isinstance(detail.get("status"), int), detail
        return body["code"]
    return code


def run(conn, how, statement, params):
    """One transaction: set up the caller, run the statement, commit. Raises Refused."""
    where = "setup"
    try:
        if how["read_only"]:
            conn.execute("SET TRANSACTION READ ONLY")
        if how["mode"] == "client":
            # This session's claims are believed, as PostgREST's authenticator's are.
            conn.execute("SELECT set_config('agno_learnings.claims_login_roles', session_user, true)")
        if how["auth"] == "claims":
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (how["claims_text"],))
        if how.get("request_method"):
            conn.execute("SELECT set_config('request.method', 'POST', true)")
        if how["mode"] == "client":
            conn.execute("SET LOCAL ROLE learnings_user")
        if how["auth"] == "token":
            where = "authenticate"
            conn.execute("SELECT ai.learnings_authenticate(%s)", (str(how["token"]),))
        where = "call"
        row = conn.execute(statement, params).fetchone()
        conn.commit()
        return row[0] if row else None
    except psycopg.Error as error:
        if error.sqlstate is None:
            raise AssertionError(f"the connection failed at {where}: {error!r}") from error
        conn.rollback()
        raise Refused(sqlstate_of(error, how), str(error), where) from error


def token_accepted(how):
    """A token must be refused: it was accepted by learnings_authenticate."""
    token = how.get("token")
    if token is None:
        return
    assert not token.must_reject, f"learnings_authenticate accepted a {token.kind} token: {token!r}"
    assert len(str(token).strip()) <= 16 * 1024, \
        f"learnings_authenticate accepted a token over 16 kB ({len(token)} bytes)"


def check_refusal(env, conn, refused, accepted, before, context, how, function, casts=()):
    check_sqlstate(refused.code, accepted, context)
    if refused.code in INPUT_SQLSTATES:
        assert refused.where == "call" and env.observer.input_refuses(casts, refused.code), \
            f"{refused.code} raised by the extension, not by an argument's input function: {context}"
    if refused.code == "25006":
        assert how["read_only"] and function in fs.WRITERS | {"learnings_register_table"}, \
            f"25006 outside a read-only write: {context}"
    after = env.observer.snapshot()
    assert after == before, f"a refused call ({refused.code}) changed the tables: {context}\n{before}\n{after}"
    # The session goes on: the backend is alive and the transaction was rolled back.
    assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.rollback()


def expected_int(args, name, default):
    if name not in args:
        return default
    value = args[name][1]
    if value is None:
        return default
    return int(value) if INT_TEXT.fullmatch(value) else None


def value_of(args, name):
    return args[name][1] if name in args else None


# ---------------------------------------------------------------------------------------
# what an accepted call must have done


def check_accepted(env, function, args, how, result, before, context):
    observer = env.observer
    token_accepted(how)
    check_invariants(observer, context)
    if function not in fs.WRITERS:
        assert observer.snapshot() == before, f"a read changed the tables: {context}"
    db_id, table = value_of(args, "db_id"), value_of(args, "table")
    if function in ("learnings_list", "learnings_list_users"):
        envelope = json.loads(result)
        meta = envelope["meta"]
        limit = expected_int(args, "limit", DEFAULT_LIMIT[function])
        page = expected_int(args, "page", 1)
        if limit is not None:
            assert meta["limit"] == limit, (meta, context)
        if page is not None:
            assert meta["page"] == page, (meta, context)
        assert len(envelope["data"]) <= meta["limit"], context
        assert meta["total_pages"] == math.ceil(meta["total_count"] / meta["limit"]), (meta, context)
    elif function == "learnings_get":
        assert json.loads(result)["learning_id"] == value_of(args, "learning_id"), context
    elif function == "learnings_create":
        check_create(observer, args, how, result, db_id, table, context)
    elif function == "learnings_update":
        check_update(observer, args, result, db_id, table, context)
    elif function == "learnings_delete":
        assert not exists(observer, value_of(args, "learning_id"), db_id, table), f"delete left the row: {context}"
    elif function == "learnings_delete_user":
        kept = observer.one(
            "SELECT count(*) FROM (SELECT user_id, learning_type FROM ai.agno_learnings"
            " WHERE %s::text IS NULL OR %s::text = '' OR %s::text = 'agno_learnings'"
            " UNION ALL SELECT user_id, learning_type FROM tenant.learnings WHERE %s::text = 'tenant_learnings') t"
            " WHERE user_id = %s AND (%s::text IS NULL OR learning_type = %s)",
            (table, table, table, table, value_of(args, "user_id"), value_of(args, "learning_type"),
             value_of(args, "learning_type")))
        assert kept == 0, f"delete_user left {kept} rows: {context}"


def exists(observer, learning_id, db_id, table):
    table_sql = "tenant.learnings" if table == "tenant_learnings" else "ai.agno_learnings"
    return observer.one(f"SELECT count(*) FROM {table_sql} WHERE learning_id = %s", (learning_id,)) > 0


def read_back(observer, learning_id, db_id, table):
    return observer.one("SELECT ai.learnings_get(learning_id => %s, db_id => %s, \"table\" => %s)::text",
                        (learning_id, db_id, table))


def check_create(observer, args, how, result, db_id, table, context):
    record = json.loads(result)
    stored = read_back(observer, record["learning_id"], db_id, table)
    same = observer.one(
        "SELECT %s::jsonb = %s::jsonb AND %s::jsonb -> 'content' = %s::jsonb"
        " AND coalesce(%s::jsonb -> 'metadata', 'null') = coalesce(%s::jsonb, 'null')",
        (stored, result, stored, value_of(args, "content"), stored, value_of(args, "metadata")))
    assert same, f"a create reads back differently: {context}\ncreated {result}\nread    {stored}"
    assert record["learning_type"] == value_of(args, "learning_type"), (record, context)
    for name in IDENTITY:
        assert record[name] == value_of(args, name), (name, record, context)
    given_user = value_of(args, "user_id")
    if given_user is not None:
        assert record["user_id"] == given_user, (record, context)
    elif record["user_id"] is not None:
        assert record["user_id"] == subject(how), \
            f"the record's owner is not the caller's subject {subject(how)!r}: {record['user_id']!r}: {context}"
    namespace = value_of(args, "namespace")
    if namespace:
        assert record["namespace"] == namespace, (record, context)
    else:
        expected = "global" if record["learning_type"] == "entity_memory" else None
        assert record["namespace"] == expected, (record, context)


def check_update(observer, args, result, db_id, table, context):
    record = json.loads(result)
    assert record["learning_id"] == value_of(args, "learning_id"), context
    stored = read_back(observer, record["learning_id"], db_id, table)
    changes = value_of(args, "changes")
    same = observer.one(
        "SELECT %s::jsonb = %s::jsonb"
        " AND (NOT %s::jsonb ? 'content' OR %s::jsonb -> 'content' = %s::jsonb -> 'content')"
        " AND (NOT %s::jsonb ? 'metadata' OR %s::jsonb -> 'metadata' = %s::jsonb -> 'metadata')",
        (stored, result, changes, stored, changes, changes, stored, changes))
    assert same, f"an update reads back differently: {context}\nupdated {result}\nread    {stored}"


# ---------------------------------------------------------------------------------------
# the tests

VERBOSE = os.environ.get("FUZZ_VERBOSE") == "1"


def trace(line):
    """FUZZ_VERBOSE=1 prints every example's call and outcome (run pytest with -s)."""
    if VERBOSE:
        print(line[:2000])


def describe(function, args, how):
    shown = {k: (v if not isinstance(v, str) or len(v) < 200 else f"{v[:60]}…({len(v)} chars)")
             for k, (_, v) in args.items()}
    who = {k: (str(v)[:300] if k in ("token", "claims_text") else v) for k, v in how.items() if k != "claims"}
    return f"{function}({shown}) as {who}"


def fuzz_one(env, conn, function, args, how, accepted=SQL_ACCEPTED):
    statement, params = call_statement(function, args)
    before = env.observer.snapshot()
    context = describe(function, args, how)
    try:
        result = run(conn, how, statement, params)
    except Refused as refused:
        context += f" -> {refused.code} at {refused.where}: {refused.message[:300]}"
        note(f"refused {refused.code} at {refused.where}")
        trace(context)
        casts = [(value, CAST[kind]) for kind, value in args.values() if kind != "text"]
        check_refusal(env, conn, refused, accepted, before, context, how, function, casts)
        return
    note("accepted")
    trace(context + " -> accepted")
    check_accepted(env, function, args, how, result, before, context)
    assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.rollback()


@pytest.mark.parametrize("function", fs.FUNCTIONS)
@pytest.mark.parametrize("mode", ["superuser", "client"])
@given(data=st.data())
def test_functions(fresh, caller, function, mode, data):
    how = data.draw(callers(fresh, mode), label="caller")
    args = data.draw(fs.arguments(function), label="arguments")
    fuzz_one(fresh, caller, function, args, how)


@pytest.mark.parametrize("mode", ["superuser", "client"])
@given(data=st.data())
def test_authenticate(fresh, caller, mode, data):
    """learnings_authenticate with any token (and any text), each in a savepoint, then a
    list and a create in the same transaction. A token is refused with PT401 unless it
    may be accepted; an accepted one names its subject; a refused one (its savepoint
    rolled back, the transaction going on) leaves no identity behind: the client role
    is still refused with PT401."""
    secret = fresh.api.secret
    token = data.draw(st.one_of(fs.tokens(secret), fs.tokens(secret).map(lambda t: _prefixed("Bearer ", t)),
                                fs.tokens(secret).map(lambda t: _prefixed(" \t", t)), st.none(), fs.sql_text),
                      label="token")
    second = data.draw(st.one_of(st.none(), fs.tokens(secret)), label="second token")
    read_only = data.draw(st.integers(0, 9), label="read only") == 0
    authenticate_then_use(fresh, caller, mode, token, second, read_only)


def authenticate_then_use(fresh, caller, mode, token, second=None, read_only=False):
    before = fresh.observer.snapshot()
    context = f"authenticate({str(token)[:300]!r}) then ({str(second)[:300]!r}) as {mode}, read only {read_only}"
    accepted = []
    try:
        if read_only:
            caller.execute("SET TRANSACTION READ ONLY")
        if mode == "client":
            caller.execute("SET LOCAL ROLE learnings_user")
        for presented in ([token, second] if second is not None else [token]):
            caller.execute("SAVEPOINT before_token")
            try:
                result = caller.execute("SELECT ai.learnings_authenticate(%s)::text",
                                        (None if presented is None else str(presented),)).fetchone()[0]
            except psycopg.Error as error:
                if error.sqlstate is None:
                    raise AssertionError(f"the connection failed: {error!r}: {context}") from error
                note(f"authenticate refused {error.sqlstate}")
                check_sqlstate(error.sqlstate, {"PT401": ""}, f"{context} -> {error}")
                caller.execute("ROLLBACK TO SAVEPOINT before_token")
                continue
            note("authenticate accepted")
            if isinstance(presented, fs.Token):
                assert not presented.must_reject, f"accepted a {presented.kind} token: {context}"
            assert len(str(presented).strip()) <= 16 * 1024 + len("Bearer "), f"accepted a token over 16 kB: {context}"
            claims = json.loads(result)
            assert set(claims) >= {"user_id", "scopes", "admin"}, claims
            accepted.append(presented)
        # The transaction goes on, as whoever the tokens made it (or nobody).
        for statement in ("SELECT ai.learnings_list()::text",
                          "SELECT ai.learnings_create(learning_type => 'decision_log', content => '{}')::text"):
            caller.execute("SAVEPOINT use")
            try:
                caller.execute(statement)
                used = None
            except psycopg.Error as error:
                if error.sqlstate is None:
                    raise AssertionError(f"the connection failed: {error!r}: {context}") from error
                used = error.sqlstate
                check_sqlstate(used, SQL_ACCEPTED, f"{context} -> {statement}: {error}")
                caller.execute("ROLLBACK TO SAVEPOINT use")
            if mode == "client" and not accepted:
                assert used == "PT401", \
                    f"a refused token left an identity behind ({statement} -> {used or 'accepted'}): {context}"
        caller.commit()
    except psycopg.Error as error:
        if error.sqlstate is None:
            raise AssertionError(f"the connection failed: {error!r}: {context}") from error
        caller.rollback()
        raise
    check_invariants(fresh.observer, context)
    if not accepted and mode == "client":
        assert fresh.observer.snapshot() == before, f"tables changed without an accepted token: {context}"
    assert caller.execute("SELECT 1").fetchone() == (1,)
    caller.rollback()


def _prefixed(prefix, token):
    out = fs.Token(prefix + token)
    out.kind, out.must_reject, out.original = token.kind, token.must_reject, token.original
    return out


@pytest.mark.parametrize("mode", ["superuser", "client"])
@given(target=fs.register_targets, name=st.one_of(st.none(), fs.sql_text,
                                                  st.sampled_from(sorted(REGISTERED) + ["spare_learnings"])),
       read_only=st.integers(0, 9))
def test_register_table(fresh, caller, mode, target, name, read_only):
    """learnings_register_table with any relation name (regclass input) and any name:
    superusers only; refusals leave tables and registry unchanged; an accepted
    registration is in the registry and reachable."""
    how = {"mode": mode, "auth": "none", "read_only": read_only == 0}
    statement = "SELECT ai.learnings_register_table(%s::regclass, %s::text)"
    before = fresh.observer.snapshot()
    context = f"learnings_register_table({target[:200]!r}, {name if name is None else name[:200]!r}) as {how}"
    try:
        registered = run(caller, how, statement, (target, name))
    except Refused as refused:
        context += f" -> {refused.code}: {refused.message[:300]}"
        note(f"refused {refused.code}")
        check_refusal(fresh, caller, refused, REGISTER_ACCEPTED, before, context, how, "learnings_register_table",
                      [(target, "regclass")])
        return
    note("accepted")
    assert mode == "superuser", f"a client role registered a table: {context}"
    check_invariants(fresh.observer, context)
    assert registered == (name or registered), context
    assert fresh.observer.one("SELECT count(*) FROM agno_learnings_internal.learnings_tables WHERE name = %s",
                              (registered,)) == 1, context
    # Reachable under its name.
    listed = fresh.observer.one("SELECT ai.learnings_list(db_id => current_database(), \"table\" => %s)::text",
                                (registered,))
    assert "meta" in json.loads(listed), context
    if registered not in REGISTERED:
        fresh.observer.one("SELECT ai.learnings_unregister_table(%s)", (registered,))


# ---------------------------------------------------------------------------------------
# Inputs the fuzzing found, run every time (their minimal forms).

NUL_SUBJECT = {"sub": "a\u0000b", "scopes": ["learnings:read", "learnings:write"], "exp": fs.NOW + 3600}


def test_found_a_subject_holding_nul_via_trusted_claims(fresh, caller):
    """Trusted claims (PostgREST's door) whose subject holds U+0000 (found by
    test_functions[client-learnings_create]): the create must be refused, not store a
    user_id whose text holds a NUL byte (it reads back cut short, "a", in learnings_get,
    in every client and in pg_dump, and its owner is no longer the subject)."""
    how = {"mode": "client", "auth": "claims", "read_only": False, "request_method": False,
           "claims": NUL_SUBJECT, "claims_text": dumps(NUL_SUBJECT)}
    args = {"learning_type": ("text", "session_context"), "session_id": ("text", "s-nul"),
            "content": ("jsonb", "{}")}
    fuzz_one(fresh, caller, "learnings_create", args, how)


@pytest.mark.parametrize("mode", ["superuser", "client"])
def test_found_a_token_whose_subject_holds_nul(fresh, caller, mode):
    """learnings_authenticate of a valid token whose subject holds U+0000 (found by
    test_authenticate): refused with PT401, not 22P05 (the summary it returns cannot be
    jsonb), and, in a savepoint with the transaction going on, no identity left behind
    (the failed call had already made the token's claims the caller's)."""
    token = fs.Token(fs.hs({"alg": "HS256", "typ": "JWT"}, NUL_SUBJECT, fresh.api.secret))
    authenticate_then_use(fresh, caller, mode, token)


def test_found_a_token_whose_scopes_hold_nul(fresh, caller):
    """learnings_authenticate of a valid token one of whose scopes holds U+0000: accepted
    or refused with PT401, never 22P05 (the summary it returns, with the scopes, cannot be
    jsonb); and a refused call, its savepoint rolled back, leaves no identity behind
    (found with the subject case above: the claims are made the caller's before the
    summary is returned)."""
    claims = {"sub": "alice", "scopes": ["learnings:read", "learnings:write", "x\u0000"], "exp": fs.NOW + 3600}
    token = fs.Token(fs.hs({"alg": "HS256", "typ": "JWT"}, claims, fresh.api.secret))
    authenticate_then_use(fresh, caller, "client", token)
