"""Contract section 1: `ALTER EXTENSION agno_learnings UPDATE` works from every released
version.

The released versions are those whose install script (agno_learnings--<v>.sql) is in
the system PostgreSQL's extension directory (scripts/lib.sh installs the archived ones
from sql/archive/ next to the current one). Each older version is installed with
CREATE EXTENSION ... VERSION, filled with rows (through its API, through agno as the
table owner, through plain SQL), updated, and checked: rows byte for byte, security,
registry, the API and agno. With only one version installed there is nothing to update
from: the tests are skipped (not passed) and say so.
"""

import psycopg
import pytest

from agnotest import (EXTENSION_INDEXES, RUNTIME_ROLE, agno_db, api, close_agno, error_text, extension_version,
                      fingerprint, give_table_to, index_names, insert_raw_rows, install_extension, installed_versions,
                      one, owner_of, policies, registry_rows_for, rls_enabled, run_sql, write_through_agno)

VERSIONS = installed_versions()
OLDER = VERSIONS[:-1]
ONLY_ONE = (f"only one install script of agno_learnings in the system extension directory ({VERSIONS}): "
            "no older version to update from")


def default_version(dbname):
    return one(dbname, "SELECT default_version FROM pg_available_extensions WHERE name = 'agno_learnings'")


def fill(dbname):
    """Rows through the API, agno (as the table's owner) and plain SQL."""
    made = [
        api(dbname, "learnings_create", learning_type="user_profile", user_id="alice", content={"name": "Alice"}),
        api(dbname, "learnings_create", learning_type="user_memory", user_id="alice", content={"memories": []}),
        api(dbname, "learnings_create", learning_type="session_context", session_id="s-1", content={"s": 1}),
        api(dbname, "learnings_create", learning_type="entity_memory", entity_id="acme", entity_type="company",
            content={"name": "Acme"}),
        api(dbname, "learnings_create", learning_type="entity_memory", namespace="user", user_id="alice",
            entity_id="bob", entity_type="person", content={"name": "Bob"}, metadata={"m": "ü"}),
        api(dbname, "learnings_create", learning_type="decision_log", content={"d": 1}),
    ]
    insert_raw_rows(dbname, 300)
    give_table_to(dbname, RUNTIME_ROLE)
    agno = agno_db(dbname, RUNTIME_ROLE)
    try:
        write_through_agno(agno, 30)
    finally:
        close_agno(agno)
    assert one(dbname, "SELECT count(*) FROM ai.agno_learnings") == 336
    return made


def catalog(dbname):
    """Everything the extension defines, as a fresh install or an update leaves it."""
    ext = "(SELECT oid FROM pg_extension WHERE extname = 'agno_learnings')"
    return {
        "members": sorted(r[0] for r in run_sql(dbname, f"""
            SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
             WHERE refclassid = 'pg_extension'::regclass AND refobjid = {ext} AND deptype = 'e'""")),
        "functions": run_sql(dbname, f"""
            SELECT p.oid::regprocedure::text, pg_get_function_result(p.oid), p.provolatile, p.prosecdef,
                   p.proisstrict, p.proleakproof, p.proparallel, p.proconfig, p.prosrc, p.proacl::text,
                   obj_description(p.oid, 'pg_proc')
              FROM pg_proc AS p JOIN pg_depend AS d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = {ext} AND d.deptype = 'e'
             ORDER BY 1"""),
        "tables": run_sql(dbname, f"""
            SELECT c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity, c.relacl::text,
                   obj_description(c.oid, 'pg_class')
              FROM pg_class AS c JOIN pg_depend AS d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = {ext} AND d.deptype = 'e'
             ORDER BY 1"""),
        "columns": run_sql(dbname, """
            SELECT attname, format_type(atttypid, atttypmod), attnotnull, pg_get_expr(adbin, adrelid)
              FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
             WHERE attrelid = 'ai.agno_learnings'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"""),
        "policies": run_sql(dbname, """
            SELECT polname, polcmd, polpermissive, polroles::regrole[]::text, pg_get_expr(polqual, polrelid),
                   pg_get_expr(polwithcheck, polrelid)
              FROM pg_policy WHERE polrelid = 'ai.agno_learnings'::regclass ORDER BY polname"""),
        "indexes": run_sql(dbname, "SELECT indexname, indexdef FROM pg_indexes "
                                   "WHERE schemaname = 'ai' AND tablename = 'agno_learnings' ORDER BY 1"),
        "event triggers": run_sql(dbname, "SELECT evtname, evtevent, evtenabled, evttags::text, evtfoid::regproc::text "
                                          "FROM pg_event_trigger ORDER BY 1"),
        "dumped tables": run_sql(dbname, "SELECT unnest(extconfig)::regclass::text, unnest(extcondition) "
                                         "FROM pg_extension WHERE extname = 'agno_learnings' ORDER BY 1"),
        "registry": sorted(tuple(sorted(r.items())) for r in __import__("agnotest").registry(dbname)),
    }


def update_and_check(dbname, old, made):
    before = fingerprint(dbname)
    print(f"update from {old}: {before[0]} rows before, md5 {before[1]}")
    run_sql(dbname, "ALTER EXTENSION agno_learnings UPDATE")
    after = fingerprint(dbname)
    print(f"update from {old} to {extension_version(dbname)}: {after[0]} rows after, md5 {after[1]}")
    assert extension_version(dbname) == default_version(dbname)
    assert after == before, "ALTER EXTENSION UPDATE changed the rows"
    assert owner_of(dbname) == RUNTIME_ROLE
    assert rls_enabled(dbname) and policies(dbname) == {"r": 1, "a": 1, "w": 1, "d": 1}
    assert EXTENSION_INDEXES <= index_names(dbname)
    assert len(registry_rows_for(dbname, "ai", "agno_learnings")) == 1
    return before


@pytest.mark.parametrize("old", OLDER or [None])
def test_update_keeps_rows_and_behaviour(databases, runtime_role, old):
    if old is None:
        pytest.skip(ONLY_ONE)
    dbname = databases("agno5_upgrade")
    install_extension(dbname, version=old)
    assert extension_version(dbname) == old
    made = fill(dbname)
    before = update_and_check(dbname, old, made)

    # The API, after the update, on rows written before it.
    listed = api(dbname, "learnings_list", limit=1000)
    assert listed["meta"]["total_count"] == before[0]
    for record in made:
        again = api(dbname, "learnings_get", learning_id=record["learning_id"])
        assert again == record, record["learning_id"]
    with pytest.raises(psycopg.Error) as error:
        api(dbname, "learnings_create", learning_type="user_profile", user_id="alice", content={"x": 1})
    assert error.value.sqlstate == "23505", error_text(error.value)
    created = api(dbname, "learnings_create", learning_type="user_profile", user_id="zoe", content={"v": 1})
    updated = api(dbname, "learnings_update", learning_id=created["learning_id"], changes={"content": {"v": 2}})
    assert updated["content"] == {"v": 2}
    users = api(dbname, "learnings_list_users", user_id="alice")
    assert [u["user_id"] for u in users["data"]] == ["alice"]
    api(dbname, "learnings_delete", learning_id=created["learning_id"])
    assert fingerprint(dbname) == before
    # agno, as the owner, still works.
    agno = agno_db(dbname, RUNTIME_ROLE)
    try:
        assert agno.get_learning(learning_type="user_profile", user_id="alice")["content"] == {"name": "Alice"}
        agno.upsert_learning(id="user_profile_after_update", learning_type="user_profile", user_id="u",
                             content={"a": 1})
        assert api(dbname, "learnings_get", learning_id="user_profile_after_update")["content"] == {"a": 1}
    finally:
        close_agno(agno)


@pytest.mark.parametrize("old", OLDER or [None])
def test_an_updated_extension_matches_a_fresh_install(databases, runtime_role, old):
    """An update must leave exactly what a fresh install of the new version makes."""
    if old is None:
        pytest.skip(ONLY_ONE)
    updated = databases("agno5_updated")
    install_extension(updated, version=old)
    run_sql(updated, "ALTER EXTENSION agno_learnings UPDATE")
    fresh = databases("agno5_fresh")
    install_extension(fresh)
    assert extension_version(updated) == extension_version(fresh)
    a, b = catalog(updated), catalog(fresh)
    for key in b:
        assert a[key] == b[key], f"after UPDATE from {old}, {key} differ from a fresh install"


@pytest.mark.parametrize("old", OLDER or [None])
def test_update_can_be_rolled_back_and_redone(databases, runtime_role, old):
    if old is None:
        pytest.skip(ONLY_ONE)
    dbname = databases("agno5_rollback")
    install_extension(dbname, version=old)
    new = default_version(dbname)
    path = one(dbname, "SELECT path FROM pg_extension_update_paths('agno_learnings') WHERE source = %s AND target = %s",
               (new, old))
    if path is None:
        pytest.skip(f"no downgrade path {new} -> {old} installed")
    made = fill(dbname)
    before = update_and_check(dbname, old, made)
    run_sql(dbname, "ALTER EXTENSION agno_learnings UPDATE TO %s" % psycopg.sql.Literal(old).as_string(None))
    assert extension_version(dbname) == old
    assert fingerprint(dbname) == before
    assert api(dbname, "learnings_list", limit=1)["meta"]["total_count"] == before[0]
    run_sql(dbname, "ALTER EXTENSION agno_learnings UPDATE")
    assert extension_version(dbname) == new
    assert fingerprint(dbname) == before
