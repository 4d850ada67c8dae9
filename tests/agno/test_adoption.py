"""Contract section 1: on a database where AgentOS already created ai.agno_learnings and
filled it, `CREATE EXTENSION agno_learnings SCHEMA ai` adopts the table: every row kept
byte for byte, the extension's indexes, row-level security (4 policies) and registration
added. A table that differs is adopted when it can be (an extra nullable column) or
refused with an error that names the problem (SQLSTATE 42P16, invalid_table_definition),
and nothing changes; never data loss.

The deployments are made the way AgentOS makes them: a non-superuser runtime role owns
the database, and the table comes either from agno 3.1.10's own PostgresDb (which creates
it on first write) or from the pg_dump of such a table (shared/fixtures). 1,000 rows:
written through agno (identity-keyed ids, decision-log uuids, JSON null metadata) and
through plain SQL (every learning type, odd Unicode, control characters, SQL NULL and
JSON null metadata, huge numbers, TOASTed content, NULL updated_at).
"""

import psycopg
import pytest

from agnotest import (AGNO_INDEXES, AGNO_ROWS, EXTENSION_INDEXES, LAYOUT, OTHER_ROLE, ROWS, RUNTIME_ROLE, agno_db,
                      api, close_agno, error_text, extension_version, fingerprint, index_names, make_deployment, one,
                      owner_of, policies, registry_rows_for, rls_enabled, run_sql, table_state)

@pytest.fixture(params=["agno", "fixture"])
def deployment(request, databases, runtime_role):
    return make_deployment(databases, request.param)


def test_agnos_table_and_the_fixture_have_the_same_layout(databases, runtime_role):
    by_agno = make_deployment(databases, "agno", rows=AGNO_ROWS)
    from_fixture = make_deployment(databases, "fixture", rows=AGNO_ROWS)
    assert run_sql(by_agno, LAYOUT) == run_sql(from_fixture, LAYOUT)
    assert index_names(by_agno) == index_names(from_fixture) == AGNO_INDEXES | {"agno_learnings_pkey"}


def test_create_extension_adopts_the_table_and_keeps_every_row(deployment):
    before = fingerprint(deployment)
    assert before[0] == ROWS
    owner_before = owner_of(deployment)
    print(f"adoption: {before[0]} rows before, md5 {before[1]}")

    run_sql(deployment, "CREATE EXTENSION agno_learnings SCHEMA ai")

    after = fingerprint(deployment)
    print(f"adoption: {after[0]} rows after, md5 {after[1]}")
    assert after == before, "CREATE EXTENSION changed the rows"
    assert extension_version(deployment) == one(
        deployment, "SELECT default_version FROM pg_available_extensions WHERE name = 'agno_learnings'")
    # The owner stays, so the agent runtime (connecting as the owner) is not subject to RLS.
    assert owner_of(deployment) == owner_before == RUNTIME_ROLE
    indexes = index_names(deployment)
    assert EXTENSION_INDEXES <= indexes, f"missing: {EXTENSION_INDEXES - indexes}"
    assert AGNO_INDEXES | {"agno_learnings_pkey"} <= indexes, "agno's own indexes must stay"
    assert rls_enabled(deployment)
    assert policies(deployment) == {"r": 1, "a": 1, "w": 1, "d": 1}
    assert len(registry_rows_for(deployment, "ai", "agno_learnings")) == 1


def test_the_api_serves_the_adopted_rows_exactly(deployment):
    run_sql(deployment, "CREATE EXTENSION agno_learnings SCHEMA ai")
    listed = api(deployment, "learnings_list", limit=1000, sort_by="created_at", sort_order="asc")
    assert listed["meta"]["total_count"] == ROWS and listed["meta"]["total_pages"] == 1
    table = {r[0]: r[1:] for r in run_sql(
        deployment, "SELECT learning_id, learning_type, namespace, user_id, content, metadata, created_at, updated_at "
                    "FROM ai.agno_learnings")}
    assert {r["learning_id"] for r in listed["data"]} == set(table)
    for record in listed["data"]:
        learning_type, namespace, user_id, content, metadata, created_at, updated_at = table[record["learning_id"]]
        assert (record["learning_type"], record["namespace"], record["user_id"]) == (learning_type, namespace, user_id)
        assert record["content"] == content and record["metadata"] == metadata, record["learning_id"]
        assert (record["created_at"], record["updated_at"]) == (created_at, updated_at)
    # A JSON-null metadata that agno wrote reads back as null.
    agno_written = one(deployment, "SELECT learning_id FROM ai.agno_learnings WHERE metadata = 'null'::jsonb "
                                   "AND learning_id LIKE 'user_profile_%' LIMIT 1")
    assert agno_written and api(deployment, "learnings_get", learning_id=agno_written)["metadata"] is None
    # Identity-keyed creates see the adopted rows: a duplicate is a conflict.
    with pytest.raises(psycopg.Error) as error:
        api(deployment, "learnings_create", learning_type="user_profile",
            user_id=agno_written[len("user_profile_"):], content={"x": 1})
    assert error.value.sqlstate == "23505", error_text(error.value)


def test_agno_keeps_working_on_the_adopted_table(deployment):
    run_sql(deployment, "CREATE EXTENSION agno_learnings SCHEMA ai")
    before = fingerprint(deployment)
    agno = agno_db(deployment, RUNTIME_ROLE)
    try:
        some_id = one(deployment, "SELECT learning_id FROM ai.agno_learnings WHERE learning_type = 'user_memory' "
                                  "AND learning_id LIKE 'memories_%' ORDER BY learning_id LIMIT 1")
        assert agno.get_learning_by_id(some_id)["learning_id"] == some_id
        records, total = agno.list_learnings(limit=10)
        assert total == ROWS and len(records) == 10
        agno.upsert_learning(id="user_profile_after_adoption", learning_type="user_profile",
                             user_id="after_adoption", content={"name": "new"})
        assert one(deployment, "SELECT count(*) FROM ai.agno_learnings") == ROWS + 1
        assert api(deployment, "learnings_get", learning_id="user_profile_after_adoption")["content"] == {"name": "new"}
        assert agno.update_learning("user_profile_after_adoption", content={"name": "newer"})
        assert agno.get_learning(learning_type="user_profile", user_id="after_adoption")["content"]["name"] == "newer"
        assert agno.delete_learning("user_profile_after_adoption")
        assert fingerprint(deployment) == before
    finally:
        close_agno(agno)


def test_a_table_owned_by_another_role_is_adopted_or_refused_clearly(databases, runtime_role, other_role):
    # The database and schema belong to one role, the table to another (neither superuser).
    dbname = make_deployment(databases, "fixture", table_owner=OTHER_ROLE, db_owner=RUNTIME_ROLE)
    assert one(dbname, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'ai'") == RUNTIME_ROLE
    before, state = fingerprint(dbname), table_state(dbname)
    try:
        run_sql(dbname, "CREATE EXTENSION agno_learnings SCHEMA ai")
    except psycopg.Error as error:
        text = error_text(error)
        print(f"another owner: refused: {error.sqlstate}: {text}")
        assert any(word in text.lower() for word in ("owner", "owned", OTHER_ROLE, "permission")), \
            f"the error does not name the problem: {text}"
        assert table_state(dbname) == state
        assert one(dbname, "SELECT count(*) FROM pg_extension WHERE extname = 'agno_learnings'") == 0
    else:
        print(f"another owner: adopted, owner {owner_of(dbname)}")
        assert owner_of(dbname) == OTHER_ROLE, "adoption must keep the table's owner"
        assert rls_enabled(dbname) and policies(dbname) == {"r": 1, "a": 1, "w": 1, "d": 1}
        assert EXTENSION_INDEXES <= index_names(dbname)
        assert len(registry_rows_for(dbname, "ai", "agno_learnings")) == 1
        assert api(dbname, "learnings_list", limit=1)["meta"]["total_count"] == ROWS
        # The owner's agno keeps working.
        agno = agno_db(dbname, OTHER_ROLE)
        try:
            assert agno.list_learnings(limit=1)[1] == ROWS
        finally:
            close_agno(agno)
    assert fingerprint(dbname) == before


def assert_refused_and_unchanged(dbname, column):
    before, state = fingerprint(dbname), table_state(dbname)
    with pytest.raises(psycopg.Error) as error:
        run_sql(dbname, "CREATE EXTENSION agno_learnings SCHEMA ai")
    text = error_text(error.value)
    print(f"refused: {error.value.sqlstate}: {text}")
    assert error.value.sqlstate == "42P16", f"not invalid_table_definition: {error.value.sqlstate}: {text}"
    assert column in text, f"the error does not name the column {column}: {text}"
    assert fingerprint(dbname) == before, "a refused adoption changed the rows"
    assert table_state(dbname) == state, "a refused adoption changed the table"
    assert one(dbname, "SELECT count(*) FROM pg_extension WHERE extname = 'agno_learnings'") == 0
    return error.value


@pytest.mark.parametrize("column", ["entity_type", "metadata", "updated_at"])
def test_a_missing_column_is_refused_with_a_clear_error(databases, runtime_role, column):
    dbname = make_deployment(databases, "fixture", rows=300)
    run_sql(dbname, f"ALTER TABLE ai.agno_learnings DROP COLUMN {column}", user=RUNTIME_ROLE)
    assert_refused_and_unchanged(dbname, column)


def test_a_mistyped_column_is_refused_with_a_clear_error(databases, runtime_role):
    dbname = make_deployment(databases, "fixture", rows=300)
    run_sql(dbname, "ALTER TABLE ai.agno_learnings ALTER COLUMN content TYPE text", user=RUNTIME_ROLE)
    assert_refused_and_unchanged(dbname, "content")


@pytest.mark.parametrize("column_def", ["note text", "tenant_id integer", "labels jsonb",
                                        "tenant text NOT NULL DEFAULT 'main'"])
def test_an_extra_column_the_api_can_leave_out_is_adopted(databases, runtime_role, column_def):
    dbname = make_deployment(databases, "fixture", rows=300)
    column = column_def.split()[0]
    run_sql(dbname, f"ALTER TABLE ai.agno_learnings ADD COLUMN {column_def}", user=RUNTIME_ROLE)
    if "DEFAULT" not in column_def:
        run_sql(dbname, f"UPDATE ai.agno_learnings SET {column} = "
                        f"CASE WHEN created_at % 2 = 0 THEN NULL ELSE "
                        f"(CASE '{column}' WHEN 'labels' THEN '{{\"l\": 1}}' WHEN 'tenant_id' THEN '7' "
                        f"ELSE 'x ü' END)::{column_def.split()[1]} END", user=RUNTIME_ROLE)
    before = fingerprint(dbname)
    run_sql(dbname, "CREATE EXTENSION agno_learnings SCHEMA ai")
    assert fingerprint(dbname) == before
    assert rls_enabled(dbname) and policies(dbname) == {"r": 1, "a": 1, "w": 1, "d": 1}
    assert EXTENSION_INDEXES <= index_names(dbname)
    assert len(registry_rows_for(dbname, "ai", "agno_learnings")) == 1
    assert one(dbname, f"SELECT count(*) FROM pg_attribute WHERE attrelid = 'ai.agno_learnings'::regclass "
                       f"AND attname = '{column}' AND NOT attisdropped") == 1
    # The API and agno write rows without the extra column.
    created = api(dbname, "learnings_create", learning_type="user_profile", user_id="extra", content={"a": 1})
    assert created["learning_id"] == "user_profile_extra"
    agno = agno_db(dbname, RUNTIME_ROLE)
    try:
        agno.upsert_learning(id="memories_extra", learning_type="user_memory", user_id="extra", content={"m": []})
        assert agno.get_learning_by_id("user_profile_extra")["content"] == {"a": 1}
    finally:
        close_agno(agno)
    assert one(dbname, "SELECT count(*) FROM ai.agno_learnings") == 302
    assert api(dbname, "learnings_list", user_id="extra")["meta"]["total_count"] == 2


def test_an_extra_not_null_column_without_default_is_refused(databases, runtime_role):
    dbname = make_deployment(databases, "fixture", rows=300)
    run_sql(dbname, "ALTER TABLE ai.agno_learnings ADD COLUMN tenant text", user=RUNTIME_ROLE)
    run_sql(dbname, "UPDATE ai.agno_learnings SET tenant = 'tenant-' || (created_at % 3)", user=RUNTIME_ROLE)
    run_sql(dbname, "ALTER TABLE ai.agno_learnings ALTER COLUMN tenant SET NOT NULL", user=RUNTIME_ROLE)
    assert_refused_and_unchanged(dbname, "tenant")
