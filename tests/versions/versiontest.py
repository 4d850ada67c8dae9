"""Helpers of tests/versions: private clusters of several PostgreSQL installations.

scripts/suites/75-versions.sh provides the installations (exported to pytest):
  AGNO_PG15_CONFIG     Debian's PostgreSQL 15 (its running test cluster is PGHOST/PGPORT)
  AGNO_PG16_CONFIG     PostgreSQL 16.14 with pgvector, the extension installed (scripts/lib.sh)
  AGNO_PG18_CONFIG     PostgreSQL 18.4 with pgvector, the extension installed (scripts/lib.sh)
  AGNO_PACKAGE_PG16    the extension's binary package for 16 (target/package/pg16)
  AGNO_PGSERVER_DIR    PyPI's pgserver 0.1.4 as pip installed it (PostgreSQL 16.2 with
                       pgvector), never installed into: tests copy it and install there

Everything else comes from tests/agno/agnotest.py. Its helpers (run_sql, one, api,
fingerprint, policies, agno_db, ...) connect to the cluster in PGHOST/PGPORT, read at
each call; `Server.targeted()` points them at a private cluster for a block.
"""

import contextlib
import hashlib
import json
import os
import pathlib
import socket
import subprocess

import psycopg

from agnotest import as_pg_user, clean_env, connect, conninfo, pg_user_dir, remove_dir, run_sql

# The generic form of agnotest's FINGERPRINT, for agno's other tables (no learning_id).
TABLE_FINGERPRINT = ("SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\"), ''))"
                     " FROM {table} AS t")


def env_path(name):
    value = os.environ.get(name)
    assert value, f"{name} is not set: run through scripts/suites/75-versions.sh"
    path = pathlib.Path(value)
    assert path.exists(), f"{name}={value} does not exist"
    return path


def pg_config(config, flag):
    return subprocess.run([str(config), flag], capture_output=True, text=True, check=True).stdout.strip()


def bindir_of(config):
    return pathlib.Path(pg_config(config, "--bindir"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, **kw):
    """A program as root (or us), without Rust backtrace variables in its environment."""
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=clean_env(), timeout=600, **kw)


def as_pg_user_in(cwd, args, timeout=600):
    """as_pg_user with a working directory (pg_upgrade writes its files there)."""
    return as_pg_user(["sh", "-c", 'cd "$0" && exec "$@"', str(cwd), *[str(a) for a in args]], check=False,
                      timeout=timeout)


def md5_of(path):
    return hashlib.md5(pathlib.Path(path).read_bytes()).hexdigest()


class Server:
    """A private cluster of one PostgreSQL installation, in ROOT/NAME (ROOT owned by the
    clusters' OS user), its socket in ROOT, no TCP."""

    def __init__(self, bindir, root, name="data"):
        self.bindir = pathlib.Path(bindir)
        self.root = pathlib.Path(root)
        self.data = self.root / name
        self.logfile = self.root / f"{name}.log"
        self.port = free_port()
        self.started = False

    def tool(self, name):
        return str(self.bindir / name)

    def initdb(self, *options):
        done = as_pg_user([self.tool("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                           "-E", "UTF8", "--no-locale", "--no-sync", *options], check=False)
        assert done.returncode == 0, f"initdb ({self.bindir}) failed:\n{done.stdout}\n{done.stderr}"
        return self

    def start(self):
        self.started = True  # stop it even when pg_ctl gave up waiting
        done = as_pg_user([self.tool("pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60",
                           "-o", f"-p {self.port} -c listen_addresses='' -c unix_socket_directories={self.root} "
                                 "-c fsync=off", "start"], check=False)
        assert done.returncode == 0, f"PostgreSQL ({self.bindir}) did not start:\n{done.stderr}\n{self.log()}"
        return self

    def stop(self):
        if self.started:
            done = as_pg_user([self.tool("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"],
                              check=False)
            assert done.returncode == 0, f"PostgreSQL ({self.bindir}) did not stop:\n{done.stderr}"
            self.started = False

    def log(self, lines=30):
        return as_pg_user(["tail", "-n", str(lines), str(self.logfile)], check=False).stdout

    def conninfo(self, dbname="postgres", user="postgres"):
        return conninfo(dbname, user, host=str(self.root), port=str(self.port))

    def connect(self, dbname="postgres", user="postgres", autocommit=True):
        return psycopg.connect(self.conninfo(dbname, user), autocommit=autocommit)

    def one(self, statement, params=None, dbname="postgres"):
        with self.connect(dbname) as conn:
            row = conn.execute(statement, params).fetchone()
            return row[0] if row else None

    def client_args(self, user="postgres"):
        return ["-h", str(self.root), "-p", str(self.port), "-U", user]

    @contextlib.contextmanager
    def targeted(self):
        """agnotest's helpers talk to this server inside the block."""
        saved = {k: os.environ.get(k) for k in ("PGHOST", "PGPORT")}
        os.environ["PGHOST"], os.environ["PGPORT"] = str(self.root), str(self.port)
        try:
            yield self
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@contextlib.contextmanager
def servers(prefix):
    """A factory of Servers in one new directory; every one is stopped, and the
    directory removed, when the block ends."""
    made = []
    root = pg_user_dir(prefix)

    def make(bindir, name="data"):
        server = Server(bindir, root, name)
        made.append(server)
        return server

    make.root = root
    try:
        yield make
    finally:
        for server in made:
            try:
                server.stop()
            except AssertionError as e:  # the test's own failure matters more
                print(e)
        remove_dir(root)


# ---------------------------------------------------------------------------------------
# what a deployment holds, as comparable values

def table_fingerprint(dbname, table):
    return tuple(run_sql(dbname, TABLE_FINGERPRINT.format(table=table))[0])


def policy_rows(dbname, tables):
    return run_sql(dbname, """
        SELECT polrelid::regclass::text, polname, polcmd::text, polpermissive, polroles::regrole[]::text,
               pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)
          FROM pg_policy WHERE polrelid = ANY(%s::regclass[]) ORDER BY 1, 2""", (list(tables),))


def trigger_rows(dbname, tables):
    return run_sql(dbname, """
        SELECT tgrelid::regclass::text, tgname, tgenabled::text, pg_get_triggerdef(oid)
          FROM pg_trigger WHERE tgrelid = ANY(%s::regclass[]) AND NOT tgisinternal ORDER BY 1, 2""",
                   (list(tables),))


def event_trigger_rows(dbname):
    return run_sql(dbname, "SELECT evtname, evtevent, evtenabled::text, evtfoid::regproc::text, evttags::text "
                           "FROM pg_event_trigger ORDER BY 1")


def kept_totals(dbname):
    """The extension's kept list totals (agno_learnings_internal.learnings_counts, see
    sql/bootstrap.sql), summed per table, bucket and type, and the tables they are
    complete for (learnings_counted)."""
    counts = run_sql(dbname, """
        SELECT relid::regclass::text, bucket, learning_type, sum(n)::bigint
          FROM agno_learnings_internal.learnings_counts
         GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3""")
    counted = [r[0] for r in run_sql(dbname, "SELECT relid::regclass::text FROM agno_learnings_internal.learnings_counted "
                                             "ORDER BY 1")]
    return counts, counted


def counted_totals(dbname, table):
    """What learnings_counts must hold for `table`, counted from its rows: per learning
    type, 'a' all rows, 's' rows with no owner, 'u' || user_id a user's rows."""
    return run_sql(dbname, f"""
        SELECT %s::regclass::text, b.bucket, t.learning_type::text, count(*)::bigint
          FROM {table} AS t
         CROSS JOIN LATERAL (VALUES (CASE WHEN t.user_id IS NULL THEN 's' ELSE 'u' || t.user_id END), ('a'))
               AS b(bucket)
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""", (table,))


def totals_are_exact(dbname, tables):
    """Kept totals equal the counted rows for every table, and every table is counted."""
    counts, counted = kept_totals(dbname)
    expected = sorted(row for table in tables for row in counted_totals(dbname, table))
    ours = sorted(tuple(r) for r in counts if r[0] in tables)
    return ours == [tuple(r) for r in expected] and set(tables) <= set(counted), (ours, expected, counted)


def scoped_list(dbname, user, scopes="learnings:read", **args):
    """ai.learnings_list as a caller with PostgREST's claims {sub, scopes} (this superuser
    session stands in for PostgREST's authenticator, as tests/agno/test_totals.py does)."""
    names = ", ".join(f'"{k}" => %({k})s' for k in args)
    with connect(dbname, autocommit=False) as conn:
        conn.execute("SELECT set_config('agno_learnings.claims_login_roles', session_user, true)")
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                     (json.dumps({"sub": user, "scopes": scopes}),))
        value = conn.execute(f"SELECT ai.learnings_list({names})", args).fetchone()[0]
        conn.rollback()
    return value


def fresh_pgserver_copy(target):
    """PyPI pgserver 0.1.4 (PostgreSQL 16.2 + pgvector) as pip laid it out, copied to
    TARGET: a PostgreSQL 16 that never saw our build. Its pg_config (and server) find
    their directories relative to themselves, so the copy is an installation of its own."""
    source = env_path("AGNO_PGSERVER_DIR")
    target = pathlib.Path(target)
    done = run(["cp", "-a", f"{source}/.", str(target)])
    assert done.returncode == 0, done.stderr
    target.chmod(0o755)
    return target / "pgserver" / "pginstall" / "bin" / "pg_config"


__all__ = [n for n in dir() if not n.startswith("_")]
