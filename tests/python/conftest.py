"""Fixtures of the HTTP suite (test_http.py): a running PostgreSQL cluster (PGHOST,
PGPORT, PGUSER, as scripts/test.sh provides), fresh databases with the extension, and
PostgREST. The agno client, lifecycle and standby suites live in tests/agno and
tests/replica.
"""

import contextlib
import os
import pathlib
import secrets
import shutil
import subprocess
import sys
import tempfile

import psycopg
import psycopg.sql
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from tokens import ADMIN_SCOPES, ALL_SCOPES, mint  # noqa: E402
PG_BINDIR = pathlib.Path(os.environ.get("AGNO_PG_BINDIR", "/usr/lib/postgresql/15/bin"))


def conninfo(dbname="postgres", user=None):
    return psycopg.conninfo.make_conninfo(
        host=os.environ["PGHOST"],
        port=os.environ["PGPORT"],
        user=user or os.environ.get("PGUSER", "postgres"),
        dbname=dbname,
    )


def connect(dbname="postgres", user=None, autocommit=True):
    return psycopg.connect(conninfo(dbname, user), autocommit=autocommit)


def run_sql(dbname, sql, params=None, user=None):
    with connect(dbname, user) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else None


# Set by scripts/suites/65-citus.sh: the workers' ports. Then every database is made on
# the coordinator and the workers, and its learnings table distributed.
CITUS_WORKERS = os.environ.get("AGNO_CITUS_WORKERS", "").split()


def create_database(name, *, schema="ai"):
    """A fresh database with the extension installed in `schema` (distributed on Citus)."""
    if CITUS_WORKERS:
        subprocess.run(["bash", "-c", f'source {REPO}/scripts/lib.sh; citus_database "$0"', name],
                       check=True, capture_output=True, text=True)
    else:
        with connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    run_sql(name, f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    run_sql(name, f'CREATE EXTENSION agno_learnings SCHEMA "{schema}"')
    if CITUS_WORKERS:
        run_sql(name, f'SELECT "{schema}".learnings_distribute()')
    return name


def drop_database(name):
    with connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_os_user_dir(prefix):
    """A directory the cluster's OS user can read and write (postgres when we are root)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


@pytest.fixture(scope="session")
def cluster():
    for var in ("PGHOST", "PGPORT"):
        if var not in os.environ:
            pytest.fail(f"{var} is not set: run through scripts/test.sh (or export a cluster's)")
    return conninfo()


class Api:
    """PostgREST serving the API of one database, with tokens signed by its secret."""

    def __init__(self, base, secret, db):
        self.base = base
        self.secret = secret
        self.db = db

    def token(self, sub="alice", scopes=ALL_SCOPES, exp_in=3600, secret=None, **claims):
        return mint(secret or self.secret, sub, scopes, exp_in, **claims)

    def admin(self):
        return self.token(sub="root", scopes=ADMIN_SCOPES)


@contextlib.contextmanager
def postgrest(db, key, settings=None, env=None):
    """PostgREST on a free port for database `db` (sql/postgrest.sql applied first), its
    jwt-secret file holding `key` (an HMAC secret, or a JWK/JWKS as JSON). `settings` are
    set on the database; by default agno_learnings.jwt_secret_file names the same file, as
    an operator shares an HMAC secret. `env` adds PGRST_* variables. Yields the base URL."""
    subprocess.run(
        [str(PG_BINDIR / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "schema=ai",
         "-f", str(REPO / "sql" / "postgrest.sql"), conninfo(db)],
        check=True, capture_output=True, text=True,
    )
    workdir = pg_os_user_dir("agno-postgrest-")
    key_file = workdir / "jwt_secret"
    key_file.write_text(key)  # no trailing newline (PostgREST and the extension drop one)
    key_file.chmod(0o600)
    if os.geteuid() == 0:
        shutil.chown(key_file, "postgres", "postgres")
    if settings is None:
        settings = {"agno_learnings.jwt_secret_file": str(key_file)}
    for name, value in settings.items():
        run_sql(db, psycopg.sql.SQL("ALTER DATABASE {} SET {} = {}").format(
            psycopg.sql.Identifier(db), psycopg.sql.SQL(name), psycopg.sql.Literal(value)))
    port = int(subprocess.run(["bash", "-c", f"source {REPO}/scripts/lib.sh; free_port"],
                              check=True, capture_output=True, text=True).stdout)
    start = subprocess.run(
        ["bash", "-c", f'source {REPO}/scripts/lib.sh; postgrest_start "$0" "$1" "$2" ai',
         str(workdir), str(port), db],
        capture_output=True, text=True, env={**os.environ, **(env or {})},
    )
    if start.returncode != 0:
        pytest.fail(f"PostgREST did not start:\n{start.stderr}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run(["bash", "-c", f'source {REPO}/scripts/lib.sh; postgrest_stop "$0"', str(workdir)])
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def api(cluster):
    """A database `agno_http` with the extension, sql/postgrest.sql applied, and PostgREST
    on a free port, sharing one HS256 secret with the extension."""
    db = create_database("agno_http")
    secret = secrets.token_urlsafe(48)
    with postgrest(db, secret) as base:
        yield Api(base, secret, db)
    drop_database(db)
