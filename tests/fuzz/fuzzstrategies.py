"""Hypothesis strategies of the fuzz suite: texts, JSON documents, integers at the bounds,
claims and tokens (valid, mangled, forged), and the arguments of each function.

Each strategy mixes values that the API accepts (so that accepted paths are exercised
too) with values at and beyond every limit the contract names.
"""

import base64
import hashlib
import hmac
import json
import pathlib
import time

import jwt
from hypothesis import strategies as st

from fuzzsupport import DB, dumps

# One clock for the whole run: claims drawn again while shrinking stay the same.
NOW = int(time.time())
KEYS = pathlib.Path(__file__).resolve().parents[1] / "keys"

# ---------------------------------------------------------------------------------------
# text

# PostgreSQL text can hold neither NUL nor lone surrogates (UTF-8 cannot encode them):
# these reach the server only as JSON escapes, inside jsonb arguments, claims and bodies.
SQL_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
ANY_CHARS = st.characters()  # every code point, surrogates and NUL included

INTERESTING = [
    "", " ", "alice", "bob", "carol", "root", "global", "user", "agno_learnings", "tenant_learnings",
    "user_0123456789abcdef", "user_0123456789abcdef_x", "USER_0123456789ABCDEF",
    "sa:robot", "__oauth__:client", "__scheduler__",
    "user_profile", "user_memory", "session_context", "entity_memory", "decision_log",
    "created_at", "updated_at", "user_id", "last_learning_updated_at", "learning_id",
    "asc", "desc", "ASC", " desc", "desc ", "DESC",
    "e\u0301\u0301\u0301", "\u202eevil\u202c", "\u05e9\u05dc\u05d5\u05dd", "\u0627\u0644\u0633\u0644\u0627\u0645",
    "\U0001F469\u200D\U0001F469\u200D\U0001F467", "\ufeff", "\u200b", "\uffff", "\U0010FFFF", "\u00e9",
    "%", "_", "\\", "'", '"', "''", "x'; DROP TABLE ai.agno_learnings; --", "$1", "%s", "{}", "[]", "null",
    "a\r\nX-Injected: yes", "\t", "\x01", "\x7f", "..", "/", "ai.agno_learnings", "public", DB, "postgres",
    "x" * 511, "x" * 512, "x" * 513, "\u00e9" * 256, "\u00e9" * 257, "\U0001F600" * 128, "\U0001F600" * 129,
    "y" * 1024, "y" * 1025, "z" * 3000, "w" * 20000,
]

# Text a SQL text parameter can carry.
sql_text = st.one_of(
    st.sampled_from(INTERESTING),
    st.text(SQL_CHARS, max_size=40),
    st.text(SQL_CHARS, min_size=1, max_size=4).map(lambda s: s * 300),
)

# Text an identity field usually holds: short, never empty.
names = st.one_of(st.sampled_from(["a", "b", "s-1", "s-2", "acme", "company", "person", "agent-1", "team-1"]),
                  st.text(SQL_CHARS, min_size=1, max_size=12))
fields = st.one_of(names, names, sql_text)

# Text inside JSON: anything, NUL and lone surrogates included (they travel as escapes).
json_text = st.one_of(
    st.sampled_from(INTERESTING + ["\x00", "a\x00b", "\ud800", "\udc00", "x\udfffy", "\ud83d\ude00"]),
    st.text(ANY_CHARS, max_size=24),
)

# ---------------------------------------------------------------------------------------
# numbers

BOUNDS = [0, 1, -1, 2, 20, 100, 999, 1000, 1001, 2**15, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1,
          2**32, 2**63 - 1, 2**63, -(2**63), 2**64, 10**30, 10**400]
bound_ints = st.one_of(st.sampled_from(BOUNDS), st.integers(min_value=-5, max_value=1005), st.integers())
json_numbers = st.one_of(
    bound_ints,
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, 1.0, -0.0, 1e308, 5e-324, 1e-400]),
)

# ---------------------------------------------------------------------------------------
# JSON values


def json_values(max_leaves=12):
    scalars = st.one_of(st.none(), st.booleans(), json_numbers, json_text)
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(json_text, children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


json_objects = st.dictionaries(json_text, json_values(8), max_size=5)


@st.composite
def json_documents(draw, objects=True):
    """JSON text of a document: mostly objects (what content must be), any other JSON,
    very deep nesting, a document around the size cap (1 MiB of jsonb), or not JSON."""
    kind = draw(st.sampled_from(
        ["object"] * 6 + ["value", "deep", "big", "raw", "escapes"] if objects else
        ["value"] * 4 + ["object", "deep", "big", "raw", "escapes"]))
    if kind == "object":
        return dumps(draw(json_objects))
    if kind == "value":
        return dumps(draw(json_values()))
    if kind == "deep":
        depth = draw(st.sampled_from([2, 64, 1000, 6000, 50000, 300000]))
        if draw(st.booleans()):
            return '{"a":' * depth + "1" + "}" * depth
        return '{"a":' + "[" * depth + "]" * depth + "}"
    if kind == "big":
        size = draw(st.sampled_from([(1 << 20) - 64, (1 << 20) + 64, 3 << 20]))
        return json.dumps({"text": "x" * size})
    if kind == "escapes":
        escape = draw(st.sampled_from(["\\u0000", "\\ud800", "\\udc00", "\\ud800\\u0041", "\\udbff\\udfff",
                                       "\\uD83D\\uDE00", "\\u00", "\\x41", "\\'", "\\/", "\\uZZZZ"]))
        where = draw(st.sampled_from(["value", "key"]))
        return '{"k": "a' + escape + 'b"}' if where == "value" else '{"a' + escape + 'b": 1}'
    return draw(st.one_of(st.text(SQL_CHARS, max_size=30),
                          st.sampled_from(["", "{", "{'a': 1}", "[1,]", "NaN", "{\"a\":1}}", "01", "1e999999",
                                           "{\"a\":1,\"a\":2}", " {} ", "\ufeff{}", "{\"a\":\"\t\"}"])))


# ---------------------------------------------------------------------------------------
# claims and tokens

SCOPES = ["learnings:read", "learnings:write", "learnings:delete", "learnings:*:read", "learnings:*:write",
          "learnings:*:delete", "agent_os:admin", "learnings:*", "LEARNINGS:READ", "admin", ""]


GOOD_SCOPES = [["learnings:read", "learnings:write", "learnings:delete"]] * 6 + [["agent_os:admin"]] * 3 + [
    ["learnings:*:read", "learnings:*:write", "learnings:*:delete"], ["learnings:read"], ["learnings:write"],
    ["learnings:delete"]]


@st.composite
def good_claims(draw):
    """AgentOS's claims for one of the seeded users (or a new one), or an admin."""
    scopes = draw(st.sampled_from(GOOD_SCOPES))
    out = {"sub": draw(st.sampled_from(["alice", "alice", "bob", "carol"])), "exp": NOW + 3600,
           "scopes": scopes if draw(st.integers(0, 3)) else " ".join(scopes)}
    if draw(st.integers(0, 5)) == 0:
        out["role"] = "learnings_user"
    return out


@st.composite
def claims(draw):
    """Claims of a token (or PostgREST's request.jwt.claims): usually AgentOS's shape
    (sub, scopes, exp), with every claim also drawn from arbitrary JSON."""
    out = {}
    sub = draw(st.one_of(
        st.sampled_from(["alice", "bob", "carol", "root", "sa:robot", "__oauth__:c", "__scheduler__", ""]),
        st.sampled_from(["a\x00b", "alice\x00", "\ud800", "x" * 600]),
        json_text, json_values(3), st.none()))
    if draw(st.integers(0, 9)) > 0:
        out["sub"] = sub
    scope_list = draw(st.lists(st.one_of(st.sampled_from(SCOPES), json_text), max_size=4))
    scopes = draw(st.sampled_from(["list", "string", "all", "admin", "other", "absent"]))
    if scopes == "list":
        out["scopes"] = scope_list
    elif scopes == "string":
        out["scopes"] = " ".join(str(s) for s in scope_list)
    elif scopes == "all":
        out["scopes"] = ["learnings:read", "learnings:write", "learnings:delete"]
    elif scopes == "admin":
        out["scopes"] = ["agent_os:admin"]
    elif scopes == "other":
        out["scopes"] = draw(json_values(3))
    exp = draw(st.sampled_from(["hour", "hour", "hour", "past", "leeway", "absent", "huge", "float", "string",
                                "other"]))
    t = NOW
    if exp != "absent":
        out["exp"] = {"hour": t + 3600, "past": t - 3600, "leeway": t - 5, "huge": 2**63 + 1, "float": t + 3600.5,
                      "string": str(t + 3600)}.get(exp) if exp != "other" else draw(json_values(2))
    if draw(st.integers(0, 4)) == 0:
        out["nbf"] = draw(st.sampled_from([t + 3600, t - 60, "soon", None, 1e300]))
    if draw(st.integers(0, 4)) == 0:
        out["aud"] = draw(st.one_of(st.sampled_from(["agent-os", ["agent-os", "x"], None]), json_text))
    if draw(st.integers(0, 5)) == 0:
        out["role"] = draw(st.one_of(
            st.sampled_from(["learnings_user", "learnings_anon", "learnings_authenticator", "postgres",
                             "no_such_role", ""]), json_text, json_values(2)))
    if draw(st.integers(0, 5)) == 0:
        out.update(draw(st.dictionaries(json_text, json_values(3), max_size=3)))
    return out


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs(header, payload, secret, alg="HS256"):
    """A token signed by hand, so that header and payload can be anything."""
    head = b64(header if isinstance(header, bytes) else dumps(header).encode("utf-8", "surrogatepass"))
    body = b64(payload if isinstance(payload, bytes) else dumps(payload).encode("utf-8", "surrogatepass"))
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), digest).digest()
    return f"{head}.{body}.{b64(signature)}"


class Token(str):
    """A token, and whether every verifier must refuse it (`must_reject`: a wrong key, alg
    none, an algorithm or key nobody configured, a crit header, expired or not yet valid
    beyond any leeway, not a JWS at all). Tokens with claims of odd types are neither:
    a verifier may take or refuse them. `original` is the valid token a mangled one was
    made from."""

    must_reject = False
    kind = ""
    original = None


def _token(text, kind, must_reject=False, original=None):
    token = Token(text)
    token.kind = kind
    token.must_reject = must_reject
    token.original = original
    return token


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def claims_refused(c):
    """Whether these claims are refused by every verifier whatever the signature: a
    numeric exp beyond any leeway in the past (the extension allows 10 s, PostgREST 30 s),
    a numeric nbf beyond it in the future."""
    t = NOW
    if _number(c.get("exp")) and c["exp"] < t - 60:
        return True
    if _number(c.get("nbf")) and c["nbf"] > t + 60:
        return True
    return False


@st.composite
def tokens(draw, secret):
    """A JWT: valid ones (HS256/384/512 with the shared secret), and every kind of wrong:
    wrong key, alg none, expired, not yet valid, RS256 by a key nobody configured, crit,
    garbage, mangled copies of a valid token, huge ones."""
    payload = draw(st.one_of(good_claims(), claims()))
    kind = draw(st.sampled_from(["valid"] * 8 + ["alg", "wrong key", "none", "expired", "nbf", "rs256", "crit",
                                                 "header", "mangled", "mangled", "garbage", "segments", "huge",
                                                 "payload"]))
    if kind == "valid":
        return _token(hs({"alg": "HS256", "typ": "JWT"}, payload, secret), kind, claims_refused(payload))
    if kind == "alg":
        alg = draw(st.sampled_from(["HS384", "HS512"]))
        return _token(hs({"alg": alg, "typ": "JWT"}, payload, secret, alg), kind, claims_refused(payload))
    if kind == "wrong key":
        return _token(hs({"alg": "HS256", "typ": "JWT"}, payload, secret + "x"), kind, True)
    if kind == "none":
        alg = draw(st.sampled_from(["none", "None", "NONE", "nOnE"]))
        signature = draw(st.sampled_from(["", "x", b64(b"\x00" * 32)]))
        head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        body = b64(dumps(payload).encode("utf-8", "surrogatepass"))
        return _token(f"{head}.{body}.{signature}", kind, True)
    if kind == "expired":
        payload = {**payload, "exp": NOW - draw(st.sampled_from([3600, 86400 * 365, 2**40]))}
        return _token(hs({"alg": "HS256", "typ": "JWT"}, payload, secret), kind, True)
    if kind == "nbf":
        payload = {**payload, "nbf": NOW + 3600}
        return _token(hs({"alg": "HS256", "typ": "JWT"}, payload, secret), kind, True)
    if kind == "rs256":
        # Only the HMAC secret is configured: an RS256 token has no key to verify with.
        key = (KEYS / draw(st.sampled_from(["rsa_private.pem", "rsa_other_private.pem"]))).read_text()
        return _token(jwt.encode(payload, key, algorithm="RS256", headers={"kid": "test-rsa-1"}), kind, True)
    if kind == "crit":
        return _token(hs({"alg": "HS256", "typ": "JWT", "crit": ["exp"], "exp": 1}, payload, secret), kind, True)
    if kind == "header":
        # A header of any shape, signed with the right secret: a verifier may accept it
        # only when it is an object whose alg is HS256 and that has no crit.
        header = draw(st.one_of(json_values(4), st.dictionaries(json_text, json_values(2), max_size=3).map(
            lambda h: {"alg": "HS256", **h})))
        acceptable = isinstance(header, dict) and header.get("alg") == "HS256" and "crit" not in header
        return _token(hs(header, payload, secret), kind, not acceptable or claims_refused(payload))
    if kind == "payload":
        # A payload that is not a claims object (an array, a number, not JSON, not UTF-8).
        body = draw(st.one_of(json_values(4).map(lambda v: dumps(v).encode("utf-8", "surrogatepass")),
                              st.binary(max_size=40)))
        refused = not body.lstrip().startswith(b"{")
        return _token(hs({"alg": "HS256", "typ": "JWT"}, body, secret), kind, refused)
    if kind == "mangled":
        good = hs({"alg": "HS256", "typ": "JWT"}, payload, secret)
        how = draw(st.sampled_from(["flip", "truncate", "append", "swap", "drop", "case", "space", "pad", "dots"]))
        chars = list(good)
        # Positions and characters are drawn independently of the token's text (which
        # depends on the clock), so that a replayed example draws the same way.
        if how == "flip":
            i = draw(st.integers(0, 4095)) % len(chars)
            replacements = "AaZz09-_.+/="
            k = draw(st.integers(0, len(replacements) - 1))
            chars[i] = replacements[k] if replacements[k] != chars[i] else replacements[k - 1]
            mangled = "".join(chars)
        elif how == "truncate":
            mangled = good[: draw(st.integers(0, 4095)) % len(good)]
        elif how == "append":
            mangled = good + draw(st.sampled_from(["A", "=", "==", ".", ".x", " ", "\t"]))
        elif how == "swap":
            h, p, s = good.split(".")
            mangled = f"{p}.{h}.{s}"
        elif how == "drop":
            h, p, s = good.split(".")
            mangled = draw(st.sampled_from([f"{h}.{p}", f"{h}..{s}", f".{p}.{s}", f"{h}.{p}."]))
        elif how == "case":
            mangled = good.swapcase()
        elif how == "space":
            i = draw(st.integers(0, 4095)) % (len(good) + 1)
            mangled = good[:i] + " " + good[i:]
        elif how == "pad":
            h, p, s = good.split(".")
            mangled = f"{h}==.{p}.{s}"
        else:
            mangled = good.replace(".", "..", 1)
        refused = claims_refused(payload) or not same_token(mangled, good)
        return _token(mangled, kind, refused, original=good)
    if kind == "segments":
        return _token(".".join(draw(st.lists(st.text(st.sampled_from("eyJAaz09-_=+/"), max_size=30),
                                             min_size=0, max_size=6))), kind, True)
    if kind == "huge":
        size = draw(st.sampled_from([16 * 1024 + 1, 100 * 1024, 1 << 20]))
        return _token(hs({"alg": "HS256", "typ": "JWT"}, {**payload, "pad": "x" * size}, secret), kind,
                      claims_refused(payload))
    return _token(draw(st.text(SQL_CHARS, max_size=60)), kind, True)


def good_tokens(secret):
    """A token AgentOS would issue to one of the seeded users, or an admin."""
    return good_claims().map(lambda c: _token(hs({"alg": "HS256", "typ": "JWT"}, c, secret), "valid"))


def decoded_segments(token):
    """The bytes a lenient base64url decoder sees in each segment (for tokens that differ
    only in ways such decoders ignore, such as unused trailing bits)."""
    out = []
    for segment in str(token).strip().split("."):
        try:
            out.append(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        except (ValueError, TypeError):
            out.append(None)
    return out


def same_token(mangled, original):
    """Whether a mangled copy still carries exactly the original's header, payload and
    signature (then a verifier may accept it)."""
    return decoded_segments(mangled) == decoded_segments(original) and None not in decoded_segments(mangled)


# ---------------------------------------------------------------------------------------
# arguments of the functions

OMIT = object()  # a parameter left out of the call (its default applies)
TYPES = ["user_profile", "user_memory", "session_context", "entity_memory", "decision_log"]
SEEDED_IDS = ["user_profile_alice", "user_profile_bob", "memories_alice", "session_context_s-1",
              "entity_global_company_acme", "3f1b0a6e-8a53-4c39-9d6a-4bd0c6a8a001",
              "3f1b0a6e-8a53-4c39-9d6a-4bd0c6a8a002"]
USERS = ["alice", "bob", "carol", "root"]


def sometimes(strategy, omit=2):
    """Left out `omit` times in omit+1, else drawn."""
    return st.one_of(*([st.just(OMIT)] * omit), strategy)


# Wild values: anything a caller can send.
learning_types = st.one_of(st.sampled_from(TYPES * 3), sql_text)
user_ids = st.one_of(st.sampled_from(USERS * 3), sql_text)
namespaces = st.one_of(st.sampled_from(["global", "user", "team-a", "", "user_0123456789abcdef"] * 2), sql_text)
learning_ids = st.one_of(st.sampled_from(SEEDED_IDS + ["user_profile_carol", "memories_bob", "memories_carol"]),
                         sql_text)
db_ids = st.sampled_from([OMIT] * 4 + [None, "", DB, DB, "postgres", "x\r\nX-Injected: yes", DB.upper(), DB + " "])
tables = st.sampled_from([OMIT] * 4 + [None, "", "agno_learnings", "tenant_learnings", "tenant_learnings",
                                       "spare.learnings", "learnings", "tenant.learnings", "pg_class", "t\r\nX: y",
                                       "x" * 300])
sort_bys = st.one_of(st.sampled_from(["created_at", "updated_at", "user_id", "last_learning_updated_at"]), sql_text)
sort_orders = st.one_of(st.sampled_from(["asc", "desc"] * 3), sql_text)
# An int parameter, as the text int4's input reads: at the bounds, or not a number.
ints = st.one_of(st.integers(1, 1000).map(str), bound_ints.map(str), bound_ints.map(str),
                 st.sampled_from(["", " 5", "5 ", "1.5", "1e3", "0x10", "five", "+7", "-0", "\u0661\u0662"]))
changes = st.one_of(
    st.fixed_dictionaries({}, optional={"content": json_values(6), "metadata": json_values(6)}).map(dumps),
    st.dictionaries(json_text, json_values(4), max_size=3).map(dumps),
    json_documents(objects=False))


def wild(strategy):
    """Left out, SQL NULL, or drawn."""
    return st.one_of(st.just(OMIT), st.none(), strategy, strategy)


# Sane values: what a well-behaved client sends (so that accepted calls are common).
sane_types = st.sampled_from(TYPES + ["decision_log"])
sane_names = st.sampled_from(["a", "b", "s-1", "s-2", "acme", "company", "person", "bob-the-builder"])
sane_ids = st.sampled_from(SEEDED_IDS + ["memories_bob", "session_context_s-2", "entity_global_person_a",
                                         "entity_team-a_company_acme"])
sane_table = st.sampled_from([OMIT] * 6 + [None, "", "agno_learnings", "tenant_learnings"])
sane_db = st.sampled_from([OMIT] * 6 + [None, "", DB])
clean_text = st.text(SQL_CHARS, max_size=16)
clean_values = st.recursive(
    st.one_of(st.none(), st.booleans(), json_numbers, clean_text),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(clean_text, children, max_size=3)),
    max_leaves=8)
clean_objects = st.dictionaries(clean_text, clean_values, max_size=4)
sane_content = clean_objects.map(dumps)
sane_changes = st.fixed_dictionaries({}, optional={
    "content": clean_objects, "metadata": st.one_of(st.none(), clean_objects)}).map(dumps)

# name -> (kind, wild strategy, sane strategy); kind is text, jsonb or int (how it is
# passed in SQL). For db_id/table the sane pair is drawn together (`table` needs db_id).
PARAMS = {
    "learnings_list": {
        "learning_type": ("text", wild(learning_types), sometimes(sane_types, 3)),
        "user_id": ("text", wild(user_ids), sometimes(st.sampled_from(USERS), 3)),
        "agent_id": ("text", wild(fields), sometimes(sane_names, 6)),
        "team_id": ("text", wild(fields), sometimes(sane_names, 6)),
        "session_id": ("text", wild(fields), sometimes(sane_names, 6)),
        "namespace": ("text", wild(namespaces), sometimes(st.sampled_from(["global", "user", "team-a"]), 6)),
        "entity_id": ("text", wild(fields), sometimes(sane_names, 6)),
        "entity_type": ("text", wild(fields), sometimes(sane_names, 6)),
        "limit": ("int", wild(ints), sometimes(st.integers(1, 1000).map(str))),
        "page": ("int", wild(ints), sometimes(st.integers(1, 4).map(str))),
        "sort_by": ("text", wild(sort_bys), sometimes(sort_bys)),
        "sort_order": ("text", wild(sort_orders), sometimes(st.sampled_from(["asc", "desc"]))),
        "db_id": ("text", wild(db_ids), sane_db), "table": ("text", wild(tables), sane_table),
    },
    "learnings_create": {
        "learning_type": ("text", wild(learning_types), sane_types),
        "content": ("jsonb", wild(json_documents()), sane_content),
        "namespace": ("text", wild(namespaces), sometimes(st.sampled_from(["global", "user", "team-a", ""]))),
        "user_id": ("text", wild(user_ids), sometimes(st.sampled_from(USERS), 3)),
        "agent_id": ("text", wild(fields), sometimes(sane_names, 3)),
        "team_id": ("text", wild(fields), sometimes(sane_names, 3)),
        "session_id": ("text", wild(fields), sometimes(sane_names, 1)),
        "entity_id": ("text", wild(fields), sometimes(sane_names, 1)),
        "entity_type": ("text", wild(fields), sometimes(sane_names, 1)),
        "metadata": ("jsonb", wild(json_documents()), sometimes(st.one_of(sane_content, st.just("null")))),
        "db_id": ("text", wild(db_ids), sane_db), "table": ("text", wild(tables), sane_table),
    },
    "learnings_get": {
        "learning_id": ("text", wild(learning_ids), sane_ids),
        "db_id": ("text", wild(db_ids), sane_db), "table": ("text", wild(tables), sane_table),
    },
    "learnings_update": {
        "learning_id": ("text", wild(learning_ids), sane_ids),
        "changes": ("jsonb", wild(changes), sane_changes),
        "db_id": ("text", wild(db_ids), sane_db), "table": ("text", wild(tables), sane_table),
    },
    "learnings_delete": {
        "learning_id": ("text", wild(learning_ids), sane_ids),
        "db_id": ("text", wild(db_ids), sane_db), "table": ("text", wild(tables), sane_table),
    },
    "learnings_list_users": {
        "learning_type": ("text", wild(learning_types), sometimes(sane_types, 3)),
        "user_id": ("text", wild(user_ids), sometimes(st.sampled_from(USERS), 3)),
        "limit": ("int", wild(ints), sometimes(st.integers(1, 1000).map(str))),
        "page": ("int", wild(ints), sometimes(st.integers(1, 4).map(str))),
        "sort_by": ("text", wild(sort_bys), sometimes(st.sampled_from(["user_id", "last_learning_updated_at"]))),
        "sort_order": ("text", wild(sort_orders), sometimes(st.sampled_from(["asc", "desc"]))),
        "db_id": ("text", wild(db_ids), sane_db), "table": ("text", wild(tables), sane_table),
    },
    "learnings_delete_user": {
        "user_id": ("text", wild(user_ids), st.sampled_from(USERS)),
        "learning_type": ("text", wild(learning_types), sometimes(sane_types)),
        "db_id": ("text", wild(db_ids), sane_db), "table": ("text", wild(tables), sane_table),
    },
}

FUNCTIONS = list(PARAMS)
WRITERS = {"learnings_create", "learnings_update", "learnings_delete", "learnings_delete_user"}

register_targets = st.one_of(
    st.sampled_from(["spare.learnings", '"spare"."learnings"', "ai.agno_learnings", "tenant.learnings"]),
    st.sampled_from(["ai.agno_learnings", "tenant.learnings", "spare.learnings", "spare.no_key", "spare.bad_layout",
                     "spare.extra_not_null", "spare.a_view", "spare.a_sequence", "spare.foreign_owner",
                     "spare.trigger_granted", "pg_catalog.pg_class", "agno_learnings_internal.learnings_tables",
                     "learnings", "no_such.table", f"{DB}.ai.agno_learnings", "other_db.ai.agno_learnings",
                     "a.b.c.d", '"spare"."learnings"', "SPARE.LEARNINGS", "0", "1259", "4294967295", "-1",
                     "99999999999", "", " ", "-"]),
    sql_text,
)


@st.composite
def arguments(draw, function):
    """{parameter: (kind, value)} for one call; OMIT values are left out. Half the calls
    are sane (what a well-behaved client sends), most of them with one parameter made
    wild; the other half are wild throughout."""
    params = PARAMS[function]
    mode = draw(st.sampled_from(["sane", "mutated", "mutated", "wild", "wild"]))
    mutated = draw(st.sampled_from(sorted(params))) if mode == "mutated" else None
    out = {}
    for name, (kind, wild_values, sane_values) in params.items():
        value = draw(wild_values if mode == "wild" or name == mutated else sane_values)
        if value is not OMIT:
            out[name] = (kind, value)
    if mode != "wild" and "table" in out and out["table"][1] and "db_id" not in out:
        out["db_id"] = ("text", DB)  # a sane table comes with its db_id
    return out
