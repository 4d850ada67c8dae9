"""Read scale-out: a streaming hot standby of the test cluster answers the read functions
(learnings_list, learnings_get, learnings_list_users) exactly as the primary does, and
refuses writes with PostgreSQL's read-only error (SQLSTATE 25006).

The standby is made with pg_basebackup -R from the primary (PGHOST/PGPORT) over
loopback, runs as the cluster's OS user on a free port with its socket in its own
directory, and is stopped and removed when the test ends, also when it fails.
"""

import json
import os
import socket
import time

import psycopg
import pytest

from agnotest import (api, as_pg_user, close_agno, conninfo, create_database, drop_database, error_text, fingerprint,
                      insert_raw_rows, install_extension, one, pg_tool, pg_user_dir, remove_dir, run_sql, unique_name)

REPLAY_TIMEOUT = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def primary_host():
    """Loopback when the primary listens there (scripts/lib.sh's clusters do), else its socket."""
    listen = one("postgres", "SHOW listen_addresses")
    return "127.0.0.1" if listen and ("127.0.0.1" in listen or "*" in listen or "localhost" in listen) \
        else os.environ["PGHOST"]


class Standby:
    def __init__(self, workdir, port, dbname):
        self.workdir, self.port, self.dbname = workdir, port, dbname

    def connect(self, dbname=None, user="postgres", autocommit=True):
        return psycopg.connect(conninfo(dbname or self.dbname, user, host=str(self.workdir), port=self.port),
                               autocommit=autocommit)

    def one(self, statement, params=None):
        with self.connect() as conn:
            row = conn.execute(statement, params).fetchone()
            return row[0] if row else None

    def log(self):
        try:
            return as_pg_user(["tail", "-n", "30", str(self.workdir / "standby.log")], check=False).stdout
        except Exception as e:  # noqa: BLE001 - only for a message
            return f"(no log: {e})"


def fill(dbname):
    for learning_type, user, session in [("user_profile", "alice", None), ("user_memory", "alice", None),
                                         ("user_profile", "bob", None), ("session_context", None, "s-1"),
                                         ("session_context", "bob", "s-2"), ("decision_log", "bob", None),
                                         ("user_profile", "ünï😀", None)]:
        args = {k: v for k, v in dict(user_id=user, session_id=session).items() if v}
        api(dbname, "learnings_create", learning_type=learning_type, content={"t": learning_type}, **args)
    api(dbname, "learnings_create", learning_type="entity_memory", entity_id="acme", entity_type="company",
        content={"name": "Acme"})
    insert_raw_rows(dbname, 150)


@pytest.fixture(scope="module")
def standby(cluster):
    """One standby for the module's tests (a base backup per test would take seconds each)."""
    settings = dict(run_sql("postgres", "SELECT name, setting FROM pg_settings "
                                        "WHERE name IN ('wal_level', 'max_wal_senders')"))
    if settings["wal_level"] not in ("replica", "logical") or int(settings["max_wal_senders"]) < 1:
        pytest.fail(f"the test cluster cannot stream to a standby: {settings} (needs wal_level=replica and "
                    "max_wal_senders >= 1)")
    dbname = create_database(unique_name("agno5_replica"))
    install_extension(dbname)
    fill(dbname)

    workdir = pg_user_dir("agno5-standby-")
    data = workdir / "data"
    port = free_port()
    host = primary_host()
    started = False
    try:
        backup = as_pg_user([pg_tool("pg_basebackup"), "-h", host, "-p", os.environ["PGPORT"], "-U", "postgres",
                             "-D", str(data), "-R", "-X", "stream", "-c", "fast", "--no-sync"], check=False)
        assert backup.returncode == 0, f"pg_basebackup failed:\n{backup.stderr}"
        start = as_pg_user([pg_tool("pg_ctl"), "-D", str(data), "-l", str(workdir / "standby.log"), "-w", "-t", "60",
                            "-o", f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={workdir} "
                                  "-c hot_standby=on -c fsync=off", "start"], check=False)
        started = True  # stop it even if pg_ctl gave up waiting
        assert start.returncode == 0, f"the standby did not start:\n{start.stderr}\n{Standby(workdir, port, dbname).log()}"
        node = Standby(workdir, port, dbname)
        assert node.one("SELECT pg_is_in_recovery()"), "the new server is not a standby"

        # A row written after the backup reaches the standby by streaming.
        marker = api(dbname, "learnings_create", learning_type="user_profile", user_id="marker", content={"m": 1})
        deadline = time.monotonic() + REPLAY_TIMEOUT
        while not node.one("SELECT count(*) FROM ai.agno_learnings WHERE learning_id = %s",
                           (marker["learning_id"],)):
            assert time.monotonic() < deadline, \
                f"the standby did not replay the marker row in {REPLAY_TIMEOUT} s\n{node.log()}"
            time.sleep(0.2)
        yield node
    finally:
        if started:
            as_pg_user([pg_tool("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"], check=False)
        remove_dir(workdir)
        drop_database(dbname)


def caught_up(node, dbname):
    """Waits until the standby has replayed everything the primary wrote so far."""
    # The insert position: with synchronous_commit off (test clusters) the last commits
    # may not be written yet; the standby gets them once the WAL writer flushes them.
    lsn = one(dbname, "SELECT pg_current_wal_insert_lsn()::text")
    deadline = time.monotonic() + REPLAY_TIMEOUT
    while node.one("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) < 0", (lsn,)):
        assert time.monotonic() < deadline, f"the standby did not reach {lsn} in {REPLAY_TIMEOUT} s"
        time.sleep(0.1)


READS = [
    "SELECT ai.learnings_list()",
    "SELECT ai.learnings_list(user_id => 'alice', sort_order => 'asc')",
    "SELECT ai.learnings_list(learning_type => 'user_profile', sort_by => 'created_at', \"limit\" => 2, page => 2)",
    "SELECT ai.learnings_list(namespace => 'global', \"limit\" => 1000)",
    "SELECT ai.learnings_list(db_id => current_database(), \"table\" => 'agno_learnings', \"limit\" => 7, page => 3)",
    "SELECT ai.learnings_get('memories_alice')",
    "SELECT ai.learnings_get('user_profile_ünï😀')",
    "SELECT ai.learnings_get('session_context_s-2', current_database())",
    "SELECT ai.learnings_list_users()",
    "SELECT ai.learnings_list_users(sort_by => 'user_id', sort_order => 'asc', \"limit\" => 3)",
    "SELECT ai.learnings_list_users(learning_type => 'user_profile')",
]


def test_reads_answer_on_the_standby_as_on_the_primary(standby):
    dbname = standby.dbname
    caught_up(standby, dbname)
    assert fingerprint(dbname) == tuple(standby.connect().execute(
        "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY learning_id COLLATE \"C\"), '')) "
        "FROM ai.agno_learnings AS t").fetchone())
    with standby.connect() as conn:
        for statement in READS:
            on_standby = conn.execute(statement).fetchone()[0]
            on_primary = one(dbname, statement)
            assert on_standby == on_primary, statement
            assert on_standby is not None, statement
    # A scoped caller (PostgREST's claims), in a read-only transaction, on both servers.
    claims = json.dumps({"sub": "alice", "scopes": ["learnings:read"], "role": "authenticated"})
    answers = []
    for conn in (standby.connect(autocommit=False), psycopg.connect(conninfo(dbname))):
        with conn:
            conn.execute("SET TRANSACTION READ ONLY")
            # This superuser session stands in for PostgREST's authenticator.
            conn.execute("SELECT set_config('agno_learnings.claims_login_roles', session_user, true)")
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (claims,))
            answers.append([conn.execute(s).fetchone()[0] for s in READS[:2] + READS[-3:]])
            conn.rollback()
    assert answers[0] == answers[1]


def test_agno_reads_the_standby(standby):
    caught_up(standby, standby.dbname)
    from agno.db.postgres import PostgresDb

    url = f"postgresql+psycopg://postgres@/{standby.dbname}?host={standby.workdir}&port={standby.port}"
    replica = PostgresDb(db_url=url, db_schema="ai")
    try:
        assert replica.get_learning(learning_type="user_profile", user_id="alice") == {"content": {"t": "user_profile"}}
        assert replica.list_learnings(limit=1)[1] == one(standby.dbname, "SELECT count(*) FROM ai.agno_learnings")
    finally:
        close_agno(replica)


def test_read_functions_take_no_transaction_id(standby):
    """On the primary: a transaction that only calls the read functions has no xid
    (a standby could not assign one)."""
    with psycopg.connect(conninfo(standby.dbname)) as conn:
        for statement in READS:
            conn.execute(statement)
        assert conn.execute("SELECT pg_current_xact_id_if_assigned()").fetchone()[0] is None
        conn.rollback()


WRITES = [
    "SELECT ai.learnings_create(learning_type => 'decision_log', content => '{}')",
    "SELECT ai.learnings_create(learning_type => 'user_profile', user_id => 'carol', content => '{\"a\": 1}')",
    "SELECT ai.learnings_update('memories_alice', '{\"content\": {\"x\": 1}}')",
    "SELECT ai.learnings_delete('user_profile_bob')",
    "SELECT ai.learnings_delete_user('alice')",
    "INSERT INTO ai.agno_learnings (learning_id, learning_type, content, created_at) VALUES ('x', 'y', '{}', 1)",
    "UPDATE ai.agno_learnings SET updated_at = 1 WHERE learning_id = 'memories_alice'",
    "DELETE FROM ai.agno_learnings WHERE learning_id = 'memories_alice'",
]


@pytest.mark.parametrize("statement", WRITES)
def test_writes_on_the_standby_fail_with_read_only_transaction(standby, statement):
    caught_up(standby, standby.dbname)
    before = fingerprint(standby.dbname)
    with standby.connect() as conn:
        with pytest.raises(psycopg.Error) as error:
            conn.execute(statement)
    text = error_text(error.value)
    assert error.value.sqlstate == "25006", f"{statement}: {error.value.sqlstate}: {text}"
    assert "read-only transaction" in text, text
    assert fingerprint(standby.dbname) == before
    # The primary still takes writes, and they reach the standby.
    created = api(standby.dbname, "learnings_create", learning_type="decision_log", content={"after": statement})
    caught_up(standby, standby.dbname)
    assert standby.one("SELECT ai.learnings_get(%s)", (created["learning_id"],)) == created

