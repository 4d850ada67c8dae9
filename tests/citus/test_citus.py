"""Contract section 8 on Citus: the learnings table distributed over a coordinator and two
workers (scripts/suites/65-citus.sh), every rule of section 5 holding on every node, and a
node that cannot verify who is calling failing closed.

Attacks come from plain SQL on the coordinator and on a worker reached directly: no
identity, a Citus connection's name, forged decisions (garbage, the wrong key, another
role, another database, expired). Each attack has a positive control (the same statement
with a decision the cluster really signs), so a test that passes proves the check.
"""

import os

import psycopg
import pytest

from citustest import (SCOPES, WORKERS, citus_database, connect, decision, one, run_sql, sqlstate, token)

pytestmark = pytest.mark.skipif(not WORKERS, reason="no Citus cluster (run through scripts/suites/65-citus.sh)")

DB = "agno_citus"
ALICE = {"user_profile_alice", "memories_alice"}
SHARED = {"entity_global_company_acme"}


@pytest.fixture(scope="module")
def db():
    name = citus_database(DB)
    for args in (dict(learning_type="user_profile", user_id="alice"),
                 dict(learning_type="user_memory", user_id="alice"),
                 dict(learning_type="user_profile", user_id="bob"),
                 dict(learning_type="entity_memory", entity_id="acme", entity_type="company")):
        run_sql(name, "SELECT ai.learnings_create(content => '{\"n\": 1}', "
                + ", ".join(f"{k} => %s" for k in args) + ")", list(args.values()))
    # bob's decision logs, with generated ids: spread over the shards.
    run_sql(name, "SELECT ai.learnings_create(learning_type => 'decision_log', user_id => 'bob', "
                  "content => '{}') FROM generate_series(1, 40)")
    return name


# A session that calls itself a Citus connection, as an attacker on a worker would: only
# there is a forwarded decision read at all.
AS_CITUS = {"application_name": "citus_internal gpid=10000000001"}


def visible(db, setup=(), port=None, user="app", table="ai.agno_learnings", **kw):
    """The ids `user` reads in one transaction after the `setup` statements."""
    with connect(db, user, port, autocommit=False, **kw) as conn:
        for statement in setup:
            conn.execute(statement)
        return {r[0] for r in conn.execute(f"SELECT learning_id FROM {table}").fetchall()}


def forwarding(value):
    """Statements that set a forwarded caller and have Citus repeat it on the workers."""
    return ["SET LOCAL citus.propagate_set_commands = 'local'",
            psycopg.sql.SQL("SET LOCAL agno_learnings.forwarded_caller = {}").format(
                psycopg.sql.Literal(value)).as_string(None)]


def authenticating(tok):
    return [psycopg.sql.SQL("SELECT ai.learnings_authenticate({})").format(
        psycopg.sql.Literal(tok)).as_string(None)]


def test_the_table_is_distributed_with_its_rules_on_every_shard(db):
    assert one(db, "SELECT column_to_column_name(logicalrelid, partkey) FROM pg_dist_partition "
                   "WHERE logicalrelid = 'ai.agno_learnings'::regclass") == "learning_id"
    placed = one(db, "SELECT count(DISTINCT n.nodeport) FROM pg_dist_shard AS s "
                     "JOIN pg_dist_placement AS p USING (shardid) JOIN pg_dist_node AS n USING (groupid) "
                     "WHERE s.logicalrelid = 'ai.agno_learnings'::regclass")
    assert placed == len(WORKERS)
    # Every shard carries the id guard and the four policies.
    rows = run_sql(db, """SELECT result FROM run_command_on_shards('ai.agno_learnings', $$
        SELECT (SELECT count(*) FROM pg_trigger WHERE tgrelid = '%1$s'::regclass AND tgname LIKE 'learnings\_guard\_row\_%%')
               || '/' || (SELECT count(*) FROM pg_policy WHERE polrelid = '%1$s'::regclass)$$)""")
    assert rows and {r[0] for r in rows} == {"1/4"}
    # bob's generated ids landed on both workers.
    spread = one(db, "SELECT count(DISTINCT get_shard_id_for_distribution_column('ai.agno_learnings', learning_id)) "
                     "FROM ai.agno_learnings WHERE user_id = 'bob'")
    assert spread > 1


def test_an_authenticated_caller_reaches_its_rows_on_every_shard(db):
    assert visible(db, authenticating(token("alice"))) == ALICE | SHARED
    bob = visible(db, authenticating(token("bob")))
    assert "user_profile_bob" in bob and len(bob) == 42 and not bob & ALICE
    admin = visible(db, authenticating(token("root", scopes=["agent_os:admin"])))
    assert len(admin) == 44
    # The API, called in autocommit mode as drivers do, and its total across shards.
    with connect(db, "app") as conn:
        listed = conn.execute("SELECT ai.learnings_authenticate(%s), ai.learnings_list()",
                              (token("bob"),)).fetchone()[1]
    assert listed["meta"]["total_count"] == 42
    assert {r["learning_id"] for r in listed["data"]} == bob


def test_a_caller_without_identity_reaches_no_shard(db):
    assert visible(db) == set()
    with connect(db, "app") as conn:
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("INSERT INTO ai.agno_learnings (learning_id, learning_type, user_id, content, created_at) "
                         "VALUES ('x-1', 'decision_log', 'alice', '{}', 1)")
        assert sqlstate(refused.value) in ("42501", "PT401")
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT ai.learnings_list()")
        assert sqlstate(refused.value) == "PT401"
    assert one(db, "SELECT count(*) FROM ai.agno_learnings WHERE learning_id = 'x-1'") == 0


FORGED = {
    "garbage": "not-a-token",
    "wrong key": decision(db=DB, reach=("all", "all", "all"), key=b"k" * 48),
    "another role": decision(role="postgres", db=DB, reach=("all", "all", "all")),
    "another database": decision(db="postgres", reach=("all", "all", "all")),
    "expired": decision(db=DB, exp_in=-3600),
    "no user for own rows": decision(db=DB, sub=None),
}


@pytest.mark.parametrize("kind", FORGED)
def test_a_forged_decision_is_refused_on_the_coordinator(db, kind):
    assert visible(db, forwarding(FORGED[kind])) == set()


def test_a_decision_the_cluster_signed_is_believed(db):
    """The positive control of the forgeries above and below."""
    assert visible(db, forwarding(decision(db=DB))) == ALICE | SHARED


def shard_tables(db):
    return [r[0] for r in run_sql(db, "SELECT shard_name('ai.agno_learnings'::regclass, shardid) "
                                      "FROM pg_dist_shard WHERE logicalrelid = 'ai.agno_learnings'::regclass")]


@pytest.mark.parametrize("port_index", [0, 1])
def test_a_worker_reached_directly_shows_nothing_without_a_verified_caller(db, port_index):
    port = WORKERS[port_index]
    # Through the distributed table (a worker plans like a coordinator), and on every
    # shard table this worker holds, read directly.
    assert visible(db, port=port) == set()
    here = [t for t in shard_tables(db)
            if one(db, "SELECT to_regclass(%s) IS NOT NULL", (t,), port=port)]
    assert here, "this worker holds no shard"
    found_with_key = set()
    for shard in here:
        table = f"ai.{shard}" if "." not in shard else shard
        run_sql(db, f"GRANT SELECT ON {table} TO app", port=port)
        assert visible(db, port=port, table=table) == set()
        assert visible(db, port=port, table=table, **AS_CITUS) == set()
        for value in FORGED.values():
            assert visible(db, forwarding(value), port=port, table=table) == set()
            assert visible(db, forwarding(value), port=port, table=table, **AS_CITUS) == set()
        # A decision is read only in a session Citus opened (or one that says so).
        assert visible(db, forwarding(decision(db=DB)), port=port, table=table) == set()
        found_with_key |= visible(db, forwarding(decision(db=DB)), port=port, table=table, **AS_CITUS)
    # Positive control: the worker believes what the cluster signs.
    assert found_with_key and found_with_key <= ALICE | SHARED


def test_writes_keep_the_rules_on_the_shards(db):
    alice = authenticating(token("alice"))
    with connect(db, "app", autocommit=False) as conn:
        for statement in alice:
            conn.execute(statement)
        conn.execute("SAVEPOINT s")
        # Another user's row, and an id squatted from another user's identity: refused.
        for sql in ["INSERT INTO ai.agno_learnings (learning_id, learning_type, user_id, content, created_at) "
                    "VALUES (gen_random_uuid()::text, 'decision_log', 'bob', '{}', 1)",
                    "INSERT INTO ai.agno_learnings (learning_id, learning_type, user_id, content, created_at) "
                    "VALUES ('user_profile_carol', 'user_profile', 'alice', '{}', 1)"]:
            with pytest.raises(psycopg.Error) as refused:
                conn.execute(sql)
            assert sqlstate(refused.value) in ("42501", "PT422")
            conn.execute("ROLLBACK TO SAVEPOINT s")
        # bob's rows and the shared one do not change.
        assert conn.execute("UPDATE ai.agno_learnings SET content = '{\"x\": 1}' "
                            "WHERE user_id = 'bob' OR user_id IS NULL").rowcount == 0
        assert conn.execute("DELETE FROM ai.agno_learnings WHERE learning_id = 'user_profile_bob'").rowcount == 0
        # Her own row does.
        assert conn.execute("UPDATE ai.agno_learnings SET content = '{\"x\": 2}' "
                            "WHERE learning_id = 'user_profile_alice'").rowcount == 1
        conn.rollback()


def test_creates_answer_409_and_404_as_on_one_node(db):
    with connect(db, "app") as conn:
        with pytest.raises(psycopg.Error) as taken:
            conn.execute("SELECT ai.learnings_authenticate(%s), ai.learnings_create('user_profile', '{}')",
                         (token("alice"),))
        assert sqlstate(taken.value) == "23505"
        with pytest.raises(psycopg.Error) as other:
            conn.execute("SELECT ai.learnings_authenticate(%s), ai.learnings_get('user_profile_bob')",
                         (token("alice"),))
        assert sqlstate(other.value) == "PT404"
        # Her own, read from one shard in an autocommit call (Citus opens no transaction
        # block for such a read unless the call starts a distributed transaction).
        own = conn.execute("SELECT ai.learnings_authenticate(%s), ai.learnings_get('user_profile_alice')",
                           (token("alice"),)).fetchone()[1]
        assert own["user_id"] == "alice"


def test_totals_are_exact_across_shards(db):
    admin = token("root", scopes=["agent_os:admin"])
    with connect(db, "app") as conn:
        def total(**filters):
            args = ", ".join(f"{k} => %s" for k in filters)
            return conn.execute(f"SELECT ai.learnings_authenticate(%s), ai.learnings_list({args})",
                                [admin, *filters.values()]).fetchone()[1]["meta"]["total_count"]

        assert total() == one(db, "SELECT count(*) FROM ai.agno_learnings")
        assert total(user_id="bob") == 41
        assert total(learning_type="decision_log") == 40
        assert total(learning_type="decision_log", user_id="bob") == 40


def test_delete_user_reaches_every_shard(db):
    run_sql(db, "SELECT ai.learnings_create(learning_type => 'decision_log', user_id => 'dave', content => '{}') "
                "FROM generate_series(1, 30)")
    before = one(db, "SELECT count(*) FROM ai.agno_learnings WHERE user_id IS DISTINCT FROM 'dave'")
    with connect(db, "app") as conn:
        conn.execute("SELECT ai.learnings_authenticate(%s), ai.learnings_delete_user('dave')",
                     (token("dave", scopes=["learnings:delete"]),))
    assert one(db, "SELECT count(*) FROM ai.agno_learnings WHERE user_id = 'dave'") == 0
    assert one(db, "SELECT count(*) FROM ai.agno_learnings") == before


def test_a_trusted_role_is_forwarded_as_unscoped(db):
    if one(db, "SELECT count(*) FROM pg_roles WHERE rolname = 'trusted_app'") == 0:
        run_sql(db, "CREATE ROLE trusted_app LOGIN")
    run_sql(db, "GRANT USAGE ON SCHEMA ai TO trusted_app")
    run_sql(db, "GRANT SELECT ON ai.agno_learnings TO trusted_app")
    run_sql(db, f"ALTER ROLE trusted_app IN DATABASE {DB} SET agno_learnings.trusted_roles = 'trusted_app'")
    with connect(db, "trusted_app") as conn:
        listed = conn.execute("SELECT ai.learnings_list(\"limit\" => 1)").fetchone()[0]
    assert listed["meta"]["total_count"] == one(db, "SELECT count(*) FROM ai.agno_learnings")


def test_every_worker_must_hold_the_cluster_key(db, tmp_path):
    """learnings_distribute refuses a cluster whose workers hold another key."""
    worker = WORKERS[0]
    other = "/nonexistent/agno_learnings/cluster_key"
    # Set on that worker alone (Citus would otherwise refuse DDL on a worker).
    run_sql(db, f"SET citus.enable_ddl_propagation = off; "
                f"ALTER DATABASE {DB} SET agno_learnings.cluster_secret_file = '{other}'", port=worker)
    try:
        with pytest.raises(psycopg.Error) as refused:
            run_sql(db, "SELECT ai.learnings_distribute()")
        assert sqlstate(refused.value) == "55000"
        assert f"127.0.0.1:{worker}" in str(refused.value)
    finally:
        run_sql(db, f"SET citus.enable_ddl_propagation = off; "
                    f"ALTER DATABASE {DB} RESET agno_learnings.cluster_secret_file", port=worker)
    assert one(db, "SELECT ai.learnings_distribute()::text") == "ai.agno_learnings"


def test_an_install_updated_on_citus_distributes():
    name = citus_database("agno_citus_update", version="0.3.0", distribute=False)
    run_sql(name, "ALTER EXTENSION agno_learnings UPDATE")
    for port in [None, *WORKERS]:
        assert one(name, "SELECT extversion FROM pg_extension WHERE extname = 'agno_learnings'", port=port) == "0.4.0"
    run_sql(name, "SELECT ai.learnings_create('user_profile', '{}', user_id => 'alice')")
    run_sql(name, "SELECT ai.learnings_distribute()")
    run_sql(name, "GRANT SELECT, INSERT, UPDATE, DELETE ON ai.agno_learnings TO app")
    with connect(name, "app") as conn:
        got = conn.execute("SELECT ai.learnings_authenticate(%s), ai.learnings_get('user_profile_alice')",
                           (token("alice", scopes=SCOPES),)).fetchone()[1]
    assert got["user_id"] == "alice"
    # 0.3.0 cannot serve a distributed table: going back is refused, nothing changes.
    with pytest.raises(psycopg.Error) as refused:
        run_sql(name, "ALTER EXTENSION agno_learnings UPDATE TO '0.3.0'")
    assert sqlstate(refused.value) == "55000"
    assert one(name, "SELECT extversion FROM pg_extension WHERE extname = 'agno_learnings'") == "0.4.0"


def test_agnos_own_upserts_work_on_the_distributed_table(db):
    """agno's runtime (the table's owner) writes with ON CONFLICT (learning_id) upserts:
    the distribution column is the conflict key, so they stay single-shard and atomic."""
    from agno.db.postgres import PostgresDb

    agno = PostgresDb(db_url=f"postgresql+psycopg://postgres@/{DB}?host=127.0.0.1&port={os.environ['PGPORT']}",
                      db_schema="ai")
    try:
        for name in ("Erin", "Erin B."):
            agno.upsert_learning(id="user_profile_erin", learning_type="user_profile", user_id="erin",
                                 content={"name": name})
    finally:
        agno.db_engine.dispose()
    # agno swallows its errors: the row itself says the upserts happened.
    assert run_sql(db, "SELECT user_id, content ->> 'name' FROM ai.agno_learnings "
                       "WHERE learning_id = 'user_profile_erin'") == [("erin", "Erin B.")]
    with connect(db, "app") as conn:
        got = conn.execute("SELECT ai.learnings_authenticate(%s), ai.learnings_get('user_profile_erin')",
                           (token("erin"),)).fetchone()[1]
    assert got["content"] == {"name": "Erin B."}
