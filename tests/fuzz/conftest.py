"""Fixtures of the fuzz suite (tests/fuzz): one database `agno_fuzz` with the extension,
a second registered table, PostgREST in front of it, and Hypothesis's settings.

Runs against the cluster in PGHOST/PGPORT/PGUSER (a superuser), as
scripts/suites/80-fuzz.sh provides. FUZZ_EXAMPLES sets the examples per test (default
50); runs are derandomized (a fixed seed per test) and keep no example database, so the
same code gives the same examples every time.
"""

import os
import pathlib
import sys

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import fuzzsupport  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))

settings.register_profile(
    "agno-fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.large_base_example],
)
settings.load_profile("agno-fuzz")


class Env:
    def __init__(self, api, log_path, log_offset, library):
        self.api = api
        self.log_path = log_path
        self.log_offset = log_offset
        self.library = library
        self.observer = fuzzsupport.Observer()


@pytest.fixture(scope="session")
def env():
    log_path, log_offset = fuzzsupport.server_log()
    library = fuzzsupport.library_stamp()
    fuzzsupport.create_database()
    with fuzzsupport.postgrest() as api:
        environment = Env(api, log_path, log_offset, library)
        yield environment
        environment.observer.close()
    fuzzsupport.drop_database()


@pytest.fixture
def fresh(env):
    """The seeded rows, for each test (not each example: examples build on each other)."""
    env.observer.ensure()
    fuzzsupport.seed()
    return env


def pytest_terminal_summary(terminalreporter):
    """The PostgREST defects the HTTP tests met (tolerated unless FUZZ_STRICT_POSTGREST=1)."""
    if fuzzsupport.DEFECTS_SEEN:
        terminalreporter.section("PostgREST 12.0.2 defects met (requests that never reached the database)")
        for name, example in fuzzsupport.DEFECTS_SEEN.items():
            terminalreporter.write_line(f"{name}: {fuzzsupport.POSTGREST_DEFECTS[name]}")
            terminalreporter.write_line(f"    e.g. {example[:300]}")
