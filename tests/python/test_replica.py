"""Read scale-out: a streaming hot standby of the test cluster answers the read
functions exactly as the primary does; writes there fail with a clear error."""

import json
import os
import socket
import time

import psycopg
import pytest

from conftest import PG_BINDIR, as_pg_user, create_database, drop_database, pg_os_user_dir, run_sql


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def standby(cluster):
    db = create_database("agno_replica")
    run_sql(db, """SELECT ai.learnings_create(learning_type => t, user_id => u, session_id => s, content => '{"n": 1}')
                     FROM (VALUES ('user_profile', 'alice', NULL), ('user_memory', 'alice', NULL),
                                  ('user_profile', 'bob', NULL), ('session_context', NULL, 's-1'),
                                  ('decision_log', 'bob', NULL)) AS v(t, u, s)""")
    workdir = pg_os_user_dir("agno-standby-")
    data = workdir / "data"
    port = free_port()
    as_pg_user([str(PG_BINDIR / "pg_basebackup"), "-h", os.environ["PGHOST"], "-p", os.environ["PGPORT"],
                "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast"])
    as_pg_user([str(PG_BINDIR / "pg_ctl"), "-D", str(data), "-l", str(workdir / "standby.log"), "-w",
                "-o", f"-p {port} -k {workdir} -c listen_addresses='' -c hot_standby=on", "start"])
    try:
        # A row written after the backup reaches the standby by streaming.
        run_sql(db, "SELECT ai.learnings_create(learning_type => 'user_profile', user_id => 'marker', content => '{}')")
        standby_info = psycopg.conninfo.make_conninfo(host=str(workdir), port=port, user="postgres", dbname=db)
        deadline = time.time() + 30
        while True:
            try:
                with psycopg.connect(standby_info, autocommit=True) as conn:
                    if conn.execute("SELECT count(*) FROM ai.agno_learnings WHERE user_id = 'marker'").fetchone()[0]:
                        break
            except psycopg.OperationalError:
                pass
            assert time.time() < deadline, "the standby did not replay the marker row in 30 s"
            time.sleep(0.2)
        yield db, standby_info
    finally:
        as_pg_user([str(PG_BINDIR / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        as_pg_user(["rm", "-rf", str(workdir)])
        drop_database(db)


READS = [
    "SELECT ai.learnings_list()",
    "SELECT ai.learnings_list(user_id => 'alice', sort_order => 'asc')",
    "SELECT ai.learnings_list(learning_type => 'user_profile', sort_by => 'created_at')",
    "SELECT ai.learnings_get('memories_alice')",
    "SELECT ai.learnings_list_users()",
]


def test_reads_answer_on_the_standby_as_on_the_primary(standby):
    db, standby_info = standby
    with psycopg.connect(standby_info, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        for sql in READS:
            assert conn.execute(sql).fetchone()[0] == run_sql(db, sql)[0][0], sql
        # With a caller's claims too (nothing is written to resolve it).
        conn.execute("BEGIN")
        conn.execute("SELECT set_config('request.jwt.claims', '{\"sub\": \"alice\", \"scopes\": \"learnings:read\"}', true)")
        listed = conn.execute("SELECT ai.learnings_list()").fetchone()[0]
        conn.execute("COMMIT")
        assert {r["user_id"] for r in listed["data"]} == {"alice", None}


def test_writes_on_the_standby_fail_clearly(standby):
    db, standby_info = standby
    with psycopg.connect(standby_info, autocommit=True) as conn:
        for sql in ["SELECT ai.learnings_create(learning_type => 'decision_log', content => '{}')",
                    "SELECT ai.learnings_update('memories_alice', '{\"content\": {}}')",
                    "SELECT ai.learnings_delete('memories_alice')",
                    "INSERT INTO ai.agno_learnings (learning_id, learning_type, content, created_at) VALUES ('x', 'y', '{}', 1)"]:
            with pytest.raises(psycopg.Error) as error:
                conn.execute(sql)
            assert error.value.sqlstate == "25006", (sql, error.value.sqlstate, str(error.value))
            assert "read-only transaction" in str(error.value)
