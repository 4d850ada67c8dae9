"""Fixtures of tests/replica: the helpers and fixtures of tests/agno/agnotest.py."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "agno"))

from agnotest import cluster, databases, ext_db, other_role, runtime_role  # noqa: E402,F401
