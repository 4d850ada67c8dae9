"""Exact list totals (learnings_counts) after a randomized mixed workload through every
door that writes: the API, a client role's plain SQL under row-level security, agno's
own upserts as the table's owner (which may move a row to another owner or type),
COPY, delete_user and TRUNCATE, on the extension's table and on a registered one.
Every total a list reports must equal count(*) of the rows it lists.

The workload is seeded (TOTALS_SEED, default 7) so that a failure can be replayed.
"""

import json
import os
import random
import uuid

import psycopg
import pytest

from agnotest import RUNTIME_ROLE, agno_db, api, close_agno, connect, one, run_sql

USERS = ["alice", "bob", "carol", "dave", None]
TYPES = ["user_profile", "user_memory", "session_context", "entity_memory", "decision_log"]
STEPS = int(os.environ.get("TOTALS_STEPS", "300"))


def totals_match(dbname, table=None):
    """Every kept total of `table` (None: the default) against count(*): [] when all agree."""
    relation = f"team.{table}" if table else "ai.agno_learnings"
    extra = {"db_id": dbname, "table": table} if table else {}
    wrong = []
    for user in [None] + [u for u in USERS if u]:
        for learning_type in [None] + TYPES:
            listed = api(dbname, "learnings_list", user_id=user, learning_type=learning_type, limit=1, **extra)
            counted = one(dbname, f"SELECT count(*) FROM {relation} "
                                  "WHERE (%(u)s::text IS NULL OR user_id = %(u)s) "
                                  "AND (%(t)s::text IS NULL OR learning_type = %(t)s)",
                          {"u": user, "t": learning_type})
            if listed["meta"]["total_count"] != counted:
                wrong.append((user, learning_type, listed["meta"]["total_count"], counted))
    # A scoped caller: its rows and the shared ones.
    for user in [u for u in USERS if u]:
        with connect(dbname, autocommit=False) as conn:
            conn.execute("SELECT set_config('agno_learnings.claims_login_roles', session_user, true)")
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                         (json.dumps({"sub": user, "scopes": "learnings:read"}),))
            args = ", db_id => current_database(), \"table\" => %(t)s" if table else ""
            listed = conn.execute(f"SELECT ai.learnings_list(\"limit\" => 1{args})", {"t": table}).fetchone()[0]
            conn.rollback()
        counted = one(dbname, f"SELECT count(*) FROM {relation} WHERE user_id = %s OR user_id IS NULL", (user,))
        if listed["meta"]["total_count"] != counted:
            wrong.append(("scoped " + user, None, listed["meta"]["total_count"], counted))
    return wrong


def random_row(rng, owner=None):
    learning_type = rng.choice(TYPES)
    return {"learning_id": str(uuid.uuid4()), "learning_type": learning_type,
            "user_id": owner if owner is not None else rng.choice(USERS), "content": {"n": rng.random()}}


def workload(dbname, rng, steps, relation="ai.agno_learnings", table=None):
    """`steps` random writes through every door; returns how many of each ran."""
    done = {}
    agno = agno_db(dbname, RUNTIME_ROLE) if table is None else None
    client = "agno_totals_client"
    run_sql(dbname, f"DO $$ BEGIN CREATE ROLE {client} NOLOGIN; EXCEPTION WHEN duplicate_object THEN END $$")
    run_sql(dbname, f"GRANT USAGE ON SCHEMA {relation.split('.')[0]} TO {client}")
    run_sql(dbname, f"GRANT SELECT, INSERT, UPDATE, DELETE ON {relation} TO {client}")
    extra = {"db_id": dbname, "table": table} if table else {}
    try:
        for _ in range(steps):
            door = rng.choice(["api create", "api delete", "api delete_user", "client sql", "owner sql",
                               "agno upsert", "agno move", "copy", "truncate"] if agno else
                              ["api create", "api delete", "api delete_user", "client sql", "owner sql", "copy"])
            if door == "truncate" and rng.random() > 0.1:
                door = "api create"
            done[door] = done.get(door, 0) + 1
            if door == "api create":
                row = random_row(rng)
                api(dbname, "learnings_create", learning_type="decision_log", user_id=row["user_id"],
                    content=row["content"], **extra)
            elif door == "api delete":
                victim = one(dbname, f"SELECT learning_id FROM {relation} ORDER BY random() LIMIT 1")
                if victim:
                    api(dbname, "learnings_delete", learning_id=victim, **extra)
            elif door == "api delete_user":
                user = rng.choice([u for u in USERS if u])
                learning_type = rng.choice([None] + TYPES)
                api(dbname, "learnings_delete_user", user_id=user, learning_type=learning_type, **extra)
            elif door == "client sql":
                # A client under row-level security, as PostgREST's table endpoint writes.
                user = rng.choice([u for u in USERS if u])
                with connect(dbname, autocommit=False) as conn:
                    conn.execute("SELECT set_config('agno_learnings.claims_login_roles', session_user, true)")
                    conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                                 (json.dumps({"sub": user, "scopes": "learnings:read learnings:write "
                                                                     "learnings:delete"}),))
                    conn.execute(f"SET LOCAL ROLE {client}")
                    if rng.random() < 0.6:
                        conn.execute(f"INSERT INTO {relation} (learning_id, learning_type, user_id, content, "
                                     "created_at) VALUES (%s, 'decision_log', %s, '{}', 1)",
                                     (str(uuid.uuid4()), user))
                    else:
                        conn.execute(f"DELETE FROM {relation} WHERE learning_id IN "
                                     f"(SELECT learning_id FROM {relation} ORDER BY random() LIMIT 2)")
                    if rng.random() < 0.2:
                        conn.rollback()
                    else:
                        conn.commit()
            elif door == "owner sql":
                # The owner moves rows between owners and types, several per statement.
                run_sql(dbname, f"UPDATE {relation} SET user_id = %s, learning_type = %s WHERE learning_id IN "
                                f"(SELECT learning_id FROM {relation} ORDER BY random() LIMIT 3)",
                        (rng.choice(USERS), rng.choice(TYPES)))
            elif door == "agno upsert":
                row = random_row(rng)
                agno.upsert_learning(id=row["learning_id"], learning_type=row["learning_type"],
                                     user_id=row["user_id"], content=row["content"])
            elif door == "agno move":
                # agno's upsert of an existing id may rewrite its owner and type.
                victim = one(dbname, f"SELECT learning_id FROM {relation} ORDER BY random() LIMIT 1")
                if victim:
                    agno.upsert_learning(id=victim, learning_type=rng.choice(TYPES), user_id=rng.choice(USERS),
                                         content={"moved": True})
            elif door == "copy":
                with connect(dbname) as conn:
                    with conn.cursor().copy(f"COPY {relation} (learning_id, learning_type, user_id, content, "
                                            "created_at) FROM STDIN") as copy:
                        for _ in range(rng.randint(1, 20)):
                            row = random_row(rng)
                            copy.write_row((row["learning_id"], row["learning_type"], row["user_id"],
                                            json.dumps(row["content"]), 1))
            elif door == "truncate":
                run_sql(dbname, f"TRUNCATE {relation}")
    finally:
        if agno is not None:
            close_agno(agno)
    return done


def test_every_total_equals_the_rows_after_a_mixed_workload(ext_db):
    rng = random.Random(int(os.environ.get("TOTALS_SEED", "7")))
    done = workload(ext_db, rng, STEPS)
    print("doors:", done, "rows:", one(ext_db, "SELECT count(*) FROM ai.agno_learnings"))
    assert totals_match(ext_db) == []
    # Folding the deltas changes no total.
    run_sql(ext_db, "SELECT agno_learnings_internal.learnings_fold_counts(c.relid, "
                    "ARRAY(SELECT ROW(substr(bucket, 2), learning_type, 0)::agno_learnings_internal.learnings_delta "
                    "FROM agno_learnings_internal.learnings_counts WHERE bucket LIKE 'u%')) "
                    "FROM (SELECT DISTINCT relid FROM agno_learnings_internal.learnings_counts) c")
    assert totals_match(ext_db) == []


def test_a_registered_table_keeps_its_own_totals(ext_db):
    run_sql(ext_db, "CREATE SCHEMA team")
    run_sql(ext_db, "CREATE TABLE team.learnings (LIKE ai.agno_learnings INCLUDING ALL)")
    # Rows before registration are counted by it.
    run_sql(ext_db, "INSERT INTO team.learnings (learning_id, learning_type, user_id, content, created_at) "
                    "SELECT gen_random_uuid()::text, 'decision_log', (ARRAY['alice', 'bob', NULL])[1 + g % 3], "
                    "'{}', g FROM generate_series(1, 50) g")
    run_sql(ext_db, "SELECT ai.learnings_register_table('team.learnings')")
    assert totals_match(ext_db, "learnings") == []
    rng = random.Random(11)
    workload(ext_db, rng, STEPS // 3, relation="team.learnings", table="learnings")
    assert totals_match(ext_db, "learnings") == []
    # The default table's totals are its own.
    assert totals_match(ext_db) == []


def test_a_table_whose_counting_triggers_are_disabled_is_counted_row_by_row(ext_db):
    api(ext_db, "learnings_create", learning_type="decision_log", user_id="alice", content={})
    run_sql(ext_db, "ALTER TABLE ai.agno_learnings DISABLE TRIGGER learnings_count_insert")
    api(ext_db, "learnings_create", learning_type="decision_log", user_id="alice", content={})
    # The kept totals miss a row now: lists count rows instead, and stay exact.
    assert totals_match(ext_db) == []
    run_sql(ext_db, "ALTER TABLE ai.agno_learnings ENABLE ALWAYS TRIGGER learnings_count_insert")
    run_sql(ext_db, "SELECT ai.learnings_register_table('ai.agno_learnings')")
    assert totals_match(ext_db) == []
    assert one(ext_db, "SELECT sum(n) FROM agno_learnings_internal.learnings_counts WHERE bucket = 'a'") == 2


@pytest.mark.parametrize("isolation", ["repeatable read", "serializable"])
def test_writers_in_stricter_isolation_levels_keep_totals_exact(ext_db, isolation):
    for _ in range(40):
        with connect(ext_db, autocommit=False) as conn:
            conn.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation.upper()}")
            conn.execute("SELECT ai.learnings_create(learning_type => 'decision_log', user_id => 'alice', "
                         "content => '{}')")
            conn.commit()
    assert totals_match(ext_db) == []
    assert one(ext_db, "SELECT count(*) FROM ai.agno_learnings") == 40


def test_bulk_loads_over_many_users_are_counted(ext_db):
    """Statements over 8,000 users each (a restore's or a migration's COPY): counted,
    without folding their buckets (one lock each, beyond the lock table: a fold of
    them failed with 'out of shared memory' in one statement of twenty)."""
    for _ in range(30):
        run_sql(ext_db, "INSERT INTO ai.agno_learnings (learning_id, learning_type, user_id, content, created_at) "
                        "SELECT gen_random_uuid()::text, (ARRAY['user_profile', 'user_memory', 'session_context', "
                        "'entity_memory', 'decision_log'])[1 + g % 5], 'user-' || (g % 8000), '{}', g "
                        "FROM generate_series(1, 8000) g")
    assert one(ext_db, "SELECT count(*) FROM ai.agno_learnings") == 240000
    assert api(ext_db, "learnings_list", limit=1)["meta"]["total_count"] == 240000
    assert api(ext_db, "learnings_list", user_id="user-7", learning_type="session_context",
               limit=1)["meta"]["total_count"] == 30
