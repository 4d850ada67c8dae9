"""Fixtures of the documentation suite (tests/docs, scripts/suites/85-docs.sh): fresh
databases for the SQL examples, and for the curl examples a database as
`bash scripts/run.sh` leaves it, served by a real PostgREST and the AgentOS door (nginx),
with tokens as run.sh prints them.

Built from the other suites' helpers: databases, roles and agno's own table from
tests/agno/agnotest.py, PostgREST from tests/python/conftest.py (`postgrest`), the door
from scripts/lib.sh (`door_start`), tokens from tests/tokens.py.
"""

import dataclasses
import importlib.util
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "agno"))

import agnotest  # noqa: E402
from agnotest import cluster  # noqa: E402,F401  (the fixture: PGHOST/PGPORT must be set)
from tokens import ADMIN_SCOPES, ALL_SCOPES, mint  # noqa: E402


def _load(name, path):
    """A module of another suite's directory under a name of its own (each suite's
    fixtures live in a file named conftest.py)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


http_suite = _load("agno_http_suite_conftest", REPO / "tests" / "python" / "conftest.py")

# The database every SQL example runs in, as the docs name it (`ALTER DATABASE agno ...`).
DB = "agno"
# The database behind PostgREST and the door for the curl examples.
HTTP_DB = "agno_docs_http"


def lib(function, *args):
    """Runs a function of scripts/lib.sh; returns its stdout."""
    done = subprocess.run(["bash", "-c", f'source "{REPO}/scripts/lib.sh"; {function} "$@"', "lib", *args],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"scripts/lib.sh {function} {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def run_sh_demo():
    """The SQL `bash scripts/run.sh` runs to set up database agno: the schema, the extension
    and its demo learnings (read from run.sh itself, so the examples follow it)."""
    text = (REPO / "scripts" / "run.sh").read_text()
    m = re.search(r"""psql_q -d "\$DB" <<'SQL'\n(.*?)\nSQL\n""", text, re.S)
    if not m:
        pytest.fail("scripts/run.sh: no `psql_q -d \"$DB\" <<'SQL'` block with the demo learnings")
    return m.group(1)


def load_demo(dbname):
    with agnotest.connect(dbname) as conn:
        conn.execute(run_sh_demo())


@pytest.fixture
def sql_database(cluster):  # noqa: F811
    """A factory: database `agno`, fresh, set up as a block asks (`db=`); dropped after."""
    made = []

    def make(setup="extension"):
        if setup == "agno-table":
            role = agnotest.ensure_role(agnotest.RUNTIME_ROLE)

            def databases(prefix, owner=None):
                made.append(agnotest.create_database(DB, owner=owner))
                return DB

            agnotest.make_deployment(databases, "agno", table_owner=role, db_owner=role, rows=agnotest.AGNO_ROWS)
        else:
            made.append(agnotest.create_database(DB))
            if setup == "demo":
                load_demo(DB)
            else:
                agnotest.install_extension(DB)
        return DB

    yield make
    for name in made:
        agnotest.drop_database(name)


@dataclasses.dataclass
class Http:
    api: str        # PostgREST
    agentos: str    # the door
    secret: str
    db: str

    def env(self):
        """The variables run.sh prints: API, AGENTOS and the two demo tokens."""
        return {
            "API": self.api,
            "AGENTOS": self.agentos,
            "ALICE": mint(self.secret, "alice", ALL_SCOPES, 86400),
            "ADMIN": mint(self.secret, "admin", ADMIN_SCOPES, 86400),
        }

    def reset(self):
        """The learnings as run.sh leaves them."""
        with agnotest.connect(self.db) as conn:
            conn.execute("TRUNCATE ai.agno_learnings")
        load_demo(self.db)


@pytest.fixture(scope="session")
def http(cluster):  # noqa: F811
    """PostgREST and the AgentOS door over database agno_docs_http, set up as run.sh does
    (the extension, sql/postgrest.sql, an HS256 secret the extension shares)."""
    db = agnotest.create_database(HTTP_DB)
    load_demo(db)
    secret = secrets.token_urlsafe(48)
    with http_suite.postgrest(db, secret) as api:
        api_port = int(api.rsplit(":", 1)[1])
        port = api_port
        while port in (api_port, api_port + 1):
            port = int(lib("free_port"))
        door_dir = pathlib.Path(tempfile.mkdtemp(prefix="agno-docs-door-", dir="/tmp"))
        lib("door_start", str(door_dir), str(port), f"127.0.0.1:{api_port}")
        try:
            yield Http(api, f"http://127.0.0.1:{port}", secret, db)
        finally:
            lib("door_stop", str(door_dir))
            shutil.rmtree(door_dir, ignore_errors=True)
    agnotest.drop_database(db)


def pytest_report_header(config):
    return f"docs examples: database {DB} (SQL), {HTTP_DB} (HTTP) on {os.environ.get('PGHOST')}:{os.environ.get('PGPORT')}"
