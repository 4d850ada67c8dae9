"""The reading of blocks and shown output (docblocks.py) on small cases, so that a check
of the examples cannot pass by not looking."""

import docblocks


def body(text):
    return list(enumerate(text.split("\n"), start=1))


def test_statements_split_at_top_level_semicolons_only():
    sts = docblocks.statements(body(
        "SELECT 'a;b', \"c;d\";   -- trailing; comment\n"
        "-- {\"k\": 1}\n"
        "DO $x$ BEGIN PERFORM 1; END $x$;\n"
        "/* ; */ SELECT 'it''s;\n"
        "two lines';\n"
        "\\c agno\n"
        "SELECT 3"))
    assert [s.text for s in sts] == [
        "SELECT 'a;b', \"c;d\"",
        "DO $x$ BEGIN PERFORM 1; END $x$",
        "SELECT 'it''s;\ntwo lines'",
        "\\c agno",
        "SELECT 3",
    ]
    assert sts[0].shown == ['{"k": 1}'] and sts[1].shown == []
    assert sts[3].meta and sts[4].unterminated and not sts[2].unterminated


def test_output_after_a_blank_line_is_commentary():
    sts = docblocks.statements(body("SELECT 1;\n\n-- 2\nSELECT 2;\n-- 2"))
    assert sts[0].shown == [] and sts[1].shown == ["2"]


def test_kinds():
    assert docblocks.kind_of(['{"a": 1}']) == "json"
    assert docblocks.kind_of(["ERROR:  nope"]) == "error"
    assert docblocks.kind_of(["memories_bob"]) == "word"
    assert docblocks.kind_of(["alice's rows and shared rows"]) == "prose"


def test_json_checks_keys_and_values():
    answer = {"data": [{"learning_id": "x", "created_at": 1796400000, "metadata": None}],
              "meta": {"page": 1, "total_count": 3, "search_time_ms": 0.1}}
    ok = '{"data": [{"learning_id": "x", ...}], "meta": {"page": 1, "total_count": 3, "search_time_ms": 0.0}}'
    assert docblocks.json_mismatches(ok, answer) == []
    assert docblocks.json_mismatches('{"data": [ ...records... ], "meta": {...}}', answer) == []
    assert docblocks.json_mismatches('{"created_at": 1795390000, "metadata": null}', answer) == []
    assert docblocks.json_mismatches('{"learning_id": "y"}', answer)
    assert docblocks.json_mismatches('{"total_count": 2}', answer)
    assert docblocks.json_mismatches('{"metadata": false}', answer)
    assert docblocks.json_mismatches('{"missing": "..."}', answer)
    assert docblocks.json_mismatches('{"page": true}', answer)


def test_transcripts():
    cmds = docblocks.commands(body(
        '$ curl -si "$API/x" \\\n       -d \'{}\'\nHTTP/1.1 201 Created\n{"a": 1}\n\n$ curl -s "$API/y"\n'))
    assert [c.text for c in cmds] == ['curl -si "$API/x" \\\n       -d \'{}\'', 'curl -s "$API/y"']
    assert cmds[0].shown == ["HTTP/1.1 201 Created", '{"a": 1}'] and cmds[1].shown == []


def test_markers_are_parsed(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```sql run db=demo fails=42501\nSELECT 1;\n```\n\n```sql run db=nowhere\n```\n"
                    "```sh run\n```\n```sql\n```\n")
    a, b, c, d = docblocks.blocks(page)
    assert a.run and a.options == {"db": "demo", "fails": "42501"} and not a.problems
    assert b.problems and c.problems and not d.run and not d.problems
