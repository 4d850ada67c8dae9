"""Contract section 1: DROP EXTENSION never destroys learnings data.

Either the drop leaves ai.agno_learnings and every row in place, or it is refused with
a clear message (the guard's SQLSTATE 2BP01); both are accepted, data loss never is. With
and without CASCADE, and DROP SCHEMA ai CASCADE (which would take the extension with it),
on a table the extension created and on one it adopted.
"""

import psycopg
import pytest

from agnotest import (RUNTIME_ROLE, agno_db, api, close_agno, error_text, fingerprint, insert_raw_rows, install_extension,
                      make_deployment, one, run_sql, write_through_agno)


def with_rows(databases, origin):
    if origin == "created":
        dbname = databases("agno5_drop")
        install_extension(dbname)
        for user in ("alice", "bob"):
            api(dbname, "learnings_create", learning_type="user_profile", user_id=user, content={"name": user})
        api(dbname, "learnings_create", learning_type="decision_log", content={"d": 1})
        insert_raw_rows(dbname, 200)
        run_sql(dbname, f"GRANT USAGE ON SCHEMA ai TO {RUNTIME_ROLE}")
        run_sql(dbname, f"ALTER TABLE ai.agno_learnings OWNER TO {RUNTIME_ROLE}")
        agno = agno_db(dbname, RUNTIME_ROLE)
        try:
            write_through_agno(agno, 30)
        finally:
            close_agno(agno)
        assert one(dbname, "SELECT count(*) FROM ai.agno_learnings") == 233
    else:
        dbname = make_deployment(databases, "agno", rows=500)
        run_sql(dbname, "CREATE EXTENSION agno_learnings SCHEMA ai")
    return dbname


@pytest.mark.parametrize("origin", ["created", "adopted"])
@pytest.mark.parametrize("statement", ["DROP EXTENSION agno_learnings",
                                       "DROP EXTENSION agno_learnings CASCADE",
                                       "DROP EXTENSION IF EXISTS agno_learnings RESTRICT",
                                       "DROP SCHEMA ai CASCADE"])
def test_drop_extension_never_loses_rows(databases, runtime_role, origin, statement):
    dbname = with_rows(databases, origin)
    before = fingerprint(dbname)
    try:
        run_sql(dbname, statement)
    except psycopg.Error as error:
        text = error_text(error)
        print(f"{statement}: refused: {error.sqlstate}: {text}")
        assert error.sqlstate == "2BP01", f"not the guard's refusal: {error.sqlstate}: {text}"
        assert "learnings" in text.lower(), f"the refusal does not say what it protects: {text}"
        # Refused: the extension and its API are still there, the rows too.
        assert one(dbname, "SELECT count(*) FROM pg_extension WHERE extname = 'agno_learnings'") == 1
        assert fingerprint(dbname) == before
        assert api(dbname, "learnings_list", limit=1)["meta"]["total_count"] == before[0]
    else:
        print(f"{statement}: done; the table stays: {one(dbname, 'SELECT to_regclass($$ai.agno_learnings$$)')}")
        assert one(dbname, "SELECT to_regclass('ai.agno_learnings') IS NOT NULL"), \
            f"{statement} dropped the learnings table with {before[0]} rows"
        assert fingerprint(dbname) == before
        # The table left behind can be adopted again.
        run_sql(dbname, "CREATE EXTENSION agno_learnings SCHEMA ai")
        assert fingerprint(dbname) == before
        assert api(dbname, "learnings_list", limit=1)["meta"]["total_count"] == before[0]



def test_detaching_the_table_first_lets_the_extension_go_and_keeps_the_rows(databases, runtime_role):
    """The way out a refusal points to (ALTER EXTENSION ... DROP TABLE, then DROP EXTENSION),
    if the extension refuses; either way the rows stay and the table can be adopted again."""
    dbname = with_rows(databases, "adopted")
    before = fingerprint(dbname)
    run_sql(dbname, "ALTER EXTENSION agno_learnings DROP TABLE ai.agno_learnings")
    run_sql(dbname, "DROP EXTENSION agno_learnings CASCADE")
    assert one(dbname, "SELECT count(*) FROM pg_extension WHERE extname = 'agno_learnings'") == 0
    assert fingerprint(dbname) == before
    # agno (the owner) reads its table without the extension.
    agno = agno_db(dbname, RUNTIME_ROLE)
    try:
        assert agno.list_learnings(limit=1)[1] == before[0]
    finally:
        close_agno(agno)
    run_sql(dbname, "CREATE EXTENSION agno_learnings SCHEMA ai")
    assert fingerprint(dbname) == before
    assert api(dbname, "learnings_list", limit=1)["meta"]["total_count"] == before[0]
