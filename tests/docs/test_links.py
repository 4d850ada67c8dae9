"""The relative links of README.md and docs/*.md into the repository lead somewhere: a
file or directory, and for `page.md#anchor` a heading of that page (GitHub's slug) or an
`<a id="anchor">` in it."""

import re

import pytest

import docblocks
from docblocks import REPO

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
ANCHOR = re.compile(r'<a\s+(?:id|name)="([^"]+)"')


def prose_lines(path):
    """The lines outside fenced blocks, without inline code spans."""
    fenced = False
    for number, line in enumerate(path.read_text().split("\n"), start=1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield number, re.sub(r"`[^`]*`", "", line)


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    found, seen = set(), {}
    for _, line in prose_lines(path):
        m = HEADING.match(line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            found.add(s if n == 0 else f"{s}-{n}")
        found.update(ANCHOR.findall(line))
    return found


def links():
    out = []
    for page in docblocks.doc_files():
        for number, line in prose_lines(page):
            for target in LINK.findall(line):
                if re.match(r"[a-z]+:", target):
                    continue  # https:, mailto:
                file = target.partition("#")[0]
                if file and REPO not in (page.parent / file).resolve().parents:
                    continue  # outside the repository (../shared/contract.md)
                out.append((page, number, target))
    return out


LINKS = links()


def test_there_are_links():
    assert len(LINKS) > 10


@pytest.mark.parametrize("page,line,target", LINKS,
                         ids=[f"{p.relative_to(REPO)}:{n}:{t}" for p, n, t in LINKS])
def test_link(page, line, target):
    file, _, anchor = target.partition("#")
    dest = (page.parent / file).resolve() if file else page
    assert dest.exists(), f"{page.name}:{line}: {target}: no {dest.relative_to(REPO)}"
    if anchor:
        assert anchor in anchors(dest), \
            f"{page.name}:{line}: {target}: no heading or <a id> {anchor!r} in {dest.relative_to(REPO)}"
