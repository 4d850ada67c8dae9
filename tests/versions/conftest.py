"""Fixtures of tests/versions: the helpers and fixtures of tests/agno/agnotest.py, and
versiontest.py's private clusters of other PostgreSQL versions."""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "agno"))
sys.path.insert(0, str(HERE))

from agnotest import cluster, databases, runtime_role  # noqa: E402,F401
