"""results.json is read back row by row when it is laid out as permaudit writes it.

`report`, `diff` and `--baseline` read whole runs: a parse of the whole file holds every
row as a dict (about 3 GB for a run of 1,000,000 rows), so a file in the writer's layout
(the document, then one finding and one probe row per line) is read one line at a time.
Whatever else parses as JSON (a file re-indented by jq, keys moved, one line) is read
whole, to the same record; a damaged file is the same one-line error either way.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from audit.model import Attempt, Operation, Outcome, ProbeMethod, ProbeResult
from audit.results import reading
from audit.results.record import RunResults, SchemaError
from tests.results.test_record import sample

# texts that look like the layout's own lines, once inside a JSON string
AWKWARD = ('\n  ],\n  "probes": [\n', "}\n", "  ]", "\u2028\u2029", "é😀", '"},{"', "\\", "")


def awkward() -> RunResults:
    base = sample()
    rows = [replace(base.probes[0], message=text, target=f"T{i}{text}", reason=text,
                    attempts=(Attempt(text, ProbeMethod.ASK, None, text, text, text),))
            for i, text in enumerate(AWKWARD)]
    rows += [ProbeResult(user="bot", doctype="Customer", op=op, outcome=Outcome.DENIED,
                         http_status=403, message="Insufficient Permission for the document")
             for op in Operation]
    findings = tuple(replace(base.findings[0], id=f"x:{i}", detail=text)
                     for i, text in enumerate(AWKWARD))
    return replace(base, probes=tuple(rows), findings=findings)


RECORDS = {
    "sample": sample,
    "awkward": awkward,
    "no rows": lambda: replace(sample(), probes=(), findings=()),
    "no findings": lambda: replace(sample(), findings=()),
}


def _whole(path: Path) -> RunResults:
    return RunResults.from_json(json.loads(path.read_text(encoding="utf-8")), str(path))


@pytest.fixture
def no_whole_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(data: bytes, source: str) -> object:
        raise AssertionError(f"{source} was parsed whole")
    monkeypatch.setattr(reading, "parse_whole", refuse)


@pytest.mark.parametrize("name", list(RECORDS))
def test_a_written_file_is_read_line_by_line_to_the_same_record(
        name: str, tmp_path: Path, no_whole_parse: None) -> None:
    record = RECORDS[name]()
    path = tmp_path / "results.json"
    record.write(path)
    loaded = RunResults.load(path)
    assert loaded == _whole(path) == record


@pytest.mark.parametrize("layout", ["indent 4", "one line", "probes first", "CRLF"])
def test_other_layouts_are_read_whole_to_the_same_record(layout: str, tmp_path: Path) -> None:
    record = awkward()
    path = tmp_path / "results.json"
    record.write(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if layout == "indent 4":
        text = json.dumps(data, indent=4, ensure_ascii=False)
    elif layout == "one line":
        text = json.dumps(data)
    elif layout == "probes first":
        text = json.dumps({"probes": data.pop("probes"), **data}, indent=2)
    else:
        text = path.read_text(encoding="utf-8").replace("\n", "\r\n")
    path.write_bytes(text.encode("utf-8"))
    assert RunResults.load(path) == record


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _probe_line(lines: list[bytes]) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(b'{"user":'))


DAMAGE = {
    "cut in a row": lambda lines: [*lines[:_probe_line(lines) + 1], lines[-3][:40]],
    "cut after a row": lambda lines: lines[:_probe_line(lines) + 2],
    "a row garbled": lambda lines: [*lines[:_probe_line(lines)], b'{"user":"bot",,},\n',
                                    *lines[_probe_line(lines) + 1:]],
    "a comma lost": lambda lines: [*lines[:_probe_line(lines)],
                                   lines[_probe_line(lines)].replace(b"},\n", b"}\n"),
                                   *lines[_probe_line(lines) + 1:]],
    "a comma too many": lambda lines: [*lines[:-3], lines[-3].replace(b"}\n", b"},\n"),
                                       *lines[-2:]],
    "trailing text": lambda lines: [*lines, b"more\n"],
    "not UTF-8": lambda lines: [*lines[:_probe_line(lines)], b'{"user":"\xff\xfe"},\n',
                                *lines[_probe_line(lines) + 1:]],
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_file_is_a_one_line_error(damage: str, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    awkward().write(path)
    path.write_bytes(b"".join(DAMAGE[damage](_lines(path))))
    with pytest.raises(SchemaError) as info:
        RunResults.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert "not valid JSON" in message or "not UTF-8" in message


def test_a_bad_value_in_a_row_is_malformed_either_way(tmp_path: Path,
                                                      no_whole_parse: None) -> None:
    path = tmp_path / "results.json"
    awkward().write(path)
    lines = _lines(path)
    at = _probe_line(lines)
    lines[at] = lines[at].replace(b'"op":"write"', b'"op":"fly"')
    path.write_bytes(b"".join(lines))
    with pytest.raises(SchemaError) as info:
        RunResults.load(path)
    assert "malformed" in str(info.value) and "'fly' is not a valid Operation" in str(info.value)


def test_a_newer_schema_is_refused_before_any_row_is_read(tmp_path: Path,
                                                          no_whole_parse: None) -> None:
    path = tmp_path / "results.json"
    awkward().write(path)
    text = path.read_bytes().replace(b'"schema_version": 2', b'"schema_version": 99', 1)
    path.write_bytes(text.replace(b'"op":"write"', b'"op":"fly"'))
    with pytest.raises(SchemaError, match="newer"):
        RunResults.load(path)


def test_repeated_texts_are_held_once(tmp_path: Path, no_whole_parse: None) -> None:
    path = tmp_path / "results.json"
    awkward().write(path)
    rows = RunResults.load(path).probes[-6:]  # the same user, DocType and message each
    assert len({id(r.message) for r in rows}) == 1
    assert len({id(r.user) for r in rows}) == 1 and len({id(r.doctype) for r in rows}) == 1


def test_a_file_that_is_not_utf8_text_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(b'{"run": "\xff"}')
    with pytest.raises(SchemaError) as info:
        RunResults.load(path)
    assert "not UTF-8" in str(info.value) and str(path) in str(info.value)


def test_each_finding_is_one_line_whatever_it_holds(tmp_path: Path) -> None:
    """Findings are written by one call per chunk and cut between them; a finding that
    holds objects starting with the same key is not cut inside."""
    from audit.results.files import write_results_json

    path = tmp_path / "results.json"
    findings = [{"id": "a", "more": [{"id": "b"}, {"id": "c"}]}, {"id": "d", "more": []}]
    write_results_json(path, {"schema_version": 2}, (), findings)
    lines = path.read_bytes().splitlines()
    start = lines.index(b'  "findings": [') + 1
    rows = lines[start:lines.index(b"  ],", start)]
    assert [json.loads(row.rstrip(b",")) for row in rows] == findings
