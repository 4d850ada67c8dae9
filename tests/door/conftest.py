"""Fixtures of the door suite (scripts/suites/55-door.sh starts the servers and exports
their addresses): the AgentOS door (nginx in front of PostgREST) and agno 3.1.10's own
AgentOS app, sharing one HS256 secret; raw HTTP clients; tokens as AgentOS issues them.
"""

import http.client
import json
import os
import pathlib
import sys
import urllib.parse

import psycopg
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from tokens import ADMIN_SCOPES, ALL_SCOPES, mint  # noqa: E402


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run through scripts/suites/55-door.sh")
    return value


class Raw:
    """One server, spoken to with http.client so that paths, query strings, headers and
    bodies go out exactly as written (no client-side normalisation)."""

    def __init__(self, base):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.conn = None

    def request(self, method, target, headers=None, body=None):
        """(status, headers as a dict of lower-case names, body bytes)."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
                for name, value in (headers or {}).items():
                    self.conn.putheader(name, value)
                if body is not None:
                    self.conn.putheader("Content-Length", str(len(body)))
                self.conn.endheaders(body)
                resp = self.conn.getresponse()
                data = resp.read()
                out = {k.lower(): v for k, v in resp.getheaders()}
                if resp.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, out, data
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, target, token=None, body=None, headers=None):
        """(status, parsed JSON or None) for a JSON request with an optional bearer token."""
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        status, _, raw = self.request(method, target, h, data)
        return status, (json.loads(raw) if raw else None)


class Tokens:
    def __init__(self, secret):
        self.secret = secret

    def make(self, sub="alice", scopes=ALL_SCOPES, exp_in=3600, secret=None, **claims):
        return mint(secret or self.secret, sub, scopes, exp_in, **claims)

    def admin(self):
        return self.make(sub="root", scopes=ADMIN_SCOPES)


@pytest.fixture(scope="session")
def door():
    return Raw(_env("DOOR_URL"))


@pytest.fixture(scope="session")
def agentos():
    return Raw(_env("AGENTOS_URL"))


@pytest.fixture(scope="session")
def postgrest_url():
    return _env("DOOR_POSTGREST_URL")


@pytest.fixture(scope="session")
def tokens():
    with open(_env("DOOR_SECRET_FILE")) as f:
        return Tokens(f.read())


def connect(dbname):
    return psycopg.connect(
        host=os.environ["PGHOST"], port=os.environ["PGPORT"],
        user=os.environ.get("PGUSER", "postgres"), dbname=dbname, autocommit=True,
    )


@pytest.fixture(scope="session")
def door_db():
    return _env("DOOR_DB")


@pytest.fixture(scope="session")
def peer_db():
    return _env("DOOR_PEER_DB")
