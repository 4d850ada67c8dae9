"""Contract section 6: the API over HTTP through a real PostgREST 12, with AgentOS's
statuses for AgentOS's tokens (sub + scopes, no role claim)."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request

import jwt
import pytest

from conftest import CITUS_WORKERS, REPO, Api, create_database, drop_database, postgrest, run_sql


def call(api, method, path, token=None, body=None, params=None, headers=None, raw_body=None):
    url = api.base + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    assert status != 500 and status < 500, f"{method} {path}: {status} {text}"
    return status, (json.loads(text) if text.strip() else None), text


@pytest.fixture(autouse=True)
def learnings(api):
    """alice's profile, bob's profile and a shared entity record."""
    run_sql(api.db, "TRUNCATE ai.agno_learnings")
    run_sql(api.db, """
        INSERT INTO ai.agno_learnings (learning_id, learning_type, namespace, user_id, entity_id, entity_type,
                                       content, created_at, updated_at) VALUES
            ('user_profile_alice', 'user_profile', NULL, 'alice', NULL, NULL, '{"name": "Alice"}', 1, 1),
            ('user_profile_bob', 'user_profile', NULL, 'bob', NULL, NULL, '{"name": "Bob"}', 2, 2),
            ('entity_global_company_acme', 'entity_memory', 'global', NULL, 'acme', 'company', '{"facts": []}', 3, 3)
    """)


def ids(envelope):
    return [r["learning_id"] for r in envelope["data"]]


def test_list_is_bound_to_the_caller(api):
    status, body, _ = call(api, "GET", "/rpc/learnings_list", api.token())
    assert status == 200
    assert ids(body) == ["entity_global_company_acme", "user_profile_alice"]
    assert body["meta"] == {"page": 1, "limit": 100, "total_pages": 1, "total_count": 2}
    # A page size goes in a POST body: PostgREST keeps ?limit= for itself.
    status, body, _ = call(api, "POST", "/rpc/learnings_list", api.token(), {"limit": 1, "page": 2})
    assert status == 200 and body["meta"]["limit"] == 1 and ids(body) == ["user_profile_alice"]


def test_another_users_learnings_are_403(api):
    status, body, _ = call(api, "GET", "/rpc/learnings_list", api.token(), params={"user_id": "bob"})
    assert status == 403, body
    assert body["code"] == "42501" and "another user" in body["message"]
    status, _, _ = call(api, "GET", "/rpc/learnings_list_users", api.token(), params={"user_id": "bob"})
    assert status == 403
    status, _, _ = call(api, "POST", "/rpc/learnings_delete_user", api.token(), {"user_id": "bob"})
    assert status == 403


def test_another_users_record_is_404(api):
    status, body, _ = call(api, "GET", "/rpc/learnings_get", api.token(), params={"learning_id": "user_profile_bob"})
    assert status == 404 and body["code"] == "PT404", body
    status, body, _ = call(api, "GET", "/rpc/learnings_get", api.token(),
                           params={"learning_id": "entity_global_company_acme"})
    assert status == 200 and body["entity_id"] == "acme"


def test_shared_records_are_admin_only(api):
    change = {"learning_id": "entity_global_company_acme", "changes": {"content": {"facts": ["x"]}}}
    status, body, _ = call(api, "POST", "/rpc/learnings_update", api.token(), change)
    assert status == 403, body
    # Also when nothing would change (as AgentOS: the scope is checked first).
    status, body, _ = call(api, "POST", "/rpc/learnings_update", api.token(),
                           {"learning_id": "entity_global_company_acme", "changes": {}})
    assert status == 403, body
    status, _, _ = call(api, "POST", "/rpc/learnings_delete", api.token(),
                        {"learning_id": "entity_global_company_acme"})
    assert status == 403
    status, body, _ = call(api, "POST", "/rpc/learnings_update", api.admin(), change)
    assert status == 200 and body["content"] == {"facts": ["x"]}
    status, body, text = call(api, "POST", "/rpc/learnings_delete", api.admin(),
                              {"learning_id": "entity_global_company_acme"})
    assert status == 204 and text == ""


def test_create_is_201_then_409(api):
    new = {"learning_type": "user_memory", "content": {"memories": ["likes tea"]}}
    status, body, _ = call(api, "POST", "/rpc/learnings_create", api.token(), new)
    assert status == 201, body
    assert body["learning_id"] == "memories_alice" and body["user_id"] == "alice"
    status, body, _ = call(api, "POST", "/rpc/learnings_create", api.token(), new)
    assert status == 409 and body["code"] == "23505" and "memories_alice" in body["message"]


def test_validation_is_422(api):
    status, body, _ = call(api, "POST", "/rpc/learnings_create", api.token(),
                           {"learning_type": "entity_memory", "content": {}})
    assert status == 422 and body["code"] == "PT422", body
    status, _, _ = call(api, "POST", "/rpc/learnings_list", api.token(), {"limit": 0})
    assert status == 422
    status, _, _ = call(api, "GET", "/rpc/learnings_list", api.token(), params={"sort_order": "sideways"})
    assert status == 422
    status, _, _ = call(api, "POST", "/rpc/learnings_update", api.token(),
                        {"learning_id": "user_profile_alice", "changes": {"user_id": "bob"}})
    assert status == 422


def test_table_without_db_id_is_400(api):
    status, body, _ = call(api, "GET", "/rpc/learnings_list", api.token(), params={"table": "agno_learnings"})
    assert status == 400 and body["code"] == "22023", body
    status, _, _ = call(api, "GET", "/rpc/learnings_list", api.token(),
                        params={"table": "agno_learnings", "db_id": api.db})
    assert status == 200
    status, _, _ = call(api, "GET", "/rpc/learnings_list", api.token(), params={"db_id": "elsewhere"})
    assert status == 404


def test_no_token_is_401(api):
    for method, path in [("GET", "/rpc/learnings_list"), ("POST", "/rpc/learnings_create"),
                         ("GET", "/agno_learnings")]:
        status, body, _ = call(api, method, path, None, {} if method == "POST" else None)
        assert status == 401, (path, body)


@pytest.mark.parametrize("case", ["expired", "wrong secret", "alg none", "garbage", "a megabyte"])
def test_bad_tokens_are_401(api, case):
    token = {
        "expired": lambda: api.token(exp_in=-3600),
        "wrong secret": lambda: api.token(secret="not-the-secret-" * 4),
        "alg none": lambda: api.token().split(".")[0].replace("IUzI1NiIs", "ub25lIiw") + "." + api.token().split(".")[1] + ".",
        "garbage": lambda: "not.a.token",
        "a megabyte": lambda: "e" * (1 << 20),
    }[case]()
    if case == "a megabyte":
        # PostgREST's HTTP server refuses a megabyte of headers itself (431 or a reset);
        # it never reaches the database.
        try:
            status, _, _ = call(api, "GET", "/rpc/learnings_list", token)
            assert status in (400, 401, 413, 431), status
        except (ConnectionResetError, urllib.error.URLError):
            pass
    else:
        status, body, _ = call(api, "GET", "/rpc/learnings_list", token)
        assert status == 401, (case, body)
    assert run_sql(api.db, "SELECT count(*) FROM ai.agno_learnings")[0][0] == 3


def test_token_without_subject_is_403(api):
    status, body, _ = call(api, "GET", "/rpc/learnings_list", api.token(sub=None))
    assert status == 403 and body["message"] == "Authenticated request is missing a user identity"


def test_missing_scope_is_403(api):
    status, _, _ = call(api, "POST", "/rpc/learnings_create", api.token(scopes=["learnings:read"]),
                        {"learning_type": "decision_log", "content": {}})
    assert status == 403


def test_table_endpoint_shows_no_more_than_the_functions(api):
    for token in (api.token(), api.token(sub="bob"), api.admin()):
        _, listed, _ = call(api, "POST", "/rpc/learnings_list", token, {})
        status, rows, _ = call(api, "GET", "/agno_learnings", token, params={"select": "learning_id"})
        assert status == 200
        # On Citus, PostgREST's multi-shard reads come back with columns named f1, f2…
        # (citusdata/citus#1745, PostgREST/postgrest#1784; docs/scaling.md, Citus limits): the rows
        # are still exactly the caller's.
        assert sorted(next(iter(r.values())) for r in rows) == sorted(ids(listed))
    # Writing through the table endpoint obeys the same rules.
    status, _, _ = call(api, "PATCH", "/agno_learnings", api.token(),
                        {"content": {"hacked": True}}, params={"learning_id": "eq.user_profile_bob"})
    assert status in (200, 204)
    assert run_sql(api.db, "SELECT content FROM ai.agno_learnings WHERE learning_id = 'user_profile_bob'")[0][0] == {"name": "Bob"}
    status, _, _ = call(api, "POST", "/agno_learnings", api.token(),
                        {"learning_id": "x", "learning_type": "decision_log", "user_id": "bob",
                         "content": {}, "created_at": 1})
    # 403 as the functions answer, not the 401 PostgREST gives a policy's 42501.
    assert status == 403


def test_openapi_lists_every_function_with_its_summary(api):
    status, doc, _ = call(api, "GET", "/", None)
    assert status == 200
    for name in ["learnings_list", "learnings_create", "learnings_get", "learnings_update",
                 "learnings_delete", "learnings_list_users", "learnings_delete_user"]:
        path = doc["paths"].get(f"/rpc/{name}")
        assert path, name
        operation = path.get("post") or path.get("get")
        assert operation.get("summary"), (name, operation)


def test_junk_never_gives_500(api):
    assert call(api, "POST", "/rpc/learnings_create", api.token(), raw_body=b"{not json")[0] == 400
    assert call(api, "POST", "/rpc/learnings_list", api.token(), {"nonsense": 1})[0] == 404
    assert call(api, "POST", "/rpc/learnings_create", api.token(),
                {"learning_type": "decision_log", "content": "a string"})[0] == 422
    assert call(api, "POST", "/rpc/learnings_get", api.token(), {"learning_id": "x" * 20000})[0] == 404


def test_own_records_update_200_delete_204(api):
    change = {"learning_id": "user_profile_alice", "changes": {"content": {"name": "Alice B."}}}
    status, body, _ = call(api, "POST", "/rpc/learnings_update", api.token(), change)
    assert status == 200 and body["content"] == {"name": "Alice B."} and body["updated_at"] > 1, body
    status, body, text = call(api, "POST", "/rpc/learnings_delete", api.token(), {"learning_id": "user_profile_alice"})
    assert status == 204 and text == "", text
    status, _, _ = call(api, "GET", "/rpc/learnings_get", api.token(), params={"learning_id": "user_profile_alice"})
    assert status == 404
    # Another user's record: 404 for update and delete too, and it stays.
    status, _, _ = call(api, "POST", "/rpc/learnings_delete", api.token(), {"learning_id": "user_profile_bob"})
    assert status == 404
    assert run_sql(api.db, "SELECT count(*) FROM ai.agno_learnings WHERE user_id = 'bob'")[0][0] == 1


def test_list_users_and_delete_user(api):
    status, body, _ = call(api, "GET", "/rpc/learnings_list_users", api.token())
    assert status == 200 and [u["user_id"] for u in body["data"]] == ["alice"], body
    status, body, _ = call(api, "POST", "/rpc/learnings_list_users", api.admin(), {"limit": 1, "sort_by": "user_id", "sort_order": "asc"})
    assert status == 200 and [u["user_id"] for u in body["data"]] == ["alice"] and body["meta"]["total_count"] == 2
    status, _, text = call(api, "POST", "/rpc/learnings_delete_user", api.token(), {"user_id": "alice"})
    assert status == 204 and text == ""
    # Rows with no owner and other users' rows stay.
    assert sorted(r[0] for r in run_sql(api.db, "SELECT learning_id FROM ai.agno_learnings")) == [
        "entity_global_company_acme", "user_profile_bob"]


@pytest.mark.parametrize("method,function,body", [
    ("GET", "learnings_list", None), ("GET", "learnings_get", None), ("GET", "learnings_list_users", None),
    ("POST", "learnings_create", {"learning_type": "decision_log", "content": {}}),
    ("POST", "learnings_update", {"learning_id": "user_profile_alice", "changes": {}}),
    ("POST", "learnings_delete", {"learning_id": "user_profile_alice"}),
    ("POST", "learnings_delete_user", {"user_id": "alice"}),
])
def test_every_function_refuses_anonymous_requests_with_401(api, method, function, body):
    params = {"learning_id": "user_profile_alice"} if function == "learnings_get" else None
    status, answer, _ = call(api, method, f"/rpc/{function}", None, body, params=params)
    assert status == 401, answer
    assert run_sql(api.db, "SELECT count(*) FROM ai.agno_learnings")[0][0] == 3


@pytest.mark.parametrize("role,expected", [
    ("learnings_user", 403), ("learnings_anon", 403), ("postgres", 403), ("no_such_role", 400),
])
def test_tokens_with_a_role_claim_never_widen_or_500(api, role, expected):
    """Tokens that name a role (not AgentOS's kind): the one for callers, the anonymous one,
    one the authenticator may not become, one that does not exist."""
    token = api.token(role=role)
    status, body, _ = call(api, "GET", "/rpc/learnings_list", token, params={"user_id": "bob"})
    assert status == expected, body


def test_the_secret_file_is_shared_with_the_extension(api):
    """The token PostgREST accepts also verifies inside the database
    (agno_learnings.jwt_secret_file names PostgREST's secret file)."""
    assert call(api, "GET", "/rpc/learnings_list", api.token())[0] == 200
    claims = run_sql(api.db, "SELECT ai.learnings_authenticate(%s)", (api.token(),))[0][0]
    assert claims["user_id"] == "alice" and claims["admin"] is False
    with pytest.raises(Exception, match="signature|invalid"):
        run_sql(api.db, "SELECT ai.learnings_authenticate(%s)", (api.token(secret="x" * 48),))


def test_openapi_summaries_are_the_first_lines_of_the_comments(api):
    _, doc, _ = call(api, "GET", "/", None)
    comments = dict(run_sql(api.db, """
        SELECT p.proname, split_part(obj_description(p.oid, 'pg_proc'), E'\\n', 1)
          FROM pg_proc p WHERE p.pronamespace = 'ai'::regnamespace AND p.proname LIKE 'learnings\\_%'"""))
    for name in ["learnings_list", "learnings_create", "learnings_get", "learnings_update",
                 "learnings_delete", "learnings_list_users", "learnings_delete_user"]:
        operation = doc["paths"][f"/rpc/{name}"]["post"]
        assert operation["summary"] == comments[name], name
        assert operation.get("description"), name


@pytest.fixture(scope="module")
def rs256_api(cluster):
    """The RS256 variant: PostgREST's key file holds a JWKS, the database has the same JWKS
    in agno_learnings.jwt_jwks, and both require the audience agent-os."""
    db = create_database("agno_http_jwks")
    jwks = (REPO / "tests" / "keys" / "jwks.json").read_text().strip()
    settings = {"agno_learnings.jwt_jwks": jwks, "agno_learnings.jwt_audience": "agent-os"}
    with postgrest(db, jwks, settings, env={"PGRST_JWT_AUD": "agent-os"}) as base:
        yield Api(base, None, db)
    drop_database(db)


def rs256(key="rsa_private.pem", aud="agent-os", sub="alice"):
    claims = {"sub": sub, "scopes": ["learnings:read", "learnings:write", "learnings:delete"],
              "exp": int(time.time()) + 600}
    if aud is not None:
        claims["aud"] = aud
    private = (REPO / "tests" / "keys" / key).read_text()
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": "test-rsa-1"})


def test_rs256_tokens_from_a_jwks(rs256_api):
    status, body, _ = call(rs256_api, "POST", "/rpc/learnings_create", rs256(),
                           {"learning_type": "user_profile", "content": {"name": "Alice"}})
    assert status == 201 and body["user_id"] == "alice", body
    status, body, _ = call(rs256_api, "GET", "/rpc/learnings_list", rs256(), params={"user_id": "bob"})
    assert status == 403, body
    # A token without aud passes PostgREST's own check; the extension still requires the
    # configured audience of PostgREST's claims, so both doors refuse it.
    for token in (rs256(aud="another-service"), rs256(aud=None), rs256(key="rsa_other_private.pem"),
                  jwt.encode({"sub": "alice", "aud": "agent-os", "exp": int(time.time()) + 600}, "s" * 40)):
        status, body, _ = call(rs256_api, "GET", "/rpc/learnings_list", token)
        assert status == 401, body
    # The token PostgREST accepts verifies in the database too.
    claims = run_sql(rs256_api.db, "SELECT ai.learnings_authenticate(%s)", (rs256(),))[0][0]
    assert claims["user_id"] == "alice"


@pytest.mark.parametrize("params", [
    {"sort_order": "x\r\nSet-Cookie: evil=1\r\nX-Injected: yes"},
    {"db_id": "x\r\nX-Injected: yes"},
    {"table": "t\r\nX-Injected: yes"},
])
def test_echoed_caller_text_never_reaches_the_status_line(api, params):
    """PostgREST writes a PTxyz error's message into the HTTP status line; the API's
    errors travel in PostgREST's PGRST form instead, so CR LF in an echoed value stays
    inside the JSON body."""
    if "table" in params:
        params = {**params, "db_id": api.db}
    url = api.base + "/rpc/learnings_list?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api.token()}"})
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("expected an error status")
    except urllib.error.HTTPError as error:
        assert error.headers.get("X-Injected") is None and error.headers.get("Set-Cookie") is None
        assert "\r" not in error.reason and "\n" not in error.reason, error.reason
        body = json.loads(error.read())
        assert error.code in (400, 404, 422) and "X-Injected" in body["message"]


@pytest.mark.parametrize("path", ["/rpc/learnings_register_table?learnings_table=x", "/agno_learnings",
                                  "/rpc/learnings_list", "/rpc/learnings_authenticate?token=x"])
def test_every_anonymous_path_but_the_document_is_401(api, path):
    request = urllib.request.Request(api.base + path)
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError(f"{path} answered an anonymous request")
    except urllib.error.HTTPError as error:
        assert error.code == 401, (path, error.code, error.read())
        assert error.headers.get("WWW-Authenticate", "").startswith("Bearer")


@pytest.mark.parametrize("path", ["/learnings_tables", "/rpc/learnings_policy_access?action=read",
                                  "/rpc/learnings_policy_user", "/rpc/learnings_index_name?table_name=t&suffix=s",
                                  "/rpc/learnings_guard_drop"])
def test_internals_are_not_served(api, path):
    # They live in agno_learnings_internal, a schema PostgREST does not serve.
    for token in (api.token(), api.admin()):
        status, body, _ = call(api, "GET", path, token)
        assert status == 404, (path, status, body)


def test_the_anonymous_document_shows_only_the_api(api):
    status, doc, _ = call(api, "GET", "/", None)
    assert status == 200
    served = {path for path in doc["paths"] if path != "/"}
    assert served <= {"/agno_learnings"} | {f"/rpc/learnings_{name}" for name in [
        "list", "create", "get", "update", "delete", "list_users", "delete_user", "authenticate"]}, served
    assert "learnings_tables" not in json.dumps(doc.get("definitions", {}))
    # Registration is for superusers: PostgreSQL refuses it to a token's role (42501, which
    # PostgREST shows as 401 for tokens without a role claim), and nothing changes.
    status, _, _ = call(api, "POST", "/rpc/learnings_register_table", api.admin(),
                        {"learnings_table": "public.x", "name": "x"})
    assert status in (401, 403)


def table_row(learning_id, learning_type, **fields):
    return {"learning_id": learning_id, "learning_type": learning_type, "user_id": "alice",
            "content": {}, "created_at": 0, **fields}


@pytest.mark.parametrize("row", [
    table_row("user_profile_carol", "user_profile"),
    table_row("memories_carol", "user_memory"),
    table_row("memories_carol", "decision_log"),
    table_row("session_context_x", "session_context", session_id="y"),
    table_row("entity_user_5b4a3ea3b1a2c2e8_person_x", "entity_memory", namespace="user", entity_id="x",
              entity_type="person"),
], ids=["profile", "memories", "other type", "session", "entity of another user"])
def test_the_table_endpoint_cannot_squat_an_identity(api, row):
    before = run_sql(api.db, "SELECT count(*) FROM ai.agno_learnings")
    status, body, _ = call(api, "POST", "/agno_learnings", api.token(), row)
    assert status == 422 and body["code"] == "PT422", body
    assert run_sql(api.db, "SELECT count(*) FROM ai.agno_learnings") == before


def test_the_table_endpoint_never_changes_an_identity(api):
    status, body, _ = call(api, "PATCH", "/agno_learnings", api.token(), {"learning_id": "user_profile_carol"},
                           params={"learning_id": "eq.user_profile_alice"})
    # On Citus, learning_id is the distribution column, which Citus itself never lets an
    # UPDATE change (0A000, a 400) before the row's own rules run (docs/scaling.md, Citus limits).
    assert (status, body["code"]) in ([(400, "0A000")] if CITUS_WORKERS else []) + [(422, "PT422")], body
    status, _, _ = call(api, "PATCH", "/agno_learnings", api.token(), {"content": {"name": "A."}},
                        params={"learning_id": "eq.user_profile_alice"})
    assert status in (200, 204)
    assert run_sql(api.db, "SELECT learning_id FROM ai.agno_learnings WHERE user_id = 'alice'") == [
        ("user_profile_alice",)]


@pytest.mark.parametrize("prefer", [None, "resolution=ignore-duplicates", "resolution=merge-duplicates"])
def test_the_table_endpoint_never_confirms_a_hidden_row(api, prefer):
    run_sql(api.db, """INSERT INTO ai.agno_learnings (learning_id, learning_type, user_id, session_id, content,
                                                      created_at) VALUES
                       ('session_context_s-carol', 'session_context', 'carol', 's-carol', '{}', 1)""")
    row = table_row("session_context_s-carol", "session_context", session_id="s-carol")
    status, body, _ = call(api, "POST", "/agno_learnings", api.token(), row,
                           headers={"Prefer": prefer} if prefer else None)
    if CITUS_WORKERS and prefer == "resolution=merge-duplicates":
        # Citus refuses an upsert whose update carries row-level security's (stable)
        # conditions, whether the row exists or not: nothing is confirmed either way.
        assert (status, body["code"]) == (400, "0A000"), body
    else:
        assert status == 404 and body["code"] == "PT404", (prefer, status, body)
    # The API answers the same.
    status, _, _ = call(api, "POST", "/rpc/learnings_create", api.token(),
                        {"learning_type": "session_context", "session_id": "s-carol", "content": {}})
    assert status == 404
    assert run_sql(api.db, "SELECT user_id, content FROM ai.agno_learnings "
                           "WHERE learning_id = 'session_context_s-carol'") == [("carol", {})]


def test_a_hundred_concurrent_creates_of_one_identity_give_one_201(api):
    """The reliability issue's limit: 100 clients create the same identity at once."""
    import concurrent.futures

    def create(_):
        return call(api, "POST", "/rpc/learnings_create", api.token(),
                    {"learning_type": "session_context", "session_id": "s-race", "content": {"n": 1}})[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        statuses = list(pool.map(create, range(100)))
    assert sorted(statuses) == [201] + [409] * 99, statuses
    assert run_sql(api.db, "SELECT count(*) FROM ai.agno_learnings WHERE learning_id = 'session_context_s-race'") \
        == [(1,)]


def test_a_document_over_the_cap_is_422_and_nothing_is_written(api):
    before = run_sql(api.db, "SELECT count(*) FROM ai.agno_learnings")
    status, body, _ = call(api, "POST", "/rpc/learnings_create", api.token(),
                           {"learning_type": "decision_log", "content": {"text": "x" * (2 << 20)}})
    assert status == 422 and "max_document_bytes" in body["message"], (status, body)
    assert run_sql(api.db, "SELECT count(*) FROM ai.agno_learnings") == before
