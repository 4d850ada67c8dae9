"""Shared pieces of the fuzz suite (tests/fuzz): connections, the database and PostgREST
it runs against, what counts as an acceptable refusal, and the checks made after every
example.

The module has a name of its own (not `conftest`) so that it never clashes with
tests/python's or tests/agno's helpers when pytest imports them.
"""

import contextlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time

import hypothesis
import hypothesis.errors
import psycopg
import psycopg.conninfo
import psycopg.sql
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PG_BINDIR = pathlib.Path(os.environ.get("AGNO_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
DB = "agno_fuzz"
SCHEMA = "ai"

# ---------------------------------------------------------------------------------------
# What a refusal may look like: every SQLSTATE accepted, in one place, with its reason.

# The contract's own error table (docs/sql-api.md, "Errors"; contract section 4).
CONTRACT_SQLSTATES = {
    "22023": "bad parameter combination: `table` without `db_id` (400)",
    "PT401": "no valid identity: missing, bad or expired token, untrusted claims (401)",
    "42501": "forbidden: another user, a shared row, a missing scope (403)",
    "PT404": "not found, or hidden from this caller (404)",
    "23505": "an identity-keyed record exists (409)",
    "PT422": "validation: identity fields, content, changes, limit/page/sort_order (422)",
}

# PostgreSQL refusing an argument before any of the extension's code runs: the input
# function of the parameter's type, or the server's own limits.
POSTGRES_SQLSTATES = {
    "22P02": "invalid_text_representation: jsonb's input refuses text that is not JSON, or a "
             "JSON string holding a lone surrogate escape (\\ud800, \\udc00); int4's input "
             "refuses a limit/page that is not an integer",
    "22P05": "untranslatable_character: jsonb's input refuses \\u0000 inside a JSON string",
    "22021": "character_not_in_repertoire: an escape that does not make valid UTF-8 text",
    "22003": "numeric_value_out_of_range: int4's input refuses a limit/page beyond "
             "-2^31..2^31-1 (2^31, huge numbers); regclass's input an OID beyond 2^32-1",
    "54000": "program_limit_exceeded: a value beyond one of PostgreSQL's size limits",
    "54001": "statement_too_complex: JSON nested deeper than max_stack_depth lets the JSON "
             "parser go (stack depth limit exceeded)",
    "25006": "read_only_sql_transaction: a write function (create, update, delete, delete "
             "user, register) called in a READ ONLY transaction, as on a hot standby",
}

# learnings_register_table (administration, PL/pgSQL): the regclass input of its first
# argument, then its own documented checks (sql/bootstrap.sql).
REGISTER_SQLSTATES = {
    "42P01": "undefined_table: regclass input, the text names no relation",
    "3F000": "invalid_schema_name: regclass input, the qualified name's schema does not exist",
    "42602": "invalid_name: regclass input, not a (qualified) relation name",
    "42601": "syntax_error: regclass input, improper relation name (too many dotted names)",
    "0A000": "feature_not_supported: regclass input, a cross-database reference db.schema.table",
    "3D000": "invalid_catalog_name: regclass input, a database name that does not exist",
    "42809": "wrong_object_type: register_table's own check, the relation is not a table",
    "42710": "duplicate_object: register_table's own check, the name or the table is "
             "registered otherwise",
    "42P16": "invalid_table_definition: register_table's own check, not agno's layout",
    "42501": "insufficient_privilege: EXECUTE is for superusers only; a table owned by "
             "another role or with TRIGGER granted",
}

# Those of the codes above that come from an argument's input function (regclass, jsonb,
# int4): accepted only when casting that argument alone gives the same SQLSTATE, so that
# the same code raised from inside the extension's own code is caught.
INPUT_SQLSTATES = {"22P02", "22P05", "22021", "22003", "54000", "54001",
                   "42P01", "3F000", "42602", "42601", "0A000", "3D000"}

SQL_ACCEPTED = {**CONTRACT_SQLSTATES, **POSTGRES_SQLSTATES}
REGISTER_ACCEPTED = {**SQL_ACCEPTED, **REGISTER_SQLSTATES}

# Over HTTP: the contract's statuses, and what PostgREST answers itself for a request it
# refuses before (or instead of) calling a function.
CONTRACT_STATUSES = {200, 201, 204, 400, 401, 403, 404, 409, 422}
POSTGREST_STATUSES = {
    400: "PGRST1xx: a body or query string it cannot parse; PostgreSQL's 22P02/22P05/22003 "
         "input errors (json_to_record of the body), a role claim naming no role",
    404: "PGRST202: no function with these argument names (unknown keys or query parameters)",
    405: "PGRST101: GET/HEAD on a volatile function, or a method /rpc does not serve",
    406: "PGRST106/PGRST107: an Accept or Accept-Profile/Content-Profile it cannot serve",
    413: "PostgreSQL's 54xxx (program limit, JSON nested too deep) as PostgREST maps it",
    415: "a Content-Type it cannot read",
    416: "PGRST103: a Range header it cannot satisfy",
    431: "the HTTP server refuses request headers over its limit (a huge token)",
}
HTTP_ACCEPTED = CONTRACT_STATUSES | set(POSTGREST_STATUSES)
# SQLSTATEs of the SQL PostgREST builds itself from a request (not the API's functions):
# a path naming no table, a query parameter it reads as a filter on a function's result.
PATH_SQLSTATES = {
    "42P01": "undefined_table (404): a path naming no table or view of the served schema",
    "42883": "undefined_function (404): an /rpc/ path naming no function",
    "42703": "undefined_column (400): a query parameter PostgREST applies as a filter on the "
             "function's result (GET /rpc/learnings_get?learning_id=x&nonsense=eq.1) names no column",
}
# And any syntax or name error (class 42, answered 400/404) of the SQL PostgREST builds
# from query parameters that are not the function's arguments, which it reads as filters
# on the result (?%20=eq.1 gives 42601 "zero-length delimited identifier").
FILTER_SQLSTATE_CLASS = "42"

# Defects of PostgREST 12.0.2 itself, found by this suite, for requests that never reach
# the database: it decodes header values and the percent-decoded query string as UTF-8
# and fails on anything else. Tolerated (recorded, and printed at the end of the run) so
# that they do not hide the extension's own results; FUZZ_STRICT_POSTGREST=1 makes them
# failures. Each is matched narrowly: the request carried such bytes, and nothing changed.
POSTGREST_DEFECTS = {
    "non-UTF-8 header": "a header value (any header: Authorization, Prefer, X-Anything) with a byte that "
                        "is not UTF-8 (e.g. 0x80): 500 'Something went wrong'; Accept or Content-Type: "
                        "the connection is closed without a response",
    "non-UTF-8 query": "a query string whose percent-escapes decode to bytes that are not UTF-8 "
                       "(e.g. ?%ff, ?user_id=%ff): 500 'Something went wrong'",
    # Not exercised (the suite keeps bodies of other types small): parsing an
    # application/x-www-form-urlencoded body takes time quadratic in the length of a key,
    # before any authentication: a 10 kB body `xxx…` takes 6 s, 20 kB 23 s, 40 kB keeps a
    # core busy after warp closed the connection at 30 s (POST /rpc/learnings_get,
    # Content-Type: application/x-www-form-urlencoded, no token).
    "CSV parse error": "a text/csv body it cannot parse whose rest holds non-ASCII text (e.g. "
                       "`a \"` and 50 x U+0080): its parse error message is cut inside a UTF-8 "
                       "character ('Cannot decode byte \\xc2' in its log) and the connection is "
                       "closed without a response",
}
STRICT_POSTGREST = os.environ.get("FUZZ_STRICT_POSTGREST") == "1"
# Bodies sent with another Content-Type than JSON stay below this (see above).
SMALL_BODY = 2048
DEFECTS_SEEN = {}
# Error codes a JSON error body may carry: the SQLSTATEs above, or PostgREST's own.
PGRST_CODE = re.compile(r"^PGRST\d{3}$")


def note(outcome):
    """An outcome for Hypothesis's statistics (--hypothesis-show-statistics); nothing
    outside a Hypothesis test (the fixed examples)."""
    try:
        hypothesis.event(outcome)
    except hypothesis.errors.InvalidArgument:
        pass


def check_sqlstate(code, accepted, context):
    assert code is not None, f"a refusal without SQLSTATE: {context}"
    assert code != "XX000", f"internal error XX000: {context}"
    assert code in accepted, f"SQLSTATE {code} is not an accepted refusal: {context}"


# ---------------------------------------------------------------------------------------
# connections


def conninfo(dbname=DB, user=None):
    for var in ("PGHOST", "PGPORT"):
        if var not in os.environ:
            pytest.fail(f"{var} is not set: run through scripts/suites/80-fuzz.sh (or export a cluster's)")
    return psycopg.conninfo.make_conninfo(
        host=os.environ["PGHOST"], port=os.environ["PGPORT"],
        user=user or os.environ.get("PGUSER") or "postgres", dbname=dbname,
    )


def connect(dbname=DB, autocommit=True):
    return psycopg.connect(conninfo(dbname), autocommit=autocommit)


def run_sql(statement, params=None, dbname=DB):
    with connect(dbname) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else None


# ---------------------------------------------------------------------------------------
# the database: the extension, a second registered table, tables to register, roles

SETUP_SQL = """
CREATE SCHEMA ai;
CREATE EXTENSION agno_learnings SCHEMA ai;
-- A second learnings table, registered, that `table => 'tenant_learnings'` reaches.
CREATE SCHEMA tenant;
CREATE TABLE tenant.learnings (LIKE ai.agno_learnings INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE tenant.learnings ADD PRIMARY KEY (learning_id);
SELECT ai.learnings_register_table('tenant.learnings', 'tenant_learnings');
-- Candidates for learnings_register_table: one that fits, and ones that must be refused.
CREATE SCHEMA spare;
CREATE TABLE spare.learnings (LIKE ai.agno_learnings INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE spare.learnings ADD PRIMARY KEY (learning_id);
CREATE TABLE spare.no_key (LIKE ai.agno_learnings INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE spare.bad_layout (learning_id varchar PRIMARY KEY, content text);
CREATE TABLE spare.extra_not_null (LIKE ai.agno_learnings INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
                                   tenant int NOT NULL);
ALTER TABLE spare.extra_not_null ADD PRIMARY KEY (learning_id);
CREATE VIEW spare.a_view AS SELECT * FROM ai.agno_learnings;
CREATE SEQUENCE spare.a_sequence;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'agno_fuzz_other') THEN
        CREATE ROLE agno_fuzz_other NOLOGIN;
    END IF;
END $$;
CREATE TABLE spare.foreign_owner (LIKE ai.agno_learnings INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE spare.foreign_owner ADD PRIMARY KEY (learning_id);
ALTER TABLE spare.foreign_owner OWNER TO agno_fuzz_other;
CREATE TABLE spare.trigger_granted (LIKE ai.agno_learnings INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE spare.trigger_granted ADD PRIMARY KEY (learning_id);
GRANT TRIGGER ON spare.trigger_granted TO agno_fuzz_other;
"""

# After sql/postgrest.sql: the client role (PostgREST's learnings_user) may use the
# second table as it uses the extension's.
GRANTS_SQL = """
GRANT USAGE ON SCHEMA tenant TO learnings_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant.learnings TO learnings_user;
"""

# The registered tables (fingerprinted before and after every call) and the registry.
TABLES = ("ai.agno_learnings", "tenant.learnings")
REGISTERED = {"agno_learnings", "tenant_learnings"}

# Rows every test starts from: two users' records, shared ones, other types.
SEED_SQL = """
TRUNCATE {table};
INSERT INTO {table} (learning_id, learning_type, namespace, user_id, agent_id, team_id, session_id,
                     entity_id, entity_type, content, metadata, created_at, updated_at) VALUES
  ('user_profile_alice', 'user_profile', NULL, 'alice', NULL, NULL, NULL, NULL, NULL,
   '{{"name": "Alice", "n": 1.000000000000000000001}}', NULL, 1, 1),
  ('user_profile_bob', 'user_profile', NULL, 'bob', NULL, NULL, NULL, NULL, NULL, '{{"name": "Bob"}}',
   'null', 2, NULL),
  ('memories_alice', 'user_memory', NULL, 'alice', 'agent-1', 'team-1', NULL, NULL, NULL,
   '{{"memories": ["likes tea"]}}', '{{"source": "chat"}}', 3, 4),
  ('session_context_s-1', 'session_context', NULL, 'alice', NULL, NULL, 's-1', NULL, NULL,
   '{{"summary": "x"}}', NULL, 5, 5),
  ('entity_global_company_acme', 'entity_memory', 'global', NULL, NULL, NULL, NULL, 'acme', 'company',
   '{{"facts": []}}', NULL, 6, 6),
  ('3f1b0a6e-8a53-4c39-9d6a-4bd0c6a8a001', 'decision_log', NULL, 'bob', NULL, NULL, NULL, NULL, NULL,
   '{{"decision": "ok"}}', NULL, 7, 8),
  ('3f1b0a6e-8a53-4c39-9d6a-4bd0c6a8a002', 'decision_log', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   '{{}}', NULL, 9, NULL)
"""


def create_database():
    with connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}" TEMPLATE template0 ENCODING \'UTF8\'')
    with connect() as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute(SETUP_SQL)


def drop_database():
    with connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


def seed():
    with connect() as conn:
        for table in TABLES:
            conn.execute(SEED_SQL.format(table=table))
        # Names a register_table example may have added.
        conn.execute("SELECT ai.learnings_unregister_table(t.name) FROM agno_learnings_internal.learnings_tables t"
                     " WHERE t.name <> ALL(%s)", (sorted(REGISTERED),))


# ---------------------------------------------------------------------------------------
# the state a refused call must leave untouched

SNAPSHOT_SQL = " UNION ALL ".join(
    [f"SELECT '{t}', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY learning_id COLLATE \"C\"), ''))"
     f" FROM {t} AS t" for t in TABLES]
    + ["SELECT 'registry', count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text COLLATE \"C\"), ''))"
       " FROM agno_learnings_internal.learnings_tables AS r",
       "SELECT 'counts', count(*), md5(coalesce(string_agg(c::text, '|' ORDER BY c::text COLLATE \"C\"), ''))"
       " FROM agno_learnings_internal.learnings_counts AS c"]
)

# Text columns of every row are text PostgreSQL can print: no embedded NUL byte (a text
# datum holding one reads back cut short at it, in every client and in pg_dump).
TEXT_COLUMNS = ("learning_id", "learning_type", "namespace", "user_id", "agent_id", "team_id",
                "workflow_id", "session_id", "entity_id", "entity_type")
BROKEN_TEXT_SQL = " UNION ALL ".join(
    f"SELECT '{t}', learning_id::cstring::text, c.name, octet_length(c.value) FROM {t} AS t,"
    f" LATERAL (VALUES {', '.join(f'({n!r}, {n}::text)' for n in TEXT_COLUMNS)}) AS c(name, value)"
    f" WHERE octet_length(c.value) <> octet_length(c.value::cstring::text)"
    for t in TABLES
)

# The counts the lists' totals come from agree with the rows (src/target.rs).
TOTALS_SQL = """
SELECT (ai.learnings_list(db_id => current_database(), "table" => %s) -> 'meta' ->> 'total_count')::bigint,
       (SELECT count(*) FROM {table})
"""


class Observer:
    """A superuser connection (autocommit) that watches the database between calls."""

    def __init__(self):
        self.conn = connect()

    def ensure(self):
        """A new connection when the last one was lost (a crash is reported by the test
        that saw it; the next tests start afresh)."""
        if self.conn.closed or self.conn.broken:
            self.conn = connect()

    def alive(self, what):
        try:
            assert self.conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.Error as error:
            raise AssertionError(f"the server stopped answering after {what}: {error!r}") from error

    def snapshot(self):
        return self.conn.execute(SNAPSHOT_SQL).fetchall()

    def broken_text(self):
        return self.conn.execute(BROKEN_TEXT_SQL).fetchall()

    def totals(self):
        rows = []
        for table, name in zip(TABLES, ("agno_learnings", "tenant_learnings")):
            listed, counted = self.conn.execute(TOTALS_SQL.format(table=table), (name,)).fetchone()
            rows.append((name, listed, counted))
        return rows

    def input_refuses(self, casts, code):
        """Whether PostgreSQL's input function of one of (value, type) refuses the value
        with SQLSTATE `code` by itself."""
        for value, type_name in casts:
            if value is None:
                continue
            try:
                self.conn.execute(f"SELECT %s::{type_name}", (value,))
            except psycopg.Error as error:
                if error.sqlstate == code:
                    return True
        return False

    def one(self, statement, params=None):
        row = self.conn.execute(statement, params).fetchone()
        return row[0] if row else None

    def close(self):
        self.conn.close()


def check_invariants(observer, what):
    """After an accepted call: every stored text is printable text, and the lists' totals
    are the row counts."""
    broken = observer.broken_text()
    assert not broken, f"text with an embedded NUL byte stored after {what}: {broken}"
    for name, listed, counted in observer.totals():
        assert listed == counted, f"{name}: learnings_list total_count {listed} != {counted} rows after {what}"


# A fixed HMAC secret, so that the same seed draws the same tokens in every run (the
# cluster and PostgREST are the test's own, on loopback).
SECRET = "agno-fuzz-not-a-secret-0123456789abcdef0123456789abcdef"

# ---------------------------------------------------------------------------------------
# PostgREST, started as tests/python/conftest.py starts it (scripts/lib.sh postgrest_start)


def pg_os_user_dir(prefix):
    """A directory the cluster's OS user can read and write (postgres when we are root)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


def _lib(command, *args, env=None):
    return subprocess.run(["bash", "-c", f"source {REPO}/scripts/lib.sh; {command}", *args],
                          capture_output=True, text=True, env=env)


class PostgREST:
    def __init__(self, base, secret, workdir):
        self.base = base
        self.secret = secret
        self.workdir = workdir

    @property
    def pid(self):
        try:
            return int((self.workdir / "postgrest.pid").read_text())
        except (OSError, ValueError):
            return None

    def running(self):
        pid = self.pid
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False

    def log_tail(self, lines=40):
        try:
            return "\n".join((self.workdir / "postgrest.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def postgrest():
    """sql/postgrest.sql applied to the fuzz database, an HS256 secret shared by PostgREST
    and the extension (agno_learnings.jwt_secret_file), PostgREST on a free port."""
    subprocess.run(
        [str(PG_BINDIR / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"schema={SCHEMA}",
         "-f", str(REPO / "sql" / "postgrest.sql"), conninfo()],
        check=True, capture_output=True, text=True,
    )
    run_sql(GRANTS_SQL)
    workdir = pg_os_user_dir("agno-fuzz-postgrest-")
    secret = SECRET
    key_file = workdir / "jwt_secret"
    key_file.write_text(secret)
    key_file.chmod(0o600)
    if os.geteuid() == 0:
        shutil.chown(key_file, "postgres", "postgres")
    run_sql(psycopg.sql.SQL("ALTER DATABASE {} SET agno_learnings.jwt_secret_file = {}").format(
        psycopg.sql.Identifier(DB), psycopg.sql.Literal(str(key_file))))
    started = None
    for _ in range(3):  # a free port may be taken before PostgREST binds it
        port = int(_lib("free_port").stdout)
        started = _lib('postgrest_start "$0" "$1" "$2" "$3"', str(workdir), str(port), DB, SCHEMA,
                       env=dict(os.environ))
        if started.returncode == 0:
            break
        _lib('postgrest_stop "$0"', str(workdir))
    if started.returncode != 0:
        pytest.fail(f"PostgREST did not start:\n{started.stderr}")
    try:
        yield PostgREST(f"http://127.0.0.1:{port}", secret, workdir)
    finally:
        _lib('postgrest_stop "$0"', str(workdir))
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# the server's log


def server_log():
    """(path, size) of the cluster's server log, read through the server (a superuser may
    pg_read_file any path): pg_current_logfile() with the logging collector, else
    postgres.log in the data directory (scripts/lib.sh starts clusters with
    `pg_ctl -l DIR/postgres.log`), else FUZZ_SERVER_LOG."""
    with connect("postgres") as conn:
        candidates = []
        current = conn.execute("SELECT pg_current_logfile()").fetchone()[0]
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]
        if current:
            candidates.append(current if current.startswith("/") else f"{data_dir}/{current}")
        if os.environ.get("FUZZ_SERVER_LOG"):
            candidates.insert(0, os.environ["FUZZ_SERVER_LOG"])
        candidates.append(f"{data_dir}/postgres.log")
        for path in candidates:
            size = conn.execute("SELECT (pg_stat_file(%s, true)).size", (path,)).fetchone()[0]
            if size is not None:
                return path, size
    return None, None


def read_server_log(path, offset):
    with connect("postgres") as conn:
        size = conn.execute("SELECT (pg_stat_file(%s, true)).size", (path,)).fetchone()[0] or 0
        if size <= offset:
            return ""
        data = conn.execute("SELECT pg_read_binary_file(%s, %s, %s)", (path, offset, size - offset)).fetchone()[0]
        return bytes(data).decode("utf-8", errors="replace")


def library_stamp():
    """(modification time, size) of the installed agno_learnings.so: a library replaced
    under running backends (a reinstall during the run) crashes them, whatever the input."""
    rows = run_sql("SELECT s.modification::text, s.size FROM pg_config AS c,"
                   " LATERAL pg_stat_file(c.setting || '/agno_learnings.so', true) AS s"
                   " WHERE c.name = 'PKGLIBDIR'", dbname="postgres")
    return tuple(rows[0]) if rows else None


CRASH_MARKERS = ("terminated by signal", "PANIC", "terminated by exception", "TRAP:")


def now():
    return int(time.time())


def dumps(value):
    """JSON text for a value that may hold lone surrogates (only as \\u escapes)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True)
