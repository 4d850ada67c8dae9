"""Every deliberate difference between the AgentOS door and agno 3.1.10's own router: the
one table, used by the differential test (test_differential.py) and copied into the
docs ("AgentOS paths (nginx)" in docs/http.md), which test_door.py checks.

Each entry says what differs, why, and `applies(step, agno, door)`: whether it explains a
step whose normalised answers differ. `agno` and `door` are Answer objects (status,
normalised body, raw body). An entry is as narrow as its reason: anything it does not
explain is a mismatch, and fails the test.
"""

from dataclasses import dataclass
from typing import Callable

MISSING_IDENTITY = "Authenticated request is missing a user identity"


@dataclass
class Difference:
    key: str
    what: str
    why: str
    applies: Callable


def _detail(answer):
    body = answer.body
    return body.get("detail") if isinstance(body, dict) else None


def _is_page(answer):
    return answer.status == 200 and isinstance(answer.body, dict) and "data" in answer.body


def _sort_key(step, record):
    if "last_learning_updated_at" in record or step.route == "users":
        if step.query_value("sort_by") == "user_id":
            return record.get("user_id")
        return record.get("last_learning_updated_at")
    if step.query_value("sort_by") == "created_at":
        return record.get("created_at")
    updated = record.get("updated_at")
    return updated if updated is not None else record.get("created_at")


def _sorted_by_own_keys(step, answer):
    keys = [_sort_key(step, r) for r in answer.raw["data"]]
    if any(k is None for k in keys):
        return False
    want = sorted(keys, reverse=step.query_value("sort_order") != "asc")
    return keys == want


def _tie_order(step, agno, door):
    """Same page, same totals, each answer sorted by its own clock; records that differ in
    place or membership tie on their sort key (within the page, or with its edge)."""
    if not (_is_page(agno) and _is_page(door)) or agno.body["meta"] != door.body["meta"]:
        return False
    if len(agno.body["data"]) != len(door.body["data"]):
        return False
    if not (_sorted_by_own_keys(step, agno) and _sorted_by_own_keys(step, door)):
        return False
    a = [_canon(r) for r in agno.body["data"]]
    d = [_canon(r) for r in door.body["data"]]
    if sorted(a) == sorted(d):
        return True
    # A tie group cut by the page's edge: each record in one page only must tie with the
    # edge record of its own page.
    for answer, mine, other in ((agno, a, d), (door, d, a)):
        raw = answer.raw["data"]
        edges = {_sort_key(step, raw[0]), _sort_key(step, raw[-1])}
        for record, canon in zip(raw, mine):
            if canon not in other and _sort_key(step, record) not in edges:
                return False
    return True


def _canon(record):
    import json
    return json.dumps(record, sort_keys=True)


def _sort_by_column(step, agno, door):
    """A list sorted by agno by another column (or not at all): the same totals and page
    size, and on a page that holds every match, the same records."""
    sort_by = step.query_value("sort_by")
    if step.route != "list" or sort_by in (None, "created_at", "updated_at"):
        return False
    if not (_is_page(agno) and _is_page(door)) or agno.body["meta"] != door.body["meta"]:
        return False
    if len(agno.body["data"]) != len(door.body["data"]):
        return False
    meta = door.body["meta"]
    if meta["total_count"] <= meta["limit"] and meta["page"] == 1:
        return sorted(map(_canon, agno.body["data"])) == sorted(map(_canon, door.body["data"]))
    return True


def _token_wording(step, agno, door):
    return (agno.status == door.status == 401
            and str(_detail(agno)).startswith("Invalid token")
            and str(_detail(door)).startswith("Invalid token"))


def _bare_token(step, agno, door):
    return step.caller == "bare" and door.status == 401


def _no_identity_lookup(step, agno, door):
    return (step.caller == "nosub" and step.route in ("get", "update", "delete")
            and door.status == 403 and _detail(door) == MISSING_IDENTITY
            and agno.status in (400, 404))


def _empty_field(step, agno, door):
    body = step.json_body
    if step.route != "create" or not isinstance(body, dict) or door.status != 422:
        return False
    fields = ("learning_type", "user_id", "agent_id", "team_id", "session_id", "entity_id", "entity_type")
    return any(body.get(f) == "" for f in fields) and agno.status in (201, 400, 404, 409, 422)


def _empty_namespace(step, agno, door):
    body = step.json_body
    if (step.route != "create" or not isinstance(body, dict) or body.get("namespace") != ""
            or body.get("learning_type") == "entity_memory" or agno.status != door.status):
        return False
    if not (isinstance(agno.body, dict) and isinstance(door.body, dict)):
        return False
    return (agno.body.get("namespace") == "" and door.body.get("namespace") is None
            and {**agno.body, "namespace": None} == door.body)


def _unknown_patch_key(step, agno, door):
    body = step.json_body
    return (step.route == "update" and isinstance(body, dict)
            and any(k not in ("content", "metadata") for k in body)
            and agno.status == 200 and door.status == 422
            and "may only contain 'content' and 'metadata'" in str(_detail(door)))


def _slash_in_id(step, agno, door):
    return "%2F" in step.sent.upper() and agno.status == 404 and _detail(agno) in ("Not Found", "Learning not found")


def _nul_character(step, agno, door):
    if not step.has_nul:
        return False
    # nginx refuses a %00 anywhere in a URI's path with its own 400.
    return (door.status == 400 and _detail(door) == "Bad Request") or (
        agno.status == 500 and door.status in (404, 422))


def _hidden_conflict(step, agno, door):
    return (step.route == "create" and agno.status == 409 and door.status == 404
            and _detail(door) == "Learning not found")


DIFFERENCES = [
    Difference(
        "tie-order",
        "Records that tie on the sort key (written in the same second) come in learning_id "
        "order; agno leaves ties in PostgreSQL's arbitrary order.",
        "The contract's total order: pages never repeat or skip a record.",
        _tie_order,
    ),
    Difference(
        "sort-by-column",
        "A list's sort_by other than created_at or updated_at is ignored (the default order); "
        "agno 3.1.10 sorts by any column of its table that has that name (user_id, "
        "learning_type, content, ...) and leaves an unknown name unsorted.",
        "AgentOS documents an unrecognised sort_by as ignored with the default order used, and "
        "the contract's order is total and index-served (a page costs its own rows, not a sort "
        "of every match).",
        _sort_by_column,
    ),
    Difference(
        "token-wording",
        "A refused token (401) is explained after agno's \"Invalid token: \" in PostgREST's "
        "or the extension's words, not PyJWT's.",
        "Tokens are verified by PostgREST and inside PostgreSQL (jsonwebtoken), not by PyJWT; "
        "the status and the prefix are agno's (\"Token has expired\" and \"Authorization "
        "header missing\" are agno's exact words).",
        _token_wording,
    ),
    Difference(
        "bare-token",
        "An Authorization header holding a token without the \"Bearer \" scheme is 401; agno "
        "also takes the bare token.",
        "The door passes the Authorization header to PostgREST unchanged, and PostgREST reads "
        "bearer tokens only (RFC 6750).",
        _bare_token,
    ),
    Difference(
        "no-identity-lookup",
        "A verified token without `sub` (user isolation on) is 403 on get/patch/delete before "
        "any lookup; agno first looks the record (and db_id/table) up, answering 404 for a "
        "missing id and 403 for an existing one.",
        "A caller with no identity cannot learn which ids exist; every other check of such a "
        "token is in agno's order (401, scopes, 404/405, 422 before the 403).",
        _no_identity_lookup,
    ),
    Difference(
        "empty-field",
        "A create with an empty learning_type or identity field (\"\" for learning_type, "
        "user_id, session_id, entity_id, entity_type, agent_id, team_id) is 422; agno stores "
        "it (an empty learning_type gets a generated id).",
        "No agno store reads such a record back (stores look records up by type and identity), "
        "and an empty owner is not a user: the contract refuses empty identity fields at "
        "every door (an empty namespace still means `global`, as in agno).",
        _empty_field,
    ),
    Difference(
        "empty-namespace",
        "An empty namespace on a record of a type other than entity_memory is stored (and "
        "answered) as null; agno stores the empty string.",
        "An empty namespace counts as absent at every door of the extension (for entity_memory "
        "it is the default `global`, as in agno); no agno store reads a namespace of these "
        "types.",
        _empty_namespace,
    ),
    Difference(
        "unknown-patch-key",
        "A PATCH body with keys other than content and metadata is 422 naming the key; agno "
        "ignores them. Lookup and ownership (404/403) still answer first, as in agno.",
        "Identity fields are immutable: a change the caller asked for and that is silently "
        "dropped is a lost write (the contract's deliberate difference).",
        _unknown_patch_key,
    ),
    Difference(
        "slash-in-id",
        "A percent-encoded \"/\" (%2F) in a path id or user id is part of it, so every stored "
        "id can be read, changed and deleted; agno's server decodes it before routing (404 "
        "Not Found, or another id when it ends the path).",
        "Ids derived from session or entity ids may hold \"/\" (URLs, paths); agno's "
        "clients cannot reach such records at all.",
        _slash_in_id,
    ),
    Difference(
        "hidden-conflict",
        "A scoped caller creating an identity-keyed record that exists but belongs to another "
        "user (or to nobody) gets 404; agno answers 409 naming the id.",
        "A 409 would confirm a record the caller may not see (the contract: 404, as agno "
        "answers for another user's session).",
        _hidden_conflict,
    ),
    Difference(
        "nul-character",
        "U+0000 in a path is 400 (nginx refuses it in any URI); in a query parameter or body "
        "string 422; agno answers 500 (or checks db_id first).",
        "PostgreSQL text cannot hold U+0000: no such record can exist, and the caller's value, "
        "not the server, is at fault.",
        _nul_character,
    ),
    Difference(
        "non-finite-json",
        "A body holding NaN, Infinity or a lone UTF-16 surrogate escape (\\ud800) is 422; "
        "agno's JSON reader accepts them and its store then fails (500), after its other checks "
        "(db_id, table, ownership), which the door's refusal comes before.",
        "Neither JSON documents nor PostgreSQL's jsonb can hold them.",
        lambda step, agno, door: step.non_finite and door.status == 422 and agno.status in (400, 403, 404, 409, 500),
    ),
    Difference(
        "body-cap",
        "A request body over 4 MiB is 413 (nginx's client_max_body_size); agno reads any size.",
        "agno_learnings.max_document_bytes caps content and metadata (1 MiB each by default); "
        "the door refuses what cannot be stored before reading it whole.",
        lambda step, agno, door: step.body is not None and len(step.body) > 4 * 1024 * 1024
        and door.status == 413,
    ),
]

BY_KEY = {d.key: d for d in DIFFERENCES}


def explain(step, agno, door):
    """The key of the difference that explains the step's answers, or None."""
    for difference in DIFFERENCES:
        if difference.applies(step, agno, door):
            return difference.key
    return None
