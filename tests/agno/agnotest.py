"""Shared helpers and fixtures of the issue-5 suites (tests/agno, tests/replica).

They run against a running PostgreSQL cluster given by PGHOST, PGPORT and PGUSER (a
superuser; scripts/test.sh provides one of each supported version, with the extension's
files installed in that PostgreSQL, whose programs are in AGNO_PG_BINDIR). Each test makes its own databases (from template0, so nothing a
previous run left in template1 leaks in) and drops them when it ends.

A conftest imports everything from here (`from agnotest import *`), so both suite
directories share one definition without a conftest of the same module name in each.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import uuid

import psycopg
import psycopg.conninfo
import pytest
from psycopg import sql

REPO = pathlib.Path(__file__).resolve().parents[2]
PG_BINDIR = pathlib.Path(os.environ.get("AGNO_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
FIXTURE = pathlib.Path("/work/shared/fixtures/agno-3.1.10-learnings.sql")
if not FIXTURE.exists():
    FIXTURE = REPO.parent / "shared" / "fixtures" / "agno-3.1.10-learnings.sql"

# The login role the agent runtime connects as: it owns the learnings table (as the
# role that ran agno's PostgresDb owns the table agno created), and is no superuser.
RUNTIME_ROLE = "agno5_runtime"
# Another non-superuser role, for the "table owned by someone else" variants.
OTHER_ROLE = "agno5_other"

# Every row of the table, byte for byte: the row count and an md5 of all rows' text.
FINGERPRINT = (
    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY learning_id COLLATE \"C\"), ''))"
    " FROM {table} AS t"
)

# The indexes the extension adds to agno's table (agno has its single-column ones).
EXTENSION_INDEXES = {"idx_agno_learnings_recent", "idx_agno_learnings_user_recent"}
AGNO_INDEXES = {
    f"idx_agno_learnings_{c}"
    for c in ("agent_id", "created_at", "entity_id", "entity_type", "learning_type",
              "namespace", "session_id", "team_id", "user_id", "workflow_id")
}


# ---------------------------------------------------------------------------------------
# connections

def conninfo(dbname="postgres", user=None, host=None, port=None):
    return psycopg.conninfo.make_conninfo(
        host=host or os.environ["PGHOST"],
        port=port or os.environ["PGPORT"],
        user=user or os.environ.get("PGUSER") or "postgres",
        dbname=dbname,
    )


def connect(dbname="postgres", user=None, autocommit=True, **kw):
    return psycopg.connect(conninfo(dbname, user, **kw), autocommit=autocommit)


def run_sql(dbname, statement, params=None, user=None):
    """Runs one statement in its own connection (autocommit); returns its rows or None."""
    with connect(dbname, user) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else None


def one(dbname, statement, params=None, user=None):
    """The first column of the first row."""
    rows = run_sql(dbname, statement, params, user)
    return rows[0][0] if rows else None


def fingerprint(dbname, table="ai.agno_learnings"):
    return tuple(run_sql(dbname, FINGERPRINT.format(table=table))[0])


def error_text(error):
    """An error's message, detail and hint, as a user sees them."""
    diag = getattr(error, "diag", None)
    parts = [str(error)]
    if diag is not None:
        parts += [x for x in (diag.message_detail, diag.message_hint) if x and x not in parts[0]]
    return "\n".join(p for p in parts if p)


def sqlstate(error):
    return getattr(error, "sqlstate", None)


# ---------------------------------------------------------------------------------------
# databases and roles

def unique_name(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def create_database(name, owner=None):
    with connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name))
        if owner:
            statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        conn.execute(statement)
    return name


def drop_database(name):
    with connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def ensure_role(name):
    """A LOGIN role that is neither superuser nor BYPASSRLS (cluster-wide, kept)."""
    with connect() as conn:
        try:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(sql.Identifier(name)))
        except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pass  # made by an earlier test (or a concurrent one)
        flags = conn.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        assert flags == (False, False), f"role {name} must be neither superuser nor BYPASSRLS"
    return name


def install_extension(dbname, version=None):
    run_sql(dbname, "CREATE SCHEMA IF NOT EXISTS ai")
    if version:
        run_sql(dbname, sql.SQL("CREATE EXTENSION agno_learnings VERSION {} SCHEMA ai").format(sql.Literal(version)))
    else:
        run_sql(dbname, "CREATE EXTENSION agno_learnings SCHEMA ai")


def extension_version(dbname):
    return one(dbname, "SELECT extversion FROM pg_extension WHERE extname = 'agno_learnings'")


def give_table_to(dbname, role, table="ai.agno_learnings"):
    """Makes `role` the owner of the table, as the agent runtime owns agno's table."""
    run_sql(dbname, sql.SQL("GRANT USAGE ON SCHEMA ai TO {}").format(sql.Identifier(role)))
    run_sql(dbname, sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.SQL(table), sql.Identifier(role)))


# ---------------------------------------------------------------------------------------
# agno

def agno_url(dbname, user, host=None, port=None):
    host = host or os.environ["PGHOST"]
    port = port or os.environ["PGPORT"]
    return f"postgresql+psycopg://{user}@/{dbname}?host={host}&port={port}"


def agno_db(dbname, user=RUNTIME_ROLE):
    from agno.db.postgres import PostgresDb

    return PostgresDb(db_url=agno_url(dbname, user), db_schema="ai")


def close_agno(db):
    engine = getattr(db, "db_engine", None)
    if engine is not None:
        engine.dispose()


# ---------------------------------------------------------------------------------------
# the SQL API

def api(dbname, function, user=None, **args):
    """Calls ai.<function>(name => value, ...) and returns its jsonb (parsed) or None."""
    names = list(args)
    call = sql.SQL("SELECT ai.{}({})").format(
        sql.Identifier(function),
        sql.SQL(", ").join(
            sql.SQL("{} => {}").format(sql.Identifier(n), sql.Placeholder())
            + (sql.SQL("::jsonb") if n in ("content", "metadata", "changes") else sql.SQL(""))
            for n in names
        ),
    )
    params = [json.dumps(v) if n in ("content", "metadata", "changes") and v is not None else v
              for n, v in args.items()]
    value = one(dbname, call, params, user=user)
    if isinstance(value, str):  # psycopg parses jsonb itself; a void function gives ''
        return json.loads(value) if value else None
    return value


def policies(dbname, table="ai.agno_learnings"):
    """The table's policies as {command letter: count} (r select, a insert, w update, d delete)."""
    rows = run_sql(dbname, "SELECT polcmd::text, count(*) FROM pg_policy WHERE polrelid = %s::regclass GROUP BY 1",
                   (table,))
    return dict(rows)


def rls_enabled(dbname, table="ai.agno_learnings"):
    return one(dbname, "SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", (table,))


def index_names(dbname, table="agno_learnings", schema="ai"):
    return {r[0] for r in run_sql(dbname, "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
                                  (schema, table))}


def registry(dbname):
    """The rows of the registry of learnings tables, as dicts: agno_learnings_internal's
    since 0.3.0, the extension schema's before."""
    with connect(dbname) as conn:
        table = conn.execute("SELECT coalesce(to_regclass('agno_learnings_internal.learnings_tables'), "
                             "to_regclass('ai.learnings_tables'))::text").fetchone()[0]
        cur = conn.execute(f"SELECT * FROM {table}")
        names = [d.name for d in cur.description]
        return [dict(zip(names, [str(v) for v in row])) for row in cur.fetchall()]


def registry_rows_for(dbname, schema, table):
    """The registry rows that point at schema.table (whatever the registry's column names)."""
    return [r for r in registry(dbname) if schema in r.values() and table in r.values()]


def owner_of(dbname, table="ai.agno_learnings"):
    return one(dbname, "SELECT relowner::regrole::text FROM pg_class WHERE oid = %s::regclass", (table,))


# ---------------------------------------------------------------------------------------
# varied rows, as a long-running AgentOS deployment holds them

ODD_TEXT = [
    "plain",
    "ünïcødé ñ ß Å",
    "😀🧠🚀 emoji",
    "👩‍👩‍👧‍👦 zwj family",
    "עברית RTL ‏mark",
    "中文 日本語 한국어",
    "e\u0301 combining",
    "tab\tnewline\ncr\r",
    "quote ' double \" backslash \\",
    "control \u0001\u001f",
    "nbsp\u00a0zero\u200bwidth",
    "surrogate-range 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "",
]


def _sql_text_array(values):
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def raw_rows_sql(n, prefix="raw"):
    """An INSERT of n varied rows in plain SQL: every learning type, namespaces, users with
    odd characters, JSON null / SQL NULL / object metadata, big numbers, nested and long
    (TOASTed) content, NULL updated_at."""
    return f"""
        INSERT INTO ai.agno_learnings (learning_id, learning_type, namespace, user_id, agent_id, team_id,
                                       workflow_id, session_id, entity_id, entity_type, content, metadata,
                                       created_at, updated_at)
        SELECT '{prefix}_' || lpad(g::text, 5, '0') || CASE WHEN g % 7 = 0 THEN '_é😀' ELSE '' END,
               (ARRAY['user_profile', 'user_memory', 'session_context', 'entity_memory', 'decision_log',
                      'learned_knowledge'])[1 + g % 6],
               (ARRAY[NULL, 'global', 'user', 'team-α', ''])[1 + g % 5],
               CASE WHEN g % 4 = 0 THEN NULL
                    ELSE (ARRAY['alice', 'bob@example.com', 'ümlaut', '😀user', 'quo''te', 'back\\slash'])[1 + g % 6]
               END,
               'agent' || (g % 5), CASE WHEN g % 3 = 0 THEN 'team' || (g % 2) END,
               CASE WHEN g % 11 = 0 THEN 'wf' || g END,
               's-' || (g % 50), 'e' || (g % 40), (ARRAY['person', 'company', 'projekt'])[1 + g % 3],
               jsonb_build_object(
                   'n', g,
                   'text', ({_sql_text_array(ODD_TEXT)}::text[])[1 + g % {len(ODD_TEXT)}] || ' #' || g,
                   'big', 123456789012345678901234567890 + g,
                   'float', 1.0 / (g + 3),
                   'nested', jsonb_build_object('list', jsonb_build_array(g, 'x', NULL, true, '{{}}'::jsonb),
                                                 'empty', '{{}}'::jsonb),
                   'long', CASE WHEN g % 97 = 0 THEN repeat('long text 😀 ', 3000) END),
               CASE g % 3 WHEN 0 THEN 'null'::jsonb
                          WHEN 1 THEN NULL
                          ELSE jsonb_build_object('source', 'raw', 'tags', jsonb_build_array('a', 'ß'))
               END,
               1700000000 + g,
               CASE WHEN g % 5 <> 0 THEN 1700000000 + 2 * g + (g % 3) END
          FROM generate_series(1, {n}) AS g
    """


def insert_raw_rows(dbname, n, prefix="raw", user=None):
    run_sql(dbname, raw_rows_sql(n, prefix), user=user)


def write_through_agno(db, n, prefix="agno"):
    """n learnings written by agno's PostgresDb.upsert_learning (which swallows errors,
    so callers count the rows afterwards): identity-keyed types with agno's own ids,
    decision logs with uuids, metadata left out (JSON null) or set."""
    from agno.learn.utils import build_learning_id

    ids = []
    for i in range(n):
        kind = i % 6
        user = f"{prefix}-user-{i % 13}-{ODD_TEXT[i % 4]}"
        text = ODD_TEXT[i % len(ODD_TEXT)]
        metadata = None if i % 2 == 0 else {"written_by": "agno", "i": i, "text": text}
        if kind == 0:
            args = dict(learning_type="user_profile", user_id=f"{user}-{i}", content={"user_id": user, "name": text})
        elif kind == 1:
            args = dict(learning_type="user_memory", user_id=f"{user}-{i}",
                        content={"user_id": user, "memories": [{"id": f"m{i}", "content": text}]})
        elif kind == 2:
            args = dict(learning_type="session_context", session_id=f"{prefix}-s-{i}",
                        content={"session_id": f"{prefix}-s-{i}", "summary": text})
        elif kind == 3:
            args = dict(learning_type="entity_memory", namespace="global", entity_id=f"{prefix}-e{i}",
                        entity_type="company", content={"entity_id": f"{prefix}-e{i}", "name": text})
        elif kind == 4:
            args = dict(learning_type="entity_memory", namespace="user", user_id=user, entity_id=f"{prefix}-p{i}",
                        entity_type="person", content={"entity_id": f"{prefix}-p{i}", "name": text})
        else:
            args = dict(learning_type="decision_log", agent_id="agent-x",
                        content={"decision": text, "i": i})
        learning_id = build_learning_id(
            args["learning_type"], user_id=args.get("user_id"), session_id=args.get("session_id"),
            entity_id=args.get("entity_id"), entity_type=args.get("entity_type"), namespace=args.get("namespace"),
        ) or f"{uuid.uuid4()}"
        db.upsert_learning(id=learning_id, metadata=metadata, **args)
        ids.append(learning_id)
    return ids


# ---------------------------------------------------------------------------------------
# AgentOS deployments (a table agno made, before the extension)

ROWS = 1000
AGNO_ROWS = 120

LAYOUT = ("SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
          "WHERE attrelid = 'ai.agno_learnings'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum")


def table_state(dbname):
    """What adoption may change, so a refused adoption can be shown to change nothing."""
    return {
        "owner": owner_of(dbname),
        "rls": rls_enabled(dbname),
        "policies": policies(dbname),
        "indexes": index_names(dbname),
        "columns": run_sql(dbname, LAYOUT),
        "ai objects": run_sql(dbname, "SELECT relname FROM pg_class WHERE relnamespace = 'ai'::regnamespace "
                                      "ORDER BY relname"),
        "ai functions": one(dbname, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'ai'::regnamespace"),
    }


def make_deployment(databases, source, table_owner=RUNTIME_ROLE, db_owner=RUNTIME_ROLE, rows=ROWS):
    """A database as AgentOS leaves it: ai.agno_learnings created by agno (source
    'agno') or from the fixture (source 'fixture'), owned by table_owner, with `rows` rows."""
    dbname = databases("agno5_adopt", owner=db_owner)
    if db_owner != table_owner:
        # The schema belongs to the database owner; the table to another role.
        run_sql(dbname, "CREATE SCHEMA ai", user=db_owner)
        run_sql(dbname, f"GRANT USAGE, CREATE ON SCHEMA ai TO {table_owner}", user=db_owner)
    if source == "fixture":
        script = FIXTURE.read_text()
        if db_owner != table_owner:  # the schema exists; its CREATE needs rights on the database
            script = script.replace("CREATE SCHEMA IF NOT EXISTS ai;", "")
        with connect(dbname, user=table_owner) as conn:
            conn.execute(script)
    agno = agno_db(dbname, table_owner)
    try:
        # agno creates the table itself on its first write (source 'agno').
        write_through_agno(agno, AGNO_ROWS)
        assert one(dbname, "SELECT count(*) FROM ai.agno_learnings") == AGNO_ROWS, \
            "agno did not write its rows (its upsert swallows errors)"
    finally:
        close_agno(agno)
    insert_raw_rows(dbname, rows - AGNO_ROWS, user=table_owner)
    assert owner_of(dbname) == table_owner
    assert one(dbname, "SELECT count(*) FROM pg_extension WHERE extname = 'agno_learnings'") == 0
    return dbname


# ---------------------------------------------------------------------------------------
# processes and files

def pg_tool(name):
    return str(PG_BINDIR / name)


def clean_env():
    """The environment for PostgreSQL programs: no Rust backtrace variables (a server
    started with them would add backtraces to error details)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RUST_")}


def as_pg_user(args, check=True, timeout=300):
    """Runs a PostgreSQL program as the OS user that runs clusters (postgres when we are
    root: PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, env=clean_env(), check=check, capture_output=True, text=True, cwd="/",
                          timeout=timeout)


def pg_user_dir(prefix):
    """A new directory under /tmp that the cluster's OS user owns."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    path.chmod(0o700)
    return path


def remove_dir(path):
    if os.geteuid() == 0:
        subprocess.run(["rm", "-rf", "--", str(path)], check=False)
    else:
        shutil.rmtree(path, ignore_errors=True)


def installed_versions():
    """Versions whose install script (agno_learnings--<v>.sql) is in the system
    PostgreSQL's extension directory, oldest first."""
    sharedir = subprocess.run([pg_tool("pg_config"), "--sharedir"], capture_output=True, text=True,
                              check=True).stdout.strip()
    found = []
    for path in pathlib.Path(sharedir, "extension").glob("agno_learnings--*.sql"):
        m = re.fullmatch(r"agno_learnings--([^-]+(?:-[^-]+)*)\.sql", path.name)
        if m and "--" not in m.group(1):
            found.append(m.group(1))

    def key(v):
        return tuple(int(x) if x.isdigit() else x for x in re.split(r"[.-]", v))

    return sorted(found, key=key)


# ---------------------------------------------------------------------------------------
# fixtures

@pytest.fixture(scope="session")
def cluster():
    missing = [v for v in ("PGHOST", "PGPORT") if not os.environ.get(v)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set: run through scripts/test.sh, or export a running cluster's")
    with connect() as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0], \
            "PGUSER must be a superuser"
    # The server must be the one whose tools the suite uses (AGNO_PG_BINDIR, set by
    # scripts/lib.sh for the version under test).
    tools = subprocess.run([pg_tool("postgres"), "--version"], capture_output=True, text=True, check=True).stdout
    major = re.search(r"\(PostgreSQL\) (\d+)", tools).group(1)
    assert version.startswith(major), f"PostgreSQL {major} expected ({PG_BINDIR}), server is {version}"
    return conninfo()


@pytest.fixture(scope="session")
def runtime_role(cluster):
    return ensure_role(RUNTIME_ROLE)


@pytest.fixture(scope="session")
def other_role(cluster):
    return ensure_role(OTHER_ROLE)


@pytest.fixture
def databases(cluster):
    """A factory of fresh databases (from template0), all dropped when the test ends."""
    made = []

    def make(prefix="agno5", owner=None):
        name = create_database(unique_name(prefix), owner=owner)
        made.append(name)
        return name

    yield make
    for name in made:
        drop_database(name)


@pytest.fixture
def ext_db(databases, runtime_role):
    """A fresh database with `CREATE SCHEMA ai; CREATE EXTENSION agno_learnings SCHEMA ai`,
    the table given to the runtime role (as agno's table belongs to the role agno connects as)."""
    name = databases("agno5_ext")
    install_extension(name)
    give_table_to(name, runtime_role)
    return name
