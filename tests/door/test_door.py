"""The door's own promises: nothing of PostgREST reachable through it, no header or
response splitting, odd ids, FastAPI's 422 for wrong types, 204 with an empty body, the
Authorization header passed unchanged, transient failures as 503 with Retry-After, and
the table of known differences in docs/http.md in step with known_differences.py."""

import json
import pathlib
import re
import socket
import urllib.parse

import pytest

from known_differences import DIFFERENCES

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_no_postgrest_path_is_reachable(door, tokens):
    admin = tokens.admin()
    for path in ["/", "/rpc/learnings_list", "/rpc/learnings_get?learning_id=x", "/agno_learnings",
                 "/ai/agno_learnings", "/_pgrst/rpc/learnings_list", "/_door_error/503",
                 "/learnings/../rpc/learnings_list", "/%6cearnings", "/learningsX", "/rpc/learnings_authenticate"]:
        for method in ("GET", "POST"):
            status, body = door.json(method, path, admin, body={} if method == "POST" else None)
            assert status == 404, (method, path, status, body)
            assert body == {"detail": "Not Found"}, (method, path, body)


def test_answers_are_agentos_json(door, tokens):
    status, headers, raw = door.request("GET", "/learnings?limit=1", {"Authorization": "Bearer " + tokens.admin()})
    assert status == 200
    assert headers["content-type"] == "application/json"
    page = json.loads(raw)
    assert set(page) == {"data", "meta"}
    assert page["meta"]["search_time_ms"] == 0.0 and page["meta"]["limit"] == 1
    # PostgREST's own headers do not leak through.
    assert "content-range" not in headers and "content-location" not in headers


def test_limit_reaches_the_function(door, tokens):
    """GET /rpc/learnings_list?limit=1 is PostgREST's limit (100 records came back); here
    it is AgentOS's page size."""
    admin = tokens.admin()
    for i in range(3):
        door.json("POST", "/learnings", admin, {"learning_type": "decision_log", "content": {"i": i}})
    status, page = door.json("GET", "/learnings?limit=1&page=2", admin)
    assert status == 200 and len(page["data"]) == 1 and page["meta"]["page"] == 2
    assert page["meta"]["total_pages"] == page["meta"]["total_count"] >= 3


def test_wrong_types_are_fastapi_422(door, tokens):
    token = tokens.make("alice")
    status, body = door.json("GET", "/learnings?limit=abc&page=1.5&sort_order=up", token)
    assert status == 422
    assert [(e["type"], e["loc"]) for e in body["detail"]] == [
        ("int_parsing", ["query", "limit"]), ("int_parsing", ["query", "page"]), ("enum", ["query", "sort_order"])]
    status, body = door.json("GET", "/learnings/users?limit=1001&page=0", token)
    assert status == 422 and [e["type"] for e in body["detail"]] == ["less_than_equal", "greater_than_equal"]
    for raw in ['{"learning_type": "x", "content": [1]', r'{"a": "\u12"}', '{"é": 1,}', '[' * 30 + ']' * 29,
                '{"a": "x\x01"}', '{"a": -}', '01', '{"content": {}} x']:
        try:
            json.loads(raw)
        except json.JSONDecodeError as e:
            want = {"type": "json_invalid", "loc": ["body", e.pos], "msg": "JSON decode error", "input": {},
                    "ctx": {"error": e.msg}}
        status, body = door.json("POST", "/learnings", token, raw.encode())
        assert (status, body) == (422, {"detail": [want]}), raw
    status, body = door.json("PATCH", "/learnings/x", token, {"content": "text"})
    assert status == 422 and body["detail"][0]["loc"] == ["body", "content"]


def test_bad_token_is_401_before_422(door, tokens):
    bad = tokens.make("alice", secret="another secret entirely, not ours")
    status, body = door.json("GET", "/learnings?limit=abc", bad)
    assert status == 401 and body["detail"].startswith("Invalid token")
    status, body = door.json("GET", "/learnings/a/b", tokens.make("u", scopes=()))
    assert status == 403 and body["detail"] == "Insufficient permissions. Required scope(s): learnings:read"
    status, body = door.json("GET", "/learnings/a/b")
    assert status == 401 and body == {"detail": "Authorization header missing"}


def test_delete_is_204_with_an_empty_body(door, tokens):
    admin = tokens.admin()
    status, record = door.json("POST", "/learnings", admin, {"learning_type": "note", "content": {}})
    assert status == 201
    status, headers, raw = door.request("DELETE", "/learnings/" + record["learning_id"],
                                        {"Authorization": "Bearer " + admin})
    assert status == 204 and raw == b"" and "content-type" not in headers
    status, headers, raw = door.request("DELETE", "/learnings/users/nobody-at-all",
                                        {"Authorization": "Bearer " + admin})
    assert status == 204 and raw == b""


@pytest.mark.parametrize("session", ["a/b", "with space", "ünïcødé ✓ 😀", "x" * 400, "%2F", "q?x=1&y=#z",
                                     "dots/../..", "  "])
def test_odd_ids(door, tokens, session):
    """Every stored id can be read, changed and deleted through its percent-encoded path."""
    token = tokens.make("odd-ids")
    status, record = door.json("POST", "/learnings", token,
                               {"learning_type": "session_context", "session_id": session, "content": {"a": 1}})
    assert status == 201, record
    path = "/learnings/" + urllib.parse.quote(record["learning_id"], safe="")
    assert door.json("GET", path, token) == (200, record)
    status, updated = door.json("PATCH", path, token, {"content": {"a": 2}})
    assert status == 200 and updated["content"] == {"a": 2} and updated["learning_id"] == record["learning_id"]
    assert door.json("DELETE", path, token)[0] == 204
    assert door.json("GET", path, token) == (404, {"detail": "Learning not found"})


def test_very_long_id_is_not_found(door, tokens):
    status, body = door.json("GET", "/learnings/" + "x" * 60000, tokens.admin())
    assert status == 404 and body == {"detail": "Learning not found"}
    status, body = door.json("GET", "/learnings/" + "x" * 70000, tokens.admin())
    assert status == 414 and "detail" in body


def _raw_http(door, payload):
    with socket.create_connection((door.host, door.port), timeout=10) as s:
        s.sendall(payload)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def test_no_header_or_response_splitting(door, tokens):
    token = tokens.admin()
    injected = "%0D%0ASet-Cookie:%20pwned=1%0D%0AX-Injected:%201"
    for target in [f"/learnings?sort_order=desc{injected}", f"/learnings?table=x{injected}&db_id=y{injected}",
                   f"/learnings/{injected}", f"/learnings/users/{injected}", f"/learnings?user_id={injected}"]:
        status, headers, raw = door.request("GET", target, {"Authorization": "Bearer " + token})
        assert status < 500
        assert "set-cookie" not in headers and "x-injected" not in headers, (target, headers)
        json.loads(raw)
    # A raw CR LF in the request line or a header is refused by nginx itself (400, JSON).
    data = _raw_http(door, b"GET /learnings?a=1\rX-Injected: 1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"x-injected" not in head.lower()
    assert data.startswith(b"HTTP/1.1 400")


def test_authorization_passes_unchanged(door, tokens, postgrest_url):
    """The door forwards the caller's Authorization header byte for byte: the same token
    gives the same caller at the door as at PostgREST, and a changed token is refused."""
    token = tokens.make("carrier")
    status, record = door.json("POST", "/learnings", token, {"learning_type": "user_memory", "content": {"m": 1}})
    assert status == 201 and record["user_id"] == "carrier"
    # One character changed in the signature: PostgREST sees exactly that and refuses it.
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert door.json("GET", "/learnings/memories_carrier", forged)[0] == 401
    # Only Authorization goes through: headers that steer PostgREST do nothing here.
    status, body = door.json("GET", "/learnings/memories_carrier", token,
                             headers={"Accept-Profile": "learnings_postgrest", "Prefer": "tx=rollback",
                                      "Accept": "text/csv", "Range": "0-0"})
    assert status == 200 and body == record


def test_refused_bodies_never_reach_postgrest(door, tokens):
    token = tokens.make("bodies")
    for content_type, body in [("text/csv", b"a,b\n1,2"), ("application/x-www-form-urlencoded", b"a=1&" * 2000),
                               ("application/json", b"\xff\xfe not utf-8"), ("application/json", b"[" * 5000)]:
        status, _, raw = door.request("POST", "/learnings", {"Authorization": "Bearer " + token,
                                                             "Content-Type": content_type}, body)
        assert status in (400, 422), (content_type, status, raw[:200])
        assert "detail" in json.loads(raw)
    status, _, raw = door.request("POST", "/learnings", {"Authorization": "Bearer " + token,
                                                         "Content-Type": "application/json"}, b" " * (5 * 1024 * 1024))
    assert status == 413 and json.loads(raw)["detail"].startswith("Request body too large")


def test_non_ascii_authorization_is_401(door):
    status, _, raw = door.request("GET", "/learnings", {"Authorization": "Bearer \xe9\xff".encode("latin-1")})
    assert status == 401 and json.loads(raw)["detail"].startswith("Invalid token")


def test_the_docs_list_every_known_difference():
    page = (REPO / "docs" / "http.md").read_text()
    section = page.split("## AgentOS paths (nginx)", 1)
    assert len(section) == 2, "docs/http.md has no 'AgentOS paths (nginx)' section"
    body = section[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z-]+)` \|", body, re.M)
    assert rows == [d.key for d in DIFFERENCES], \
        "the known-differences table of docs/http.md and known_differences.py differ"


def test_postgrest_unreachable_is_503_with_retry_after(tokens, tmp_path):
    """A door whose PostgREST does not answer (down, restarting) says so: 503 with
    Retry-After and AgentOS's {"detail": ...}, never a 500 or an HTML page."""
    import os
    import subprocess

    from conftest import Raw

    work = pathlib.Path(os.environ["DOOR_WORK"]) / "door-unreachable"
    lib = f"source {REPO}/scripts/lib.sh"
    ports = subprocess.run(["bash", "-c", f"{lib}; free_port; free_port"], check=True, capture_output=True,
                           text=True).stdout.split()
    start = subprocess.run(["bash", "-c", f'{lib}; door_start "$0" "$1" "127.0.0.1:$2"', str(work), *ports[:2]],
                           capture_output=True, text=True)
    assert start.returncode == 0, start.stderr
    try:
        door = Raw(f"http://127.0.0.1:{ports[0]}")
        for method, path in [("GET", "/learnings"), ("GET", "/learnings?limit=abc"), ("DELETE", "/learnings/x"),
                             ("PUT", "/learnings")]:
            status, headers, raw = door.request(method, path, {"Authorization": "Bearer " + tokens.admin()})
            assert status == 503 and headers.get("retry-after") == "1", (method, path, status, raw)
            assert "detail" in json.loads(raw)
    finally:
        subprocess.run(["bash", "-c", f'{lib}; door_stop "$0"', str(work)])
