"""Nothing lost when the README was split into docs/ pages: every non-empty line of the
README of a revision (default HEAD) must appear, verbatim, in README.md or a docs/*.md
page of the working tree, as often as it appeared before. Headings may change level (a
section that became a page's title) and a fence may gain words after its language (`sql
run`): both are reported but counted as kept.

    .venv/bin/python tests/docs/moved_lines.py [REV]

Prints the lines that did not survive verbatim (with their line in the old README), and
long lines that now appear more often than before (a paragraph in two places). Exit
status 1 when a line is missing. Not a test of the suite: after the split is committed,
HEAD's README is the new one; run it against the revision before the split.
"""

import collections
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
HEADING = re.compile(r"^#{1,6}\s+")
FENCE = re.compile(r"^(```+\S*)\s.*$")


def normal(line):
    """A line as compared: headings without their level, fences without the words after
    the language (`run`, its options)."""
    line = line.rstrip()
    if HEADING.match(line):
        return HEADING.sub("# ", line)
    return FENCE.sub(r"\1", line)


def counted(lines):
    return collections.Counter(normal(x) for x in lines if x.strip())


def main(rev="HEAD"):
    old = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:README.md"], check=True,
                         capture_output=True, text=True).stdout.split("\n")
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    new_lines = [x for p in pages for x in p.read_text().split("\n")]
    new = counted(new_lines)
    raw_new = collections.Counter(x.rstrip() for x in new_lines if x.strip())
    want = counted(old)

    missing = []
    for number, line in enumerate(old, start=1):
        if not line.strip():
            continue
        key = normal(line)
        if new[key] > 0:
            new[key] -= 1
        else:
            missing.append((number, line))
    relevelled = [line for line in old if HEADING.match(line) and raw_new[line.rstrip()] == 0]
    added = sum(new.values())  # what is left after every old line took its copy
    marked = [x for x in new_lines if FENCE.match(x)]
    doubled = [(line, want[line], raw_new[line]) for line in want
               if len(line) > 40 and not line.startswith("|---") and raw_new[line] > want[line]]

    kept = sum(want.values()) - len(missing)
    print(f"old README ({rev}): {sum(want.values())} non-empty lines; {kept} kept verbatim "
          f"({len(relevelled)} of them headings at another level), {len(missing)} not; "
          f"{len(marked)} fences carry a marker; {added} lines are new")
    for line in relevelled:
        print(f"  heading level changed: {line}")
    for number, line in missing:
        print(f"  missing  {number:5}: {line}")
    for line, before, now in doubled:
        print(f"  {before} -> {now} times: {line}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
