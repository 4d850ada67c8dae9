"""Contract section 1: pg_dump / pg_restore round-trips rows and extension.

A database with the extension and rows (through the API, through agno as the table's
owner, through plain SQL with odd Unicode) is dumped in custom format and restored with
pg_restore -d into a new database, and dumped in plain format and restored with psql.
The restored database must have the same rows byte for byte, the extension (same
version), row-level security with its 4 policies, the registry row once, the indexes,
and a working API. Restore errors are reported verbatim.
"""

import os
import subprocess

import psycopg
import pytest

from agnotest import (EXTENSION_INDEXES, RUNTIME_ROLE, agno_db, api, close_agno, error_text, extension_version,
                      fingerprint, give_table_to, index_names, insert_raw_rows, install_extension, make_deployment,
                      one, owner_of, pg_tool, policies, registry, registry_rows_for, remove_dir, rls_enabled,
                      run_sql, write_through_agno, pg_user_dir, clean_env)


def connection_args():
    return ["-h", os.environ["PGHOST"], "-p", os.environ["PGPORT"], "-U", os.environ.get("PGUSER") or "postgres"]


def source_database(databases, origin):
    if origin == "created":
        dbname = databases("agno5_dump")
        install_extension(dbname)
        for user in ("alice", "bob", "ünï😀"):
            api(dbname, "learnings_create", learning_type="user_profile", user_id=user, content={"name": user})
        api(dbname, "learnings_create", learning_type="entity_memory", entity_id="acme", entity_type="company",
            content={"name": "Acme"}, metadata={"k": "v"})
        insert_raw_rows(dbname, 500)
        give_table_to(dbname, RUNTIME_ROLE)
        agno = agno_db(dbname, RUNTIME_ROLE)
        try:
            write_through_agno(agno, 60)
        finally:
            close_agno(agno)
    else:
        dbname = make_deployment(databases, "agno", rows=600)
        run_sql(dbname, "CREATE EXTENSION agno_learnings SCHEMA ai")
    return dbname


def run(args):
    return subprocess.run(args, capture_output=True, text=True, env=clean_env(), timeout=300)


def dump_and_restore(source, target, fmt, workdir):
    """Dumps source, restores into target; returns (returncode, stderr) of the restore."""
    dump = workdir / ("learnings.dump" if fmt == "custom" else "learnings.sql")
    done = run([pg_tool("pg_dump"), *connection_args(), "-F", "c" if fmt == "custom" else "p", "-f", str(dump),
                source])
    assert done.returncode == 0, f"pg_dump failed:\n{done.stderr}"
    if fmt == "custom":
        # Without --exit-on-error, pg_restore goes on and reports every error it met.
        restore = run([pg_tool("pg_restore"), *connection_args(), "-d", target, str(dump)])
    else:
        restore = run([pg_tool("psql"), *connection_args(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target,
                       "-f", str(dump)])
    return restore.returncode, restore.stderr


@pytest.fixture
def workdir():
    path = pg_user_dir("agno5-dump-")
    yield path
    remove_dir(path)


def restored_pair(databases, workdir, origin, fmt):
    source = source_database(databases, origin)
    target = databases("agno5_restored")
    code, stderr = dump_and_restore(source, target, fmt, workdir)
    assert code == 0 and "error" not in stderr.lower(), \
        f"{'pg_restore' if fmt == 'custom' else 'psql'} reported errors (exit {code}):\n{stderr}"
    return source, target


@pytest.mark.parametrize("fmt", ["custom", "plain"])
@pytest.mark.parametrize("origin", ["created", "adopted"])
def test_dump_and_restore_round_trip_rows_extension_and_security(databases, runtime_role, workdir, origin, fmt):
    source = source_database(databases, origin)
    before = fingerprint(source)
    target = databases("agno5_restored")
    code, stderr = dump_and_restore(source, target, fmt, workdir)
    after = fingerprint(target) if one(target, "SELECT to_regclass('ai.agno_learnings') IS NOT NULL") else (0, None)
    print(f"{origin}/{fmt}: {before[0]} rows dumped (md5 {before[1]}), {after[0]} restored (md5 {after[1]})")
    assert code == 0 and "error" not in stderr.lower(), \
        f"{'pg_restore' if fmt == 'custom' else 'psql'} reported errors (exit {code}):\n{stderr}"

    assert after == before, "the restored rows differ"
    assert extension_version(target) == extension_version(source)
    assert rls_enabled(target)
    assert policies(target) == {"r": 1, "a": 1, "w": 1, "d": 1}
    assert len(registry_rows_for(target, "ai", "agno_learnings")) == 1, registry(target)
    assert sorted(map(str, registry(target))) == sorted(map(str, registry(source)))
    assert EXTENSION_INDEXES <= index_names(target)
    assert index_names(target) == index_names(source)
    # The API works on the restored rows.
    assert api(target, "learnings_list", limit=1)["meta"]["total_count"] == before[0]
    some_id = one(source, "SELECT learning_id FROM ai.agno_learnings ORDER BY learning_id LIMIT 1")
    assert api(target, "learnings_get", learning_id=some_id) == api(source, "learnings_get", learning_id=some_id)
    assert api(target, "learnings_list_users") == api(source, "learnings_list_users")
    created = api(target, "learnings_create", learning_type="user_profile", user_id="after-restore",
                  content={"a": 1})
    assert created["learning_id"] == "user_profile_after-restore"
    existing_user = one(source, "SELECT user_id FROM ai.agno_learnings WHERE learning_type = 'user_profile' "
                                "AND learning_id = 'user_profile_' || user_id LIMIT 1")
    with pytest.raises(psycopg.Error) as error:
        api(target, "learnings_create", learning_type="user_profile", user_id=existing_user, content={"x": 1})
    assert error.value.sqlstate == "23505", error_text(error.value)
    # DROP EXTENSION still keeps the restored rows.
    try:
        run_sql(target, "DROP EXTENSION agno_learnings CASCADE")
    except psycopg.Error:
        pass
    assert one(target, "SELECT count(*) FROM ai.agno_learnings") == before[0] + 1


@pytest.mark.parametrize("fmt", ["custom", "plain"])
@pytest.mark.parametrize("origin", ["created", "adopted"])
def test_the_restored_table_keeps_its_owner_and_agno_keeps_working(databases, runtime_role, workdir, origin, fmt):
    """The agent runtime connects as the table's owner (exempt from row-level security).
    pg_dump does not dump the owner of an extension's table; the extension records it
    (an adopted table's at CREATE EXTENSION, a created one's at ALTER TABLE ... OWNER TO)
    and the restore gives the table back: no manual step, agno reads every row and writes."""
    source, target = restored_pair(databases, workdir, origin, fmt)
    assert owner_of(source) == RUNTIME_ROLE
    assert owner_of(target) == RUNTIME_ROLE
    rows = one(target, "SELECT count(*) FROM ai.agno_learnings")
    assert rows == one(source, "SELECT count(*) FROM ai.agno_learnings")
    agno = agno_db(target, RUNTIME_ROLE)
    try:
        records, total = agno.list_learnings(limit=rows + 10)
        assert total == rows and len(records) == rows
        agno.upsert_learning(id="user_profile_restored", learning_type="user_profile", user_id="restored",
                             content={"r": 1})
        assert api(target, "learnings_get", learning_id="user_profile_restored")["content"] == {"r": 1}
    finally:
        close_agno(agno)


def test_a_missing_owner_role_leaves_the_table_to_the_restoring_user(databases, runtime_role, workdir):
    """The recorded role must exist where the dump is restored: otherwise the restore warns
    and goes on, and the table stays the restoring superuser's."""
    source = source_database(databases, "created")
    run_sql(source, "CREATE ROLE agno5_gone")
    run_sql(source, "ALTER TABLE ai.agno_learnings OWNER TO agno5_gone")
    target = databases("agno5_restored")
    dump = workdir / "gone.sql"
    assert run([pg_tool("pg_dump"), *connection_args(), "-f", str(dump), source]).returncode == 0
    run_sql(source, "ALTER TABLE ai.agno_learnings OWNER TO postgres")
    run_sql("postgres", "DROP ROLE agno5_gone")
    restored = run([pg_tool("psql"), *connection_args(), "-X", "-q", "-d", target, "-f", str(dump)])
    assert "agno5_gone" in restored.stderr and "WARNING" in restored.stderr, restored.stderr
    assert owner_of(target) == "postgres"
    assert one(target, "SELECT count(*) FROM ai.agno_learnings") == one(source, "SELECT count(*) FROM ai.agno_learnings")


@pytest.mark.parametrize("fmt", ["custom", "plain"])
def test_a_registered_table_round_trips_with_its_registration(databases, runtime_role, workdir, fmt):
    """Another learnings table registered with learnings_register_table (README): its rows,
    its security and its registry row come back once."""
    source = source_database(databases, "created")
    run_sql(source, "CREATE SCHEMA team")
    run_sql(source, "CREATE TABLE team.learnings (LIKE ai.agno_learnings INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    run_sql(source, "ALTER TABLE team.learnings ADD PRIMARY KEY (learning_id)")
    run_sql(source, "INSERT INTO team.learnings SELECT * FROM ai.agno_learnings WHERE learning_type = 'user_profile'")
    run_sql(source, "SELECT ai.learnings_register_table('team.learnings', 'team_learnings')")
    team_before = fingerprint(source, "team.learnings")
    target = databases("agno5_restored")
    code, stderr = dump_and_restore(source, target, fmt, workdir)
    assert code == 0 and "error" not in stderr.lower(), f"restore errors (exit {code}):\n{stderr}"
    assert fingerprint(target, "team.learnings") == team_before
    assert fingerprint(target) == fingerprint(source)
    assert len(registry_rows_for(target, "team", "learnings")) == 1, registry(target)
    assert len(registry_rows_for(target, "ai", "agno_learnings")) == 1, registry(target)
    assert len(registry(target)) == 2
    assert rls_enabled(target, "team.learnings") and policies(target, "team.learnings") == {"r": 1, "a": 1, "w": 1, "d": 1}
    listed = api(target, "learnings_list", db_id=target, table="team_learnings", limit=1)
    assert listed["meta"]["total_count"] == team_before[0]
