"""Runs the examples marked runnable in README.md and docs/*.md (docblocks.py says how they
are marked and how their shown output is checked): SQL blocks statement by statement as a
superuser on a fresh database, console blocks' curl lines against PostgREST and the
AgentOS door on run.sh's demo learnings."""

import json
import os
import re
import shlex
import subprocess
import time

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import agnotest
import docblocks

SQL_BLOCKS = docblocks.runnable("sql")
CONSOLE_BLOCKS = docblocks.runnable("console")


def test_markers():
    """Every marker is one this suite knows, and there is something to run of each kind."""
    problems = [f"{b.name}: {p}" for b in docblocks.all_blocks() for p in b.problems]
    assert not problems, "\n".join(problems)
    assert SQL_BLOCKS and CONSOLE_BLOCKS


# ---------------------------------------------------------------------------------------
# SQL

PEM = re.compile(r"-----BEGIN PUBLIC KEY-----\n(?:\.\.\.|…)\n-----END PUBLIC KEY-----")
TOKEN = re.compile(r"'eyJ[A-Za-z0-9_.-]*?(?:\.\.\.|…)'")


def with_key_and_token(text, sub, scopes):
    """The block with its elided public key and token made real: a fresh RSA key, and an
    RS256 token of it for `sub` with `scopes`, as AgentOS's claims read (sub, scopes, exp)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode().strip()
    token = jwt.encode({"sub": sub, "scopes": scopes, "exp": int(time.time()) + 3600}, key, algorithm="RS256")
    text, keys = PEM.subn(lambda _: pem, text)
    text, tokens = TOKEN.subn(lambda _: f"'{token}'", text)
    assert keys and tokens, "token= marks a block without an elided public key and token"
    return text


def value_of(cur):
    """A statement's result: its one value, or its rows as dicts; None without rows."""
    if cur.description is None:
        return None
    rows = cur.fetchall()
    if len(rows) == 1 and len(rows[0]) == 1:
        value = rows[0][0]
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                return json.loads(value)
            except ValueError:
                pass
        return value
    names = [d.name for d in cur.description]
    return [dict(zip(names, row)) for row in rows]


def check_shown(where, statement, value):
    shown = statement.shown
    kind = docblocks.kind_of(shown)
    text = " ".join(shown)
    if kind == "json":
        wrong = docblocks.json_mismatches(text, value)
        assert not wrong, f"{where}: the output shown is not what it answers:\n  " + "\n  ".join(wrong) \
            + f"\nshown:  {text}\nanswer: {json.dumps(value, default=str)[:2000]}"
    elif kind == "word":
        assert str(value) == text, f"{where}: shown {text!r}, answered {value!r}"
    elif kind == "error":
        raise AssertionError(f"{where}: shows an error, but it succeeded (answer {value!r})")


def run_sql_block(block, database):
    body = block.body
    if "token" in block.options:
        scopes = [s for s in block.options.get("scopes", "").split(",") if s]
        text = with_key_and_token("\n".join(line for _, line in body), block.options["token"], scopes)
        body = list(zip([n for n, _ in body], text.split("\n")))
    statements = docblocks.statements(body)
    assert statements, f"{block.name}: no statements"
    fails = block.options.get("fails")
    dbname = database(block.options.get("db", "extension"))
    conn = agnotest.connect(dbname)
    try:
        for i, st in enumerate(statements):
            where = f"{block.path.name}:{st.line}"
            assert not st.unterminated, f"{where}: a statement without `;` (psql would wait for one)"
            if st.meta:
                words = st.text.split()
                assert words[0] in ("\\c", "\\connect") and len(words) <= 2, \
                    f"{where}: only \\c [DB] is supported, not {st.text!r}"
                conn.close()
                conn = agnotest.connect(words[1] if len(words) == 2 else dbname)
                continue
            last = i == len(statements) - 1
            try:
                cur = conn.execute(st.text)
            except psycopg.Error as error:
                if fails and last:
                    assert error.sqlstate == fails, \
                        f"{where}: failed with {error.sqlstate} (not {fails}): {agnotest.error_text(error)}"
                    if docblocks.kind_of(st.shown) == "error":
                        shown = " ".join(st.shown)[len("ERROR:"):].strip()
                        assert error.diag.message_primary == shown, \
                            f"{where}: shown ERROR: {shown!r}\n  raised ERROR: {error.diag.message_primary!r}"
                    return
                raise AssertionError(f"{where}: {st.text}\n  failed: {error.sqlstate} {agnotest.error_text(error)}")
            if fails and last:
                raise AssertionError(f"{where}: marked fails={fails}, but its last statement succeeded")
            check_shown(where, st, value_of(cur))
    finally:
        conn.close()


@pytest.mark.parametrize("block", SQL_BLOCKS, ids=[b.name for b in SQL_BLOCKS])
def test_sql(block, sql_database):
    run_sql_block(block, sql_database)


# ---------------------------------------------------------------------------------------
# console transcripts: curl against PostgREST and the door

def wants_headers(command):
    return any(re.fullmatch(r"-[A-Za-z]*i[A-Za-z]*", w) or w == "--include" for w in shlex.split(command))


def split_response(raw):
    """(status line, body) of curl -i's output."""
    head, sep, body = raw.partition("\r\n\r\n")
    if not sep:
        head, _, body = raw.partition("\n\n")
    return head.splitlines()[0].strip(), body


@pytest.mark.parametrize("block", CONSOLE_BLOCKS, ids=[b.name for b in CONSOLE_BLOCKS])
def test_console(block, http):
    http.reset()
    env = {**os.environ, **http.env()}
    for cmd in docblocks.commands(block.body):
        where = f"{block.path.name}:{cmd.line}"
        done = subprocess.run(["bash", "-c", cmd.text], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{where}: exit status {done.returncode}: {done.stderr}"
        shown = list(cmd.shown)
        if wants_headers(cmd.text):
            status, body = split_response(done.stdout)
            if shown and shown[0].startswith("HTTP/"):
                assert status == shown[0].strip(), f"{where}: shown {shown[0]!r}, answered {status!r}\n{body}"
                shown = shown[1:]
        else:
            assert not (shown and shown[0].startswith("HTTP/")), \
                f"{where}: shows a status line, but the command does not ask for headers (-i)"
            status, body = None, done.stdout
        body = body.strip()
        text = " ".join(line.strip() for line in shown)
        if not shown:
            if status is not None and " 204 " in f"{status} ":
                assert body == "", f"{where}: a 204 with a body: {body!r}"
            continue
        if docblocks.kind_of(shown) == "json":
            try:
                value = json.loads(body)
            except ValueError:
                raise AssertionError(f"{where}: shows JSON, answered {body[:500]!r}") from None
            wrong = docblocks.json_mismatches(text, value)
            assert not wrong, f"{where}: the output shown is not what it answers:\n  " + "\n  ".join(wrong) \
                + f"\nshown:  {text}\nanswer: {body[:2000]}"
        else:
            assert body == text, f"{where}: shown {text!r}, answered {body!r}"
