"""Helpers of the Citus suite (tests/citus): the coordinator (PGHOST/PGPORT) and the
workers (AGNO_CITUS_WORKERS, ports on 127.0.0.1) that scripts/suites/65-citus.sh starts,
and decisions signed as the extension signs them (src/cluster.rs)."""

import os
import pathlib
import subprocess
import sys
import time

import jwt
import psycopg
import psycopg.sql

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from tokens import ALL_SCOPES, mint  # noqa: E402
WORKERS = [int(p) for p in os.environ.get("AGNO_CITUS_WORKERS", "").split()]
KEY_FILE = os.environ.get("AGNO_CITUS_KEY_FILE", "")
JWT_SECRET = "citus-suite-jwt-secret-0123456789abcdef0123456789"
SCOPES = list(ALL_SCOPES)


def conninfo(dbname, user="postgres", port=None):
    """The coordinator (port None) or a node by port, over TCP as Citus itself connects."""
    return psycopg.conninfo.make_conninfo(host="127.0.0.1", port=port or os.environ["PGPORT"],
                                          user=user, dbname=dbname)


def connect(dbname, user="postgres", port=None, autocommit=True, **kw):
    return psycopg.connect(conninfo(dbname, user, port), autocommit=autocommit, **kw)


def run_sql(dbname, sql, params=None, user="postgres", port=None):
    with connect(dbname, user, port) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else None


def one(dbname, sql, params=None, **kw):
    rows = run_sql(dbname, sql, params, **kw)
    return rows[0][0] if rows else None


def citus_database(name, version=None, distribute=True):
    """Database `name` on every node with citus, the extension (`version`) on the
    coordinator (Citus propagates it), the JWT secret set, and a client role `app`."""
    subprocess.run(["bash", "-c", f'source {REPO}/scripts/lib.sh; citus_database "$0"', name],
                   check=True, capture_output=True, text=True)
    run_sql(name, "CREATE SCHEMA ai")
    create = "CREATE EXTENSION agno_learnings SCHEMA ai"
    if version:
        create += psycopg.sql.SQL(" VERSION {}").format(psycopg.sql.Literal(version)).as_string(None)
    run_sql(name, create)
    secret = pathlib.Path(KEY_FILE).parent / "jwt_secret"
    if not secret.exists():
        secret.write_text(JWT_SECRET)
        secret.chmod(0o600)
        if os.geteuid() == 0:
            import shutil
            shutil.chown(secret, "postgres", "postgres")
    run_sql(name, psycopg.sql.SQL("ALTER DATABASE {} SET agno_learnings.jwt_secret_file = {}").format(
        psycopg.sql.Identifier(name), psycopg.sql.Literal(str(secret))))
    # Roles are cluster-wide and Citus propagates them; a role may exist from another test.
    if one(name, "SELECT count(*) FROM pg_roles WHERE rolname = 'app'") == 0:
        run_sql(name, "CREATE ROLE app LOGIN")
    run_sql(name, "GRANT USAGE ON SCHEMA ai TO app")
    if distribute:
        run_sql(name, "SELECT ai.learnings_distribute()")
    run_sql(name, "GRANT SELECT, INSERT, UPDATE, DELETE ON ai.agno_learnings TO app")
    return name


def token(sub="alice", scopes=SCOPES, exp_in=3600, **claims):
    return mint(JWT_SECRET, sub, scopes, exp_in, **claims)


def decision(role="app", db="agno_citus", sub="alice", reach=("own", "own", "own"), exp_in=300, key=None):
    """A forwarded caller as the extension writes it, signed with the cluster key (or `key`)."""
    read, write, delete = reach
    claims = {"role": role, "db": db, "exp": int(time.time()) + exp_in,
              "read": read, "write": write, "delete": delete}
    if sub is not None:
        claims["sub"] = sub
    signing = key if key is not None else pathlib.Path(KEY_FILE).read_bytes().rstrip(b"\n")
    return jwt.encode(claims, signing, algorithm="HS256")


def sqlstate(error):
    return getattr(error, "sqlstate", None)
