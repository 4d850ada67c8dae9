"""Contract section 1: adopting an existing AgentOS table, DROP EXTENSION, pg_dump and
pg_restore, and ALTER EXTENSION … UPDATE from every released version."""

import json
import os
import pathlib
import subprocess

import psycopg
import pytest

from conftest import PG_BINDIR, REPO, as_pg_user, connect, create_database, drop_database, pg_os_user_dir, run_sql
from test_agno import agno_db

FIXTURE = pathlib.Path("/work/shared/fixtures/agno-3.1.10-learnings.sql")
if not FIXTURE.exists():
    FIXTURE = REPO.parent / "shared" / "fixtures" / "agno-3.1.10-learnings.sql"

# A fingerprint of every row, byte for byte.
FINGERPRINT = "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY learning_id), '')) FROM ai.agno_learnings AS t"


def deployment(name, owner="agno_runtime"):
    """A database where AgentOS (as a non-superuser owner) created ai.agno_learnings from
    the agno 3.1.10 fixture and wrote 1,000 learnings: through agno and plain SQL, with
    JSON null metadata and odd Unicode."""
    with connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone():
            conn.execute(f"CREATE ROLE {owner} LOGIN")
        conn.execute(f"CREATE DATABASE {name} OWNER {owner}")
    with connect(name, user=owner) as conn:
        conn.execute(FIXTURE.read_text())
        conn.execute("""
            INSERT INTO ai.agno_learnings (learning_id, learning_type, namespace, user_id, agent_id, session_id,
                                           entity_id, entity_type, content, metadata, created_at, updated_at)
            SELECT 'raw_' || g, (ARRAY['user_profile', 'user_memory', 'entity_memory', 'decision_log'])[1 + g % 4],
                   CASE WHEN g % 4 = 2 THEN 'global' END,
                   CASE WHEN g % 3 = 0 THEN NULL ELSE 'user' || (g % 17) || '😀' END,
                   'agent' || (g % 5), 's' || g, 'e' || g, 'type' || (g % 3),
                   jsonb_build_object('n', g, 'text', 'ünïcødé ' || g, 'big', 12345678901234567890123),
                   CASE WHEN g % 2 = 0 THEN 'null'::jsonb END, 1700000000 + g,
                   CASE WHEN g % 5 <> 0 THEN 1700000000 + 2 * g END
              FROM generate_series(1, 990) AS g""")
    agno = agno_db(name, user=owner)
    for i in range(10):
        agno.upsert_learning(id=f"user_profile_agno{i}", learning_type="user_profile", user_id=f"agno{i}",
                             content={"user_id": f"agno{i}", "name": f"Agno {i}"})
    return name


@pytest.fixture
def adopted(cluster):
    name = deployment("agno_adopt")
    yield name
    drop_database(name)


def test_create_extension_adopts_an_agentos_table(adopted):
    before = run_sql(adopted, FINGERPRINT)[0]
    assert before[0] == 1000
    run_sql(adopted, "CREATE EXTENSION agno_learnings SCHEMA ai")
    assert run_sql(adopted, FINGERPRINT)[0] == before
    assert run_sql(adopted, "SELECT tableowner FROM pg_tables WHERE tablename = 'agno_learnings'")[0][0] == "agno_runtime"
    indexes = {r[0] for r in run_sql(adopted, "SELECT indexname FROM pg_indexes WHERE tablename = 'agno_learnings'")}
    assert {"idx_agno_learnings_recent", "idx_agno_learnings_user_recent", "idx_agno_learnings_user_id"} <= indexes
    assert run_sql(adopted, "SELECT relrowsecurity FROM pg_class WHERE oid = 'ai.agno_learnings'::regclass")[0][0]
    assert sorted(r[0] for r in run_sql(adopted, "SELECT polname FROM pg_policy WHERE polrelid = 'ai.agno_learnings'::regclass")) == [
        "learnings_delete", "learnings_insert", "learnings_select", "learnings_update"]
    assert run_sql(adopted, "SELECT name, schema_name::text FROM ai.learnings_tables") == [("agno_learnings", "ai")]
    # The API serves the adopted rows; agno, as the owner, keeps working.
    assert run_sql(adopted, "SELECT ai.learnings_list() -> 'meta' ->> 'total_count'")[0][0] == "1000"
    assert run_sql(adopted, "SELECT ai.learnings_get('user_profile_agno3') -> 'metadata'")[0][0] is None
    agno = agno_db(adopted, user="agno_runtime")
    assert agno.get_learning(learning_type="user_profile", user_id="agno3")["content"]["name"] == "Agno 3"
    agno.upsert_learning(id="user_profile_new", learning_type="user_profile", user_id="new", content={"user_id": "new"})
    assert run_sql(adopted, "SELECT count(*) FROM ai.agno_learnings")[0][0] == 1001


@pytest.mark.parametrize("change, works", [
    ("DROP COLUMN entity_type", False),
    ("ALTER COLUMN content TYPE text", False),
    ("ADD COLUMN tenant text NOT NULL DEFAULT 'x'", True),
    ("ADD COLUMN note text", True),
    ("ADD COLUMN tenant_id int", True),
])
def test_other_layouts_are_adopted_or_refused_without_loss(cluster, change, works):
    name = deployment("agno_layout")
    try:
        run_sql(name, f"ALTER TABLE ai.agno_learnings {change}", user="agno_runtime")
        before = run_sql(name, FINGERPRINT)[0]
        if works:
            run_sql(name, "CREATE EXTENSION agno_learnings SCHEMA ai")
        else:
            with pytest.raises(psycopg.Error) as error:
                run_sql(name, "CREATE EXTENSION agno_learnings SCHEMA ai")
            assert error.value.sqlstate == "42P16"
            assert "does not have the learnings layout" in str(error.value)
            assert run_sql(name, "SELECT count(*) FROM pg_extension WHERE extname = 'agno_learnings'")[0][0] == 0
        assert run_sql(name, FINGERPRINT)[0] == before
    finally:
        drop_database(name)


def test_a_required_column_without_default_is_refused(cluster):
    name = deployment("agno_layout")
    try:
        run_sql(name, "ALTER TABLE ai.agno_learnings ADD COLUMN tenant text", user="agno_runtime")
        run_sql(name, "UPDATE ai.agno_learnings SET tenant = 'x'", user="agno_runtime")
        run_sql(name, "ALTER TABLE ai.agno_learnings ALTER COLUMN tenant SET NOT NULL", user="agno_runtime")
        before = run_sql(name, FINGERPRINT)[0]
        with pytest.raises(psycopg.Error) as error:
            run_sql(name, "CREATE EXTENSION agno_learnings SCHEMA ai")
        assert error.value.sqlstate == "42P16" and "NOT NULL columns without defaults" in str(error.value)
        assert run_sql(name, FINGERPRINT)[0] == before
    finally:
        drop_database(name)


def test_drop_extension_never_destroys_learnings(adopted):
    run_sql(adopted, "CREATE EXTENSION agno_learnings SCHEMA ai")
    before = run_sql(adopted, FINGERPRINT)[0]
    for statement in ["DROP EXTENSION agno_learnings", "DROP EXTENSION agno_learnings CASCADE",
                      "DROP SCHEMA ai CASCADE"]:
        with pytest.raises(psycopg.Error) as error:
            run_sql(adopted, statement)
        assert error.value.sqlstate == "2BP01", statement
        assert "would delete the learnings" in str(error.value)
        assert run_sql(adopted, FINGERPRINT)[0] == before
    # The documented way out: detach the table, then drop the extension; rows stay.
    run_sql(adopted, "ALTER EXTENSION agno_learnings DROP TABLE ai.agno_learnings")
    run_sql(adopted, "DROP EXTENSION agno_learnings CASCADE")
    run_sql(adopted, "ALTER TABLE ai.agno_learnings DISABLE ROW LEVEL SECURITY")
    assert run_sql(adopted, FINGERPRINT)[0] == before
    # …and the extension can adopt it again.
    run_sql(adopted, "CREATE EXTENSION agno_learnings SCHEMA ai")
    assert run_sql(adopted, FINGERPRINT)[0] == before


@pytest.mark.parametrize("fmt", ["custom", "plain"])
def test_dump_and_restore_carry_rows_extension_and_security(adopted, fmt):
    run_sql(adopted, "CREATE EXTENSION agno_learnings SCHEMA ai")
    run_sql(adopted, "CREATE TABLE public.team_learnings (LIKE ai.agno_learnings INCLUDING ALL)")
    run_sql(adopted, "INSERT INTO public.team_learnings SELECT * FROM ai.agno_learnings WHERE learning_type = 'user_profile'")
    run_sql(adopted, "SELECT ai.learnings_register_table('public.team_learnings')")
    before = run_sql(adopted, FINGERPRINT)[0]
    team_before = run_sql(adopted, "SELECT count(*) FROM public.team_learnings")[0][0]
    workdir = pg_os_user_dir("agno-dump-")
    dump = workdir / ("dump.custom" if fmt == "custom" else "dump.sql")
    host, port = os.environ["PGHOST"], os.environ["PGPORT"]
    common = ["-h", host, "-p", port, "-U", "postgres"]
    as_pg_user([str(PG_BINDIR / "pg_dump"), *common, "-F", "c" if fmt == "custom" else "p", "-f", str(dump), adopted])
    restored = create_database("agno_restored", extension=False)
    try:
        if fmt == "custom":
            result = subprocess.run([str(PG_BINDIR / "pg_restore"), *common, "--exit-on-error", "-d", restored, str(dump)],
                                    capture_output=True, text=True)
        else:
            result = subprocess.run([str(PG_BINDIR / "psql"), *common, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                     "-d", restored, "-f", str(dump)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert run_sql(restored, FINGERPRINT)[0] == before
        assert run_sql(restored, "SELECT count(*) FROM public.team_learnings")[0][0] == team_before
        assert run_sql(restored, "SELECT extversion FROM pg_extension WHERE extname = 'agno_learnings'")
        assert sorted(run_sql(restored, "SELECT name FROM ai.learnings_tables")) == [("agno_learnings",), ("team_learnings",)]
        for table in ["ai.agno_learnings", "public.team_learnings"]:
            assert run_sql(restored, f"SELECT relrowsecurity FROM pg_class WHERE oid = '{table}'::regclass")[0][0]
            assert run_sql(restored, f"SELECT count(*) FROM pg_policy WHERE polrelid = '{table}'::regclass")[0][0] == 4
        assert run_sql(restored, "SELECT ai.learnings_list() -> 'meta' ->> 'total_count'")[0][0] == "1000"
        assert run_sql(restored, "SELECT evtname FROM pg_event_trigger") == [("learnings_guard_drop",)]
    finally:
        drop_database(restored)
        subprocess.run(["rm", "-rf", str(workdir)])


def released_versions():
    extension_dir = pathlib.Path(subprocess.run([str(PG_BINDIR / "pg_config"), "--sharedir"], capture_output=True,
                                                text=True, check=True).stdout.strip()) / "extension"
    versions = [p.name[len("agno_learnings--"):-len(".sql")] for p in extension_dir.glob("agno_learnings--*.sql")
                if p.name.count("--") == 1]
    return sorted(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


def test_update_from_every_released_version(cluster):
    versions = released_versions()
    if len(versions) < 2:
        pytest.skip(f"only {versions} installed: no older version to update from")
    current = versions[-1]
    for old in versions[:-1]:
        name = create_database("agno_upgrade", extension=False)
        try:
            run_sql(name, "CREATE SCHEMA ai")
            run_sql(name, f"CREATE EXTENSION agno_learnings VERSION '{old}' SCHEMA ai")
            run_sql(name, "SELECT ai.learnings_create(learning_type => 'user_profile', user_id => 'alice', content => '{\"v\": 1}')")
            run_sql(name, "SELECT ai.learnings_create(learning_type => 'decision_log', content => '{}')")
            before = run_sql(name, FINGERPRINT)[0]
            run_sql(name, "ALTER EXTENSION agno_learnings UPDATE")
            assert run_sql(name, "SELECT extversion FROM pg_extension WHERE extname = 'agno_learnings'")[0][0] == current
            assert run_sql(name, FINGERPRINT)[0] == before
            assert run_sql(name, "SELECT ai.learnings_list() -> 'meta' ->> 'total_count'")[0][0] == "2"
            with pytest.raises(psycopg.Error) as error:
                run_sql(name, "SELECT ai.learnings_create(learning_type => 'user_profile', user_id => 'alice', content => '{}')")
            assert error.value.sqlstate == "23505"
            # 0.2.0's guard came with the update.
            with pytest.raises(psycopg.Error) as error:
                run_sql(name, "DROP EXTENSION agno_learnings")
            assert error.value.sqlstate == "2BP01"
            # And the update can be rolled back, and done again.
            run_sql(name, f"ALTER EXTENSION agno_learnings UPDATE TO '{old}'")
            run_sql(name, "ALTER EXTENSION agno_learnings UPDATE")
            assert run_sql(name, FINGERPRINT)[0] == before
        finally:
            drop_database(name)
