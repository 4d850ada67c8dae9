"""Hypothesis through the door: random paths, query strings, bodies, content types and
headers never get a 5xx (nothing a caller sends is a server error) and always get a JSON
body (or none, for 204/HEAD). FUZZ_EXAMPLES sets the number of examples (default 150)."""

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))

SEGMENTS = st.one_of(
    st.sampled_from(["learnings", "users", "", "..", ".", "%2F", "%00", "%ff", "%C3%A9", "%", "%zz", "u1",
                     "user_profile_u1", "rpc", "learnings_list"]),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e, exclude_characters="?#%"),
            max_size=12),
)
QUERY_KEYS = st.sampled_from(["limit", "page", "sort_by", "sort_order", "user_id", "learning_type", "db_id",
                              "table", "select", "order", "offset", "x", ""])
QUERY_VALUES = st.one_of(st.sampled_from(["1", "0", "-1", "1001", "abc", "1.5", "asc", "desc", "%00", "%ff",
                                          "%0d%0a", "eq.x", "agno_door", "agno_learnings", "+", "%"]),
                         st.text(alphabet="0123456789abcdef_.-+%", max_size=8))
BODIES = st.one_of(
    st.none(),
    st.binary(max_size=64),
    st.sampled_from([b"{}", b"[]", b"null", b'{"content": null}', b'{"learning_type": "note", "content": {}}',
                     b'{"learning_type": "\\u0000", "content": {}}', b'{"content": {"a": NaN}}', b'"\\ud800"',
                     b'{"learning_type": "note", "content": {"a": "\\u0000"}}', b"[" * 2000, b"\xef\xbb\xbf{}"]),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                 lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(
                     ["learning_type", "content", "metadata", "user_id", "session_id", "namespace", "x"]), c,
                     max_size=4), max_leaves=8).map(lambda v: json.dumps(v).encode()),
)
CONTENT_TYPES = st.sampled_from([None, "application/json", "text/csv", "application/x-www-form-urlencoded",
                                 "application/vnd.pgrst.object+json", "multipart/form-data; boundary=x",
                                 "application/json; charset=latin1", "text/plain"])
METHODS = st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "FOO"])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=METHODS, segments=st.lists(SEGMENTS, min_size=0, max_size=4),
       query=st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=4), body=BODIES,
       content_type=CONTENT_TYPES, caller=st.sampled_from(["admin", "user", "none", "junk", "nosub"]),
       extra=st.sampled_from([{}, {"Prefer": "tx=rollback"}, {"Accept": "text/csv"},
                              {"Accept-Profile": "learnings_postgrest"}, {"Range": "0-1"}]))
def test_fuzz_door(door, tokens, method, segments, query, body, content_type, caller, extra):
    path = "/" + "/".join(segments)
    if segments and segments[0] != "learnings" and len(segments) > 1:
        path = "/learnings" + path
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
    headers = dict(extra)
    if caller == "admin":
        headers["Authorization"] = "Bearer " + tokens.admin()
    elif caller == "user":
        headers["Authorization"] = "Bearer " + tokens.make("fuzz")
    elif caller == "nosub":
        headers["Authorization"] = "Bearer " + tokens.make(None)
    elif caller == "junk":
        headers["Authorization"] = "Bearer a.b.c"
    if content_type:
        headers["Content-Type"] = content_type
    status, _, raw = door.request(method, target, headers, body)
    assert status < 500, (method, target, body, status, raw[:300])
    if raw:
        parsed = json.loads(raw)
        assert isinstance(parsed, (dict, list))
