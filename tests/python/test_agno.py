"""Contract section 1: agno 3.1.10's own client keeps working against the extension's
table, and records cross between agno's learning stores and the SQL API under the same
ids. agno connects as the table's owner, as the agent runtime does."""

import json
import os

import pytest
from agno.db.postgres import PostgresDb
from agno.learn.config import EntityMemoryConfig, SessionContextConfig, UserMemoryConfig, UserProfileConfig
from agno.learn.stores.entity_memory import EntityMemoryStore
from agno.learn.stores.session_context import SessionContextStore
from agno.learn.stores.user_memory import UserMemoryStore
from agno.learn.stores.user_profile import UserProfileStore
from agno.learn.utils import build_learning_id

from conftest import create_database, drop_database, run_sql


def agno_db(dbname, user="postgres"):
    url = f"postgresql+psycopg://{user}@/{dbname}?host={os.environ['PGHOST']}&port={os.environ['PGPORT']}"
    return PostgresDb(db_url=url, db_schema="ai")


def sql_json(dbname, sql, *params):
    value = run_sql(dbname, sql, params)[0][0]
    return value if not isinstance(value, str) else json.loads(value)


@pytest.fixture
def db(cluster):
    name = create_database("agno_client")
    yield name
    drop_database(name)


def test_agno_db_methods_work_on_the_extension_table(db):
    agno = agno_db(db)
    agno.upsert_learning(id="user_profile_alice", learning_type="user_profile", user_id="alice",
                         content={"user_id": "alice", "name": "Alice"})
    agno.upsert_learning(id="memories_alice", learning_type="user_memory", user_id="alice",
                         content={"user_id": "alice", "memories": []})
    agno.upsert_learning(id="entity_global_company_acme", learning_type="entity_memory", namespace="global",
                         entity_id="acme", entity_type="company", content={"entity_id": "acme"})
    assert agno.get_learning(learning_type="user_profile", user_id="alice")["content"]["name"] == "Alice"
    assert agno.get_learning_by_id("memories_alice")["learning_type"] == "user_memory"
    records, total = agno.list_learnings(user_id="alice", include_global=True)
    assert total == 3 and {r["learning_id"] for r in records} == {
        "user_profile_alice", "memories_alice", "entity_global_company_acme"}
    assert agno.update_learning("user_profile_alice", content={"user_id": "alice", "name": "Alice A."})
    assert agno.get_learning_by_id("user_profile_alice")["content"]["name"] == "Alice A."
    # Every write agno made is what the SQL API returns.
    assert sql_json(db, "SELECT ai.learnings_get('user_profile_alice')")["content"]["name"] == "Alice A."
    assert sql_json(db, "SELECT ai.learnings_list(user_id => 'alice')")["meta"]["total_count"] == 2
    assert agno.delete_learning("entity_global_company_acme")
    assert agno.delete_user_learnings("alice") == 2
    assert run_sql(db, "SELECT count(*) FROM ai.agno_learnings")[0][0] == 0


def test_records_created_through_sql_are_found_by_agnos_stores(db):
    create = "SELECT ai.learnings_create(learning_type => %s, user_id => %s, session_id => %s, " \
             "namespace => %s, entity_id => %s, entity_type => %s, content => %s::jsonb)"
    rows = [
        ("user_profile", "alice", None, None, None, None, {"user_id": "alice", "name": "Alice"}),
        ("user_memory", "alice", None, None, None, None,
         {"user_id": "alice", "memories": [{"memory_id": "m1", "memory": "likes tea"}]}),
        ("session_context", "alice", "s-1", None, None, None, {"session_id": "s-1", "summary": "planning"}),
        ("entity_memory", None, None, None, "acme", "company", {"entity_id": "acme", "entity_type": "company", "name": "Acme"}),
        ("entity_memory", "alice@example.com", None, "user", "bob", "person",
         {"entity_id": "bob", "entity_type": "person", "name": "Bob"}),
    ]
    for learning_type, user, session, namespace, entity_id, entity_type, content in rows:
        record = sql_json(db, create, learning_type, user, session, namespace, entity_id, entity_type, json.dumps(content))
        # The id is agno's own.
        assert record["learning_id"] == build_learning_id(
            learning_type, user_id=user, session_id=session, entity_id=entity_id,
            entity_type=entity_type, namespace=namespace)
    agno = agno_db(db)
    assert UserProfileStore(config=UserProfileConfig(db=agno)).get("alice").name == "Alice"
    memories = UserMemoryStore(config=UserMemoryConfig(db=agno)).get("alice")
    assert memories.memories[0]["memory"] == "likes tea"
    assert SessionContextStore(config=SessionContextConfig(db=agno)).get("s-1").summary == "planning"
    assert EntityMemoryStore(config=EntityMemoryConfig(db=agno)).get("acme", "company").name == "Acme"
    user_store = EntityMemoryStore(config=EntityMemoryConfig(db=agno, namespace="user"))
    assert user_store.get("bob", "person", user_id="alice@example.com").name == "Bob"
    assert user_store.get("bob", "person", user_id="mallory") is None


def test_records_written_by_agnos_stores_are_returned_by_the_sql_api(db):
    agno = agno_db(db)
    UserProfileStore(config=UserProfileConfig(db=agno)).save("alice", {"user_id": "alice", "name": "Alice"})
    SessionContextStore(config=SessionContextConfig(db=agno)).save("s-1", {"session_id": "s-1", "summary": "hi"})
    # agno writes a missing metadata as JSON null; the API reads it back as null.
    assert run_sql(db, "SELECT metadata::text FROM ai.agno_learnings WHERE learning_id = 'user_profile_alice'")[0][0] == "null"
    record = sql_json(db, "SELECT ai.learnings_get('user_profile_alice')")
    assert record["content"]["name"] == "Alice" and record["metadata"] is None and record["user_id"] == "alice"
    listed = sql_json(db, "SELECT ai.learnings_list()")
    assert sorted(r["learning_id"] for r in listed["data"]) == ["session_context_s-1", "user_profile_alice"]
    # A create of the same identity through the API is a conflict, never an overwrite.
    with pytest.raises(Exception) as error:
        run_sql(db, "SELECT ai.learnings_create(learning_type => 'user_profile', user_id => 'alice', content => '{}')")
    assert getattr(error.value, "sqlstate", None) == "23505"
    assert UserProfileStore(config=UserProfileConfig(db=agno)).get("alice").name == "Alice"
