"""The runnable examples of README.md and docs/*.md, and how their shown output is read.

A fenced block is runnable when its info string holds the word `run` after the language:

    ```sql run                  SQL, statement by statement, as a superuser, on a fresh
                                database `agno` with the extension in schema `ai`
    ```sql run db=demo          ... on `agno` as `bash scripts/run.sh` leaves it (its demo
                                learnings)
    ```sql run db=agno-table    ... on `agno` holding a table agno 3.1.10 made, no extension
    ```sql run fails=23505      the block's last statement must fail with that SQLSTATE
                                (every statement before it must succeed)
    ```sql run token=alice scopes=learnings:read
                                an elided PEM public key (`-----BEGIN PUBLIC KEY-----`,
                                `...`, `-----END PUBLIC KEY-----`) becomes a fresh RSA key's,
                                an elided token (`'eyJ...'`) an RS256 token of that key for
                                `sub` alice with those scopes
    ```console run              a shell transcript: each `$ ` line (with `\\` continuations)
                                runs in bash with API (PostgREST), AGENTOS (the door),
                                ALICE and ADMIN (tokens) set as run.sh prints them, on the
                                demo learnings run.sh writes

GitHub renders the first word of an info string only, so the marker is invisible to
readers. A psql meta-command line `\\c [DB]` (reconnect) may appear in a SQL block.

Output shown after a statement (comment lines right below it, `-- ...`) or after a
command (the lines below it, up to a blank line) is checked as far as it can be:
  - `HTTP/1.1 404 Not Found`: the status line, exactly (the command must use -i);
  - JSON (`{...}` or `[...]`, possibly elided with `...`): every key shown must be in the
    answer, at any depth, with the value shown when that is a string (not elided), null,
    a boolean or a small number; an epoch timestamp (>= 10^9) or a float only has to be a
    number there;
  - `-- ERROR:  message`: the failing statement's message, exactly;
  - a single word (`-- memories_bob`, `-- 1`): the statement's one value, exactly;
  - anything else (a sentence) is commentary and not checked.
"""

import json
import pathlib
import re
from dataclasses import dataclass, field

REPO = pathlib.Path(__file__).resolve().parents[2]

LANGUAGES = {"sql", "console"}
OPTIONS = {
    "sql": {"db": {"extension", "demo", "agno-table"}, "fails": None, "token": None, "scopes": None},
    "console": {},
}


def doc_files(repo=REPO):
    return [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]


@dataclass
class Block:
    path: pathlib.Path
    line: int              # the line of the opening fence (1-based)
    lang: str
    run: bool
    options: dict
    body: list             # [(line number, text)]
    problems: list = field(default_factory=list)

    @property
    def name(self):
        return f"{self.path.relative_to(REPO)}:{self.line}"


FENCE = re.compile(r"^(```+)\s*(.*)$")


def blocks(path):
    """Every fenced block of a Markdown file (fences at the start of a line)."""
    out = []
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group(1), m.group(2).split()
        start = i
        body = []
        i += 1
        while i < len(lines) and lines[i].rstrip() != fence:
            body.append((i + 1, lines[i]))
            i += 1
        lang = info[0] if info else ""
        words = info[1:]
        block = Block(path, start + 1, lang, "run" in words, {}, body)
        if i >= len(lines):
            block.problems.append("the block is not closed")
        for word in words:
            if word == "run":
                continue
            key, eq, value = word.partition("=")
            known = OPTIONS.get(lang, {})
            if not eq or key not in known:
                block.problems.append(f"unknown marker word {word!r}")
            elif known[key] is not None and value not in known[key]:
                block.problems.append(f"{key}={value}: not one of {sorted(known[key])}")
            else:
                block.options[key] = value
        if block.options and not block.run:
            block.problems.append("options without `run`")
        if block.run and lang not in LANGUAGES:
            block.problems.append(f"`run` on a {lang or 'plain'} block: only {sorted(LANGUAGES)} run")
        out.append(block)
        i += 1
    return out


def all_blocks(repo=REPO):
    return [b for path in doc_files(repo) for b in blocks(path)]


def runnable(lang, repo=REPO):
    return [b for b in all_blocks(repo) if b.run and b.lang == lang]


# ---------------------------------------------------------------------------------------
# SQL: statements, meta-commands and the output shown below each

@dataclass
class Statement:
    line: int
    text: str              # the SQL, or the meta-command line (starting with a backslash)
    shown: list = field(default_factory=list)   # the comment lines right below it, without `--`
    unterminated: bool = False                  # no `;` at its end (psql would wait for one)

    @property
    def meta(self):
        return self.text.startswith("\\")


def statements(body):
    """Splits a SQL block into statements (at top-level semicolons: quotes, identifiers,
    dollar quotes and comments are respected) and psql meta-command lines, each with the
    comment lines that directly follow it (its shown output)."""
    out = []
    current, start = [], None
    state = None          # None, "'", '"', "$tag$", "/*"
    last = None           # the statement shown lines attach to, until a non-comment line
    for number, line in body:
        stripped = line.strip()
        if state is None and not current:
            if not stripped:
                last = None
                continue
            if stripped.startswith("--"):
                if last is not None:
                    last.shown.append(stripped[2:].strip())
                continue
            if stripped.startswith("\\"):
                last = Statement(number, stripped)
                out.append(last)
                continue
        last = None
        i = 0
        chunk = []
        while i < len(line):
            c = line[i]
            if state is None:
                if line.startswith("--", i):
                    break
                if line.startswith("/*", i):
                    state = "/*"
                    i += 2
                    continue
                if c in "'\"":
                    state = c
                elif c == "$":
                    m = re.match(r"\$[A-Za-z_]*\$", line[i:])
                    if m:
                        state = m.group(0)
                        chunk.append(state)
                        i += len(state)
                        continue
                elif c == ";":
                    current.append("".join(chunk))
                    text = "\n".join(current).strip()
                    if text:
                        last = Statement(start or number, text)
                        out.append(last)
                    current, chunk, start = [], [], None
                    i += 1
                    continue
                if start is None and not c.isspace():
                    start = number
                chunk.append(c)
                i += 1
            elif state == "/*":
                if line.startswith("*/", i):
                    state = None
                    i += 2
                else:
                    i += 1
            elif state in ("'", '"'):
                chunk.append(c)
                if c == state:
                    if i + 1 < len(line) and line[i + 1] == state:   # '' or "" inside
                        chunk.append(c)
                        i += 2
                        continue
                    state = None
                i += 1
            else:  # a dollar quote
                if line.startswith(state, i):
                    chunk.append(state)
                    i += len(state)
                    state = None
                else:
                    chunk.append(c)
                    i += 1
        if "".join(chunk).strip() or state in ("'", '"') or (state and state.startswith("$")):
            current.append("".join(chunk))
    if "\n".join(current).strip():
        out.append(Statement(start, "\n".join(current).strip(), unterminated=True))
    return out


# ---------------------------------------------------------------------------------------
# console transcripts

@dataclass
class Command:
    line: int
    text: str
    shown: list


def commands(body):
    """The `$ ` commands of a transcript, each with the lines shown below it."""
    out = []
    i = 0
    while i < len(body):
        number, line = body[i]
        if not line.strip():
            i += 1
            continue
        if not line.startswith("$ "):
            raise ValueError(f"line {number}: output without a command above it: {line!r}")
        text = [line[2:]]
        while text[-1].endswith("\\") and i + 1 < len(body):
            i += 1
            text.append(body[i][1])
        shown = []
        i += 1
        while i < len(body) and body[i][1].strip() and not body[i][1].startswith("$ "):
            shown.append(body[i][1])
            i += 1
        out.append(Command(number, "\n".join(text), shown))
    return out


# ---------------------------------------------------------------------------------------
# reading shown output

def kind_of(shown):
    """'json', 'error', 'word' or 'prose' for the lines shown below a statement."""
    if not shown:
        return None
    first = shown[0]
    if first.startswith(("{", "[")):
        return "json"
    if first.startswith("ERROR:"):
        return "error"
    if len(shown) == 1 and re.fullmatch(r"\S+", first):
        return "word"
    return "prose"


_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|([{}\[\],:])|([^{}\[\],:"]+))')


def shown_pairs(text):
    """The (key, value) pairs a JSON-like text shows, at any depth. value is a string,
    number, None, True or False; ELIDED when the text shows a container or `...`."""
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group(1) is not None:
            tokens.append(("str", json.loads(m.group(1))))
        elif m.group(2) is not None:
            tokens.append(("punct", m.group(2)))
        else:
            word = m.group(3).strip()
            if not word:
                continue
            if word in ("null", "true", "false"):
                tokens.append(("lit", {"null": None, "true": True, "false": False}[word]))
            elif re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", word):
                tokens.append(("num", json.loads(word)))
            else:
                tokens.append(("elided", word))
    pairs = []
    for i in range(len(tokens) - 2):
        if tokens[i][0] == "str" and tokens[i + 1] == ("punct", ":"):
            kind, value = tokens[i + 2]
            if kind in ("str", "num", "lit"):
                if kind == "str" and ("..." in value or "…" in value):
                    value = ELIDED
                pairs.append((tokens[i][1], value))
            else:
                pairs.append((tokens[i][1], ELIDED))
    return pairs


ELIDED = object()


def _values_by_key(obj, into):
    if isinstance(obj, dict):
        for k, v in obj.items():
            into.setdefault(k, []).append(v)
            _values_by_key(v, into)
    elif isinstance(obj, list):
        for v in obj:
            _values_by_key(v, into)
    return into


def _same(expected, actual):
    if expected is None or isinstance(expected, bool):
        return actual is expected
    if isinstance(actual, bool):
        return False
    return actual == expected


def json_mismatches(text, actual):
    """What of the JSON-like `text` the `actual` value (parsed JSON) does not show."""
    by_key = _values_by_key(actual, {})
    wrong = []
    for key, value in shown_pairs(text):
        if key not in by_key:
            wrong.append(f"no key {key!r}")
            continue
        values = by_key[key]
        if value is ELIDED:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (
                isinstance(value, float) or abs(value) >= 10**9):
            if not any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                wrong.append(f"{key!r}: shown a number, got {values!r}")
        elif not any(_same(value, v) for v in values):
            wrong.append(f"{key!r}: shown {json.dumps(value)}, got "
                         + ", ".join(json.dumps(v)[:200] for v in values))
    return wrong
