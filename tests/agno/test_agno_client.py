"""Contract section 1: agno 3.1.10's own client keeps working against the extension's
table, unchanged, and records cross between agno's learning stores and the SQL API under
the same ids.

agno connects as the table's owner (RUNTIME_ROLE, a login role that is neither superuser
nor BYPASSRLS, given the table with ALTER TABLE ... OWNER TO), as the agent runtime does.
The SQL API is called as the superuser of the test cluster (a trusted backend: unscoped).

agno's PostgresDb.upsert_learning and the stores' get/save swallow errors (they log and
return None), so every write is checked by reading the table back.
"""

import uuid

import psycopg
import pytest
from agno.learn.config import EntityMemoryConfig, SessionContextConfig, UserMemoryConfig, UserProfileConfig
from agno.learn.stores.entity_memory import EntityMemoryStore
from agno.learn.stores.session_context import SessionContextStore
from agno.learn.stores.user_memory import UserMemoryStore
from agno.learn.stores.user_profile import UserProfileStore
from agno.learn.utils import build_learning_id

from agnotest import RUNTIME_ROLE, agno_db, api, close_agno, connect, error_text, one, run_sql, sqlstate

RECORD_KEYS = {"learning_id", "learning_type", "namespace", "user_id", "agent_id", "team_id", "session_id",
               "entity_id", "entity_type", "content", "metadata", "created_at", "updated_at"}


@pytest.fixture
def agno(ext_db):
    db = agno_db(ext_db, RUNTIME_ROLE)
    yield db
    close_agno(db)


def row(dbname, learning_id):
    """The stored row as a dict (None when absent)."""
    with connect(dbname) as conn:
        cur = conn.execute("SELECT * FROM ai.agno_learnings WHERE learning_id = %s", (learning_id,))
        found = cur.fetchone()
        return dict(zip([d.name for d in cur.description], found)) if found else None


def count(dbname, where="true", params=None):
    return one(dbname, f"SELECT count(*) FROM ai.agno_learnings WHERE {where}", params)


# ---------------------------------------------------------------------------------------
# PostgresDb's learning methods, as the table owner

def test_the_runtime_role_owns_the_table_and_is_not_privileged(ext_db):
    assert one(ext_db, "SELECT relowner::regrole::text FROM pg_class WHERE oid = 'ai.agno_learnings'::regclass") \
        == RUNTIME_ROLE
    assert run_sql(ext_db, "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (RUNTIME_ROLE,)) \
        == [(False, False)]
    # Row-level security is on (the owner is exempt, as the contract says the runtime is).
    assert one(ext_db, "SELECT relrowsecurity FROM pg_class WHERE oid = 'ai.agno_learnings'::regclass")


def test_upsert_learning_inserts_and_updates_in_place(ext_db, agno):
    agno.upsert_learning(id="user_profile_alice", learning_type="user_profile", user_id="alice",
                         agent_id="agent-1", team_id="team-1", content={"user_id": "alice", "name": "Alice"})
    stored = row(ext_db, "user_profile_alice")
    assert stored is not None, "agno's upsert_learning wrote nothing (it swallows the error)"
    assert stored["learning_type"] == "user_profile" and stored["user_id"] == "alice"
    assert stored["agent_id"] == "agent-1" and stored["team_id"] == "team-1"
    assert stored["content"] == {"user_id": "alice", "name": "Alice"}
    assert isinstance(stored["created_at"], int) and stored["updated_at"] == stored["created_at"]
    # agno writes a missing metadata as JSON null, not SQL NULL.
    assert one(ext_db, "SELECT metadata::text FROM ai.agno_learnings WHERE learning_id = 'user_profile_alice'") \
        == "null"

    # The same id again: ON CONFLICT (learning_id) DO UPDATE, one row, new content and metadata.
    agno.upsert_learning(id="user_profile_alice", learning_type="user_profile", user_id="alice",
                         content={"user_id": "alice", "name": "Alice B."}, metadata={"v": 2})
    assert count(ext_db) == 1
    stored = row(ext_db, "user_profile_alice")
    assert stored["content"]["name"] == "Alice B." and stored["metadata"] == {"v": 2}


def test_get_learning_and_get_learning_by_id(ext_db, agno):
    agno.upsert_learning(id="memories_bob", learning_type="user_memory", user_id="bob",
                         content={"user_id": "bob", "memories": [{"id": "m1", "content": "likes tea ☕"}]},
                         metadata={"source": "chat"})
    agno.upsert_learning(id="session_context_s-1", learning_type="session_context", session_id="s-1",
                         content={"session_id": "s-1", "summary": "planning"})
    assert count(ext_db) == 2
    got = agno.get_learning(learning_type="user_memory", user_id="bob")
    assert got == {"content": {"user_id": "bob", "memories": [{"id": "m1", "content": "likes tea ☕"}]}}
    assert agno.get_learning(learning_type="session_context", session_id="s-1")["content"]["summary"] == "planning"
    assert agno.get_learning(learning_type="user_memory", user_id="nobody") is None

    by_id = agno.get_learning_by_id("memories_bob")
    assert by_id is not None
    assert {"learning_id", "learning_type", "user_id", "content", "metadata", "created_at", "updated_at"} <= set(by_id)
    assert by_id["learning_id"] == "memories_bob" and by_id["metadata"] == {"source": "chat"}
    assert agno.get_learning_by_id("no-such-id") is None


def test_list_learnings_filters_pages_and_sorts(ext_db, agno):
    for i in range(7):
        agno.upsert_learning(id=f"user_profile_u{i}", learning_type="user_profile", user_id=f"u{i % 2}-{i}",
                             agent_id=f"agent{i % 2}", content={"i": i})
    agno.upsert_learning(id="entity_global_company_acme", learning_type="entity_memory", namespace="global",
                         entity_id="acme", entity_type="company", content={"entity_id": "acme"})
    agno.upsert_learning(id="memories_u0-0", learning_type="user_memory", user_id="u0-0", content={"m": []})
    assert count(ext_db) == 9
    # Distinct timestamps, so the sort is observable (agno writes whole seconds).
    run_sql(ext_db, "UPDATE ai.agno_learnings SET created_at = 1700000000 + ascii(right(learning_id, 1)), "
                    "updated_at = 1800000000 - ascii(right(learning_id, 1))")

    records, total = agno.list_learnings()
    assert total == 9 and len(records) == 9
    records, total = agno.list_learnings(learning_type="user_profile", limit=3, page=2)
    assert total == 7 and len(records) == 3
    records, total = agno.list_learnings(user_id="u0-0", include_global=True)
    assert total == 3 and {r["learning_id"] for r in records} == {
        "user_profile_u0", "memories_u0-0", "entity_global_company_acme"}
    records, total = agno.list_learnings(agent_id="agent1")
    assert total == 3
    records, total = agno.list_learnings(namespace="global", entity_type="company")
    assert [r["learning_id"] for r in records] == ["entity_global_company_acme"] and total == 1
    records, _ = agno.list_learnings(learning_type="user_profile", sort_by="created_at", sort_order="asc")
    assert [r["content"]["i"] for r in records] == list(range(7))

    # The SQL API sees the same rows.
    listed = api(ext_db, "learnings_list", learning_type="user_profile", sort_by="created_at", sort_order="asc")
    assert [r["learning_id"] for r in listed["data"]] == [r["learning_id"] for r in records]
    assert listed["meta"]["total_count"] == 7


def test_update_learning_and_the_sql_api_agree(ext_db, agno):
    agno.upsert_learning(id="user_profile_carol", learning_type="user_profile", user_id="carol",
                         content={"user_id": "carol", "name": "Carol"})
    assert agno.update_learning("user_profile_carol", content={"user_id": "carol", "name": "Carol C."},
                                metadata={"edited": True}) is True
    stored = row(ext_db, "user_profile_carol")
    assert stored["content"]["name"] == "Carol C." and stored["metadata"] == {"edited": True}
    record = api(ext_db, "learnings_get", learning_id="user_profile_carol")
    assert record["content"]["name"] == "Carol C." and record["metadata"] == {"edited": True}
    # agno's update of a missing id is False, not an insert.
    assert agno.update_learning("user_profile_nobody", content={"x": 1}) is False
    assert count(ext_db) == 1

    # An update made through the API is what agno reads.
    api(ext_db, "learnings_update", learning_id="user_profile_carol", changes={"content": {"name": "Carol D."}})
    assert agno.get_learning(learning_type="user_profile", user_id="carol")["content"] == {"name": "Carol D."}


def test_delete_learning_and_delete_user_learnings(ext_db, agno):
    for learning_type, learning_id in [("user_profile", "user_profile_dave"), ("user_memory", "memories_dave")]:
        agno.upsert_learning(id=learning_id, learning_type=learning_type, user_id="dave", content={"k": 1})
    agno.upsert_learning(id="session_context_s-9", learning_type="session_context", session_id="s-9",
                         user_id="dave", content={"k": 2})
    agno.upsert_learning(id="entity_global_person_eve", learning_type="entity_memory", namespace="global",
                         entity_id="eve", entity_type="person", content={"k": 3})
    api(ext_db, "learnings_create", learning_type="user_profile", user_id="frank", content={"k": 4})
    assert count(ext_db) == 5

    assert agno.delete_learning("entity_global_person_eve") is True
    assert agno.delete_learning("entity_global_person_eve") is False
    assert agno.delete_user_learnings("dave", learning_type="user_memory") == 1
    assert agno.delete_user_learnings("dave") == 2
    assert agno.delete_user_learnings("dave") == 0
    # Only frank's row, created through the API, is left; agno deletes it too.
    assert [r[0] for r in run_sql(ext_db, "SELECT learning_id FROM ai.agno_learnings")] == ["user_profile_frank"]
    assert agno.delete_user_learnings("frank") == 1
    assert count(ext_db) == 0
    assert api(ext_db, "learnings_list")["meta"]["total_count"] == 0


# ---------------------------------------------------------------------------------------
# records created through the SQL API, read by agno's learning stores

SQL_CREATED = [
    # (learning_type, user_id, session_id, namespace, entity_id, entity_type, content)
    ("user_profile", "alice", None, None, None, None,
     {"user_id": "alice", "name": "Alice", "preferred_name": "Al"}),
    ("user_memory", "alice", None, None, None, None,
     {"user_id": "alice", "memories": [{"id": "m1", "content": "likes green tea 🍵"}]}),
    ("session_context", "alice", "sess-1", None, None, None,
     {"session_id": "sess-1", "summary": "planning a trip to Zürich"}),
    ("entity_memory", None, None, "global", "acme", "company",
     {"entity_id": "acme", "entity_type": "company", "name": "Acme Corp", "facts": [{"id": "f1", "content": "uses PG"}]}),
    ("entity_memory", None, None, None, "initech", "company",
     {"entity_id": "initech", "entity_type": "company", "name": "Initech"}),
    ("entity_memory", "alice@example.com", None, "user", "bob", "person",
     {"entity_id": "bob", "entity_type": "person", "name": "Bob", "description": "Alice's colleague"}),
]


def create_through_sql(dbname):
    records = {}
    for learning_type, user, session, namespace, entity_id, entity_type, content in SQL_CREATED:
        args = dict(learning_type=learning_type, content=content, user_id=user, session_id=session,
                    namespace=namespace, entity_id=entity_id, entity_type=entity_type,
                    metadata={"created_via": "sql"})
        record = api(dbname, "learnings_create", **{k: v for k, v in args.items() if v is not None})
        assert set(record) == RECORD_KEYS, record
        # The id is the one agno's stores compute for the same identity.
        expected = build_learning_id(learning_type, user_id=user, session_id=session, entity_id=entity_id,
                                     entity_type=entity_type, namespace=namespace)
        assert record["learning_id"] == expected, (learning_type, record)
        records[expected] = record
    return records


def test_records_created_through_sql_are_found_by_agnos_stores(ext_db, agno):
    records = create_through_sql(ext_db)
    assert count(ext_db) == len(SQL_CREATED)
    # A missing namespace is stored as global (agno's default), where agno's store looks.
    assert records["entity_global_company_initech"]["namespace"] == "global"

    profile = UserProfileStore(config=UserProfileConfig(db=agno)).get("alice")
    assert profile is not None and profile.name == "Alice" and profile.preferred_name == "Al"
    memories = UserMemoryStore(config=UserMemoryConfig(db=agno)).get("alice")
    assert memories is not None and memories.memories == [{"id": "m1", "content": "likes green tea 🍵"}]
    context = SessionContextStore(config=SessionContextConfig(db=agno)).get("sess-1")
    assert context is not None and context.summary == "planning a trip to Zürich"

    global_store = EntityMemoryStore(config=EntityMemoryConfig(db=agno, namespace="global"))
    acme = global_store.get("acme", "company")
    assert acme is not None and acme.name == "Acme Corp" and acme.facts == [{"id": "f1", "content": "uses PG"}]
    assert global_store.get("initech", "company").name == "Initech"
    assert {e.entity_id for e in global_store.list_entities(entity_type="company")} == {"acme", "initech"}

    user_store = EntityMemoryStore(config=EntityMemoryConfig(db=agno, namespace="user"))
    bob = user_store.get("bob", "person", user_id="alice@example.com")
    assert bob is not None and bob.name == "Bob"
    assert user_store.get("bob", "person", user_id="mallory") is None
    assert global_store.get("bob", "person") is None

    # By id, agno's get_learning_by_id returns the same row, metadata included.
    for learning_id, record in records.items():
        stored = agno.get_learning_by_id(learning_id)
        assert stored is not None, learning_id
        for key in ("learning_type", "namespace", "user_id", "session_id", "entity_id", "entity_type", "content",
                    "created_at"):
            assert stored[key] == record[key], (learning_id, key)
        assert stored["metadata"] == {"created_via": "sql"}


def test_agnos_stores_update_sql_created_records_in_place(ext_db, agno):
    create_through_sql(ext_db)
    UserProfileStore(config=UserProfileConfig(db=agno)).save("alice", {"user_id": "alice", "name": "Alice Z."})
    SessionContextStore(config=SessionContextConfig(db=agno)).save(
        "sess-1", {"session_id": "sess-1", "summary": "trip booked"})
    # Same ids: agno's upserts hit the rows the API created, never a duplicate.
    assert count(ext_db) == len(SQL_CREATED)
    assert count(ext_db, "learning_type = 'user_profile' AND user_id = 'alice'") == 1
    assert api(ext_db, "learnings_get", learning_id="user_profile_alice")["content"]["name"] == "Alice Z."
    assert api(ext_db, "learnings_get", learning_id="session_context_sess-1")["content"]["summary"] == "trip booked"


# ---------------------------------------------------------------------------------------
# records written by agno's stores, read through the SQL API

def test_records_written_by_agnos_stores_are_returned_by_the_sql_api(ext_db, agno):
    UserProfileStore(config=UserProfileConfig(db=agno)).save("gina", {"user_id": "gina", "name": "Gina"})
    UserMemoryStore(config=UserMemoryConfig(db=agno)).save(
        "gina", {"user_id": "gina", "memories": [{"id": "m1", "content": "vegetarian 🥦"}]})
    SessionContextStore(config=SessionContextConfig(db=agno)).save("s-42", {"session_id": "s-42", "summary": "hi"})
    global_store = EntityMemoryStore(config=EntityMemoryConfig(db=agno, namespace="global"))
    user_store = EntityMemoryStore(config=EntityMemoryConfig(db=agno, namespace="user"))
    global_store.remember_about("Umbrella Corp", "company", description="biotech", facts=["based in Raccoon City"])
    user_store.remember_about("Hank Pym", "person", description="a friend", user_id="gina")
    agno.upsert_learning(id=str(uuid.uuid4()), learning_type="decision_log", agent_id="agent-7",
                         content={"decision": "use tool X"})

    rows = {r[0]: r for r in run_sql(ext_db, "SELECT learning_id, learning_type, namespace, user_id, metadata::text "
                                             "FROM ai.agno_learnings")}
    assert len(rows) == 6, f"agno's stores wrote {sorted(rows)}"
    expected_ids = {
        build_learning_id("user_profile", user_id="gina"),
        build_learning_id("user_memory", user_id="gina"),
        build_learning_id("session_context", session_id="s-42"),
    }
    assert expected_ids <= set(rows)
    entity_ids = {i for i, r in rows.items() if r[1] == "entity_memory"}
    assert len(entity_ids) == 2
    global_entity = next(i for i in entity_ids if rows[i][2] == "global")
    user_entity = next(i for i in entity_ids if rows[i][2] == "user")
    assert global_entity.startswith("entity_global_company_")
    assert user_entity.startswith("entity_user_") and rows[user_entity][3] == "gina"
    # agno wrote each missing metadata as JSON null.
    assert {r[4] for r in rows.values()} == {"null"}

    for learning_id in rows:
        record = api(ext_db, "learnings_get", learning_id=learning_id)
        assert set(record) == RECORD_KEYS
        assert record["learning_id"] == learning_id and record["metadata"] is None
        stored = agno.get_learning_by_id(learning_id)
        for key in RECORD_KEYS - {"metadata"}:
            assert record[key] == stored[key], (learning_id, key)
        assert isinstance(record["created_at"], int) and isinstance(record["updated_at"], int)

    listed = api(ext_db, "learnings_list")
    assert listed["meta"]["total_count"] == 6 and {r["learning_id"] for r in listed["data"]} == set(rows)
    assert all(r["metadata"] is None for r in listed["data"])
    assert api(ext_db, "learnings_list", user_id="gina")["meta"]["total_count"] == 3
    assert [r["learning_id"] for r in api(ext_db, "learnings_list", learning_type="entity_memory",
                                          namespace="global")["data"]] == [global_entity]
    users = api(ext_db, "learnings_list_users")
    assert [u["user_id"] for u in users["data"]] == ["gina"]

    # Creating an identity agno already wrote is a conflict (409), never an overwrite.
    with pytest.raises(psycopg.Error) as error:
        api(ext_db, "learnings_create", learning_type="user_profile", user_id="gina", content={"name": "X"})
    assert sqlstate(error.value) == "23505", error_text(error.value)
    assert "user_profile_gina" in error_text(error.value)
    assert UserProfileStore(config=UserProfileConfig(db=agno)).get("gina").name == "Gina"


def test_sql_null_and_json_null_metadata_both_read_back_as_null(ext_db, agno):
    agno.upsert_learning(id="user_profile_json_null", learning_type="user_profile", user_id="j", content={"a": 1})
    run_sql(ext_db, "INSERT INTO ai.agno_learnings (learning_id, learning_type, user_id, content, metadata, created_at) "
                    "VALUES ('user_profile_sql_null', 'user_profile', 's', '{}', NULL, 1700000000)")
    assert run_sql(ext_db, "SELECT learning_id, metadata IS NULL, metadata::text FROM ai.agno_learnings "
                           "ORDER BY learning_id") == [
        ("user_profile_json_null", False, "null"), ("user_profile_sql_null", True, None)]
    for learning_id in ("user_profile_json_null", "user_profile_sql_null"):
        record = api(ext_db, "learnings_get", learning_id=learning_id)
        assert "metadata" in record and record["metadata"] is None
    assert [r["metadata"] for r in api(ext_db, "learnings_list")["data"]] == [None, None]
    # agno reads both rows as it wrote them.
    assert agno.get_learning_by_id("user_profile_sql_null")["metadata"] is None
    assert agno.get_learning(learning_type="user_profile", user_id="s") == {"content": {}}


# ---------------------------------------------------------------------------------------
# a client cannot squat an identity that agno's runtime later fills with someone's data

def as_client(dbname, claims, statement):
    """Runs `statement` as a client role under PostgREST-style claims (this superuser
    session standing in for PostgREST's authenticator); returns its SQLSTATE or None."""
    run_sql(dbname, "DO $$ BEGIN CREATE ROLE agno_squatter NOLOGIN; EXCEPTION WHEN duplicate_object THEN END $$")
    run_sql(dbname, "GRANT USAGE ON SCHEMA ai TO agno_squatter")
    run_sql(dbname, "GRANT SELECT, INSERT, UPDATE, DELETE ON ai.agno_learnings TO agno_squatter")
    with connect(dbname, autocommit=False) as conn:
        try:
            conn.execute("SELECT set_config('agno_learnings.claims_login_roles', session_user, true)")
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (claims,))
            conn.execute("SET LOCAL ROLE agno_squatter")
            conn.execute(statement)
            conn.commit()
            return None
        except psycopg.Error as error:
            conn.rollback()
            return sqlstate(error)


def test_agnos_upserts_never_land_in_a_squatted_row(ext_db, agno):
    alice = '{"sub": "alice", "scopes": "learnings:read learnings:write"}'
    # alice takes bob's identity-keyed ids through the table (PostgREST's table endpoint):
    # refused, whatever owner she writes.
    for learning_id, learning_type in [("user_profile_bob", "user_profile"), ("memories_bob", "user_memory")]:
        state = as_client(ext_db, alice, f"""
            INSERT INTO ai.agno_learnings (learning_id, learning_type, user_id, content, created_at)
            VALUES ('{learning_id}', '{learning_type}', 'alice', '{{}}', 0)""")
        assert state == "PT422", (learning_id, state)
    # Her own row cannot be renamed into one either.
    api(ext_db, "learnings_create", learning_type="user_profile", user_id="alice", content={"name": "Alice"})
    assert as_client(ext_db, alice, "UPDATE ai.agno_learnings SET learning_id = 'user_profile_bob' "
                                    "WHERE learning_id = 'user_profile_alice'") == "PT422"
    assert count(ext_db, "learning_id IN ('user_profile_bob', 'memories_bob')") == 0
    # agno's runtime saves bob's profile and memories with its own upserts: they are bob's.
    UserProfileStore(config=UserProfileConfig(db=agno)).save("bob", {"user_id": "bob", "name": "Bob"})
    UserMemoryStore(config=UserMemoryConfig(db=agno)).save(
        "bob", {"user_id": "bob", "memories": [{"id": "m1", "content": "secret"}]})
    assert row(ext_db, "user_profile_bob")["user_id"] == "bob"
    assert row(ext_db, "memories_bob")["user_id"] == "bob"
    assert as_client(ext_db, alice, "SELECT ai.learnings_get('user_profile_bob')") == "PT404"
