"""Fixtures of tests/agno: see agnotest.py (shared with tests/replica)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from agnotest import cluster, databases, ext_db, other_role, runtime_role  # noqa: E402,F401
