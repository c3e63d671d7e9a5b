"""The streamed writers of probes.csv and results.json write exactly what the row-by-row
redaction path writes: same cells, same JSON, secrets and secret names masked in both,
across chunk boundaries and with the memo of distinct values restarted."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from audit.config.secrets import SecretRegistry
from audit.crawl.inventory import DocTypeInfo, Inventory, UserFacts, UserPermRow
from audit.model import Attempt, Finding, Operation, Outcome, ProbeMethod, ProbeResult, Severity
from audit.results import files
from audit.results.files import csv_cell, write_csv, write_probes_csv, write_results_json
from audit.results.record import RunInfo, RunResults
from audit.results.redact import Redactor, fingerprint

SECRET = "api-secret-77aa55"
TOKEN = "tok3n4ccess0123456789"  # an OAuth Bearer Token's name is its access token
CODE = "authc0de998877"  # only a User Permission names it
TRIGGERS = ("=SUM(A1)", "+1", "-2", "@x", "\tx", "", 'a,"b"', "line\nbreak", "cr\rx", " sp ",
            "é\u202e", "\x1b[31mred")


def _rows() -> list[ProbeResult]:
    rows: list[ProbeResult] = []
    for i in range(2_500):
        secret_doc = i % 97 == 0
        doctype = "OAuth Bearer Token" if secret_doc else f"DocType {i % 40}"
        target = TOKEN if secret_doc else f"DOC-{i % 300}"
        rows.append(ProbeResult(
            user=f"{TRIGGERS[i % len(TRIGGERS)]}user{i % 7}", doctype=doctype,
            op=list(Operation)[i % 6],
            outcome=list(Outcome)[i % len(Outcome)], method=ProbeMethod.REST,
            http_status=None if i % 5 == 0 else 403, exc_type="frappe.PermissionError",
            message=(f"key {SECRET} refused for {TOKEN}" if i % 11 == 0
                     else f"No permission for {doctype}{TRIGGERS[i % len(TRIGGERS)]}"),
            target=target, limits=() if i % 3 else ("if_owner", f"user_permission:X={i % 4}"),
            reason="" if i % 4 else "=cmd", latency_ms=None if i % 9 == 0 else i / 8,
            at="2026-12-02T10:00:00",
            attempts=() if i % 2 else (
                Attempt(target=target, method=ProbeMethod.REST, http_status=417,
                        message=f"in {CODE} and {SECRET}", note="timestamp mismatch"),
                Attempt(target=f"OTHER-{i}", method=ProbeMethod.ASK))))
    return rows


def _record(rows: list[ProbeResult]) -> RunResults:
    facts = UserFacts(frappe_user="bot@example.com", roles=("Bot",), user_type="System User",
                      user_permissions=(UserPermRow("OAuth Authorization Code", CODE),))
    inventory = Inventory(source="auditor", doctypes={
        "OAuth Bearer Token": DocTypeInfo(name="OAuth Bearer Token"),
        "OAuth Authorization Code": DocTypeInfo(name="OAuth Authorization Code")},
        users={"bot@example.com": facts})
    findings = tuple(Finding(id=f"f{i}", severity=Severity.HIGH, rule="secret-read", user="bot",
                             doctype="OAuth Bearer Token" if i % 2 else f"=D{i}",
                             detail=f"reads {TOKEN} with {SECRET}" if i % 3 else "",
                             evidence=(f"bot|D{i}|read", "+x"), recommendation="-fix")
                     for i in range(30))
    return RunResults(run=RunInfo("https://erp.example", None, "safe", "s", "f", True, "auditor"),
                      users=(), inventory=inventory, probes=tuple(rows), findings=findings)


def _redactor() -> Redactor:
    registry = SecretRegistry()
    registry.register(SECRET)
    return Redactor(registry)


@pytest.fixture(params=[7, 1_000, 100_000], ids=["chunk7", "chunk1000", "one-chunk"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(files, "CHUNK_ROWS", request.param)
    return int(request.param)


def test_results_json_is_the_row_by_row_redacted_document(tmp_path: Path, chunk: int) -> None:
    record = _record(_rows())
    reference = _redactor().json(record.to_json())  # the whole document, walked at once
    write_results_json(tmp_path / "results.json", record.to_json(rows=False), record.probes,
                       [f.as_json() for f in record.findings], redactor=_redactor())
    text = (tmp_path / "results.json").read_text()
    assert json.loads(text) == reference
    for leaked in (SECRET, TOKEN, CODE):
        assert leaked not in text
    assert fingerprint(TOKEN) in text and fingerprint(CODE) in text
    assert text.count('\n{"user"') == len(record.probes)
    assert text.count('\n{"id"') == len(record.findings)


def test_probes_csv_is_the_row_by_row_redacted_file(tmp_path: Path, chunk: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files._Cleaner, "LIMIT", 50)  # the memo of distinct texts restarts
    rows = _rows()
    reference = _redactor()
    reference.learn(*(p.target for p in rows if p.doctype == "OAuth Bearer Token"))
    expected = io.StringIO(newline="")
    writer = csv.writer(expected)
    writer.writerow(files.PROBE_COLUMNS)
    for p in rows:
        clean = reference.row(p.as_row())
        writer.writerow([csv_cell(clean.get(c)) for c in files.PROBE_COLUMNS])
    write_probes_csv(tmp_path / "probes.csv", rows, _redactor())
    got = (tmp_path / "probes.csv").read_bytes().decode()
    assert got == expected.getvalue()
    assert SECRET not in got and TOKEN not in got


def test_csv_keeps_numbers_of_equal_hash_apart(tmp_path: Path) -> None:
    rows = [{"a": 1, "b": True}, {"a": True, "b": 1.0}, {"a": 1.0, "b": None},
            {"a": "x", "b": ["=y"]}]
    write_csv(tmp_path / "x.csv", ("a", "b"), rows, _redactor())
    with (tmp_path / "x.csv").open(newline="") as fh:
        got = list(csv.reader(fh))
    assert got == [["a", "b"], ["1", "True"], ["True", "1.0"], ["1.0", ""], ["x", "['=y']"]]


def test_csv_rows_on_a_secret_doctype_teach_their_names_first(tmp_path: Path) -> None:
    rows = [{"doctype": "Customer", "message": f"about {TOKEN}"},
            {"doctype": "OAuth Bearer Token", "name": TOKEN}]
    write_csv(tmp_path / "x.csv", ("doctype", "message", "name"), rows, _redactor())
    text = (tmp_path / "x.csv").read_text()
    assert TOKEN not in text and text.count(fingerprint(TOKEN)) == 2


def test_the_writers_memo_ends_when_a_name_is_learned_or_a_secret_registered() -> None:
    redactor = _redactor()
    text = f"about {TOKEN} and {CODE}123"
    first = redactor.frozen()
    assert first(text) == text and redactor.frozen() is first  # one memo for every writer
    redactor.learn(TOKEN)
    second = redactor.frozen()
    assert second is not first and second(text) == f"about {fingerprint(TOKEN)} and {CODE}123"
    redactor.registry.register(f"{CODE}123")
    assert redactor.frozen()(text) == f"about {fingerprint(TOKEN)} and ***"


def test_columns_are_read_again_for_other_rows(tmp_path: Path) -> None:
    rows = _rows()[:50]
    write_probes_csv(tmp_path / "a.csv", tuple(rows), _redactor())
    rows[0] = ProbeResult(user="changed", doctype="D", op=Operation.READ, outcome=Outcome.DENIED)
    write_probes_csv(tmp_path / "b.csv", rows, _redactor())  # a list: never taken from before
    write_probes_csv(tmp_path / "c.csv", tuple(rows), _redactor())
    for name in ("b.csv", "c.csv"):
        assert (tmp_path / name).read_text().splitlines()[1].startswith("changed,D,read,denied")


HIDDEN = [  # one finding in many holds it: where the batch scan must see it
    ("detail", f"reads with {SECRET} now"),
    ("evidence", ["bot|D1|read", f"x {SECRET}"]),
    ("evidence", [{"cell": "bot|D1|read", SECRET: 1}]),  # a key
    ("doctype", TOKEN),  # a whole field that is a secret name
    ("detail", "red\x1b[31m text"),  # a control character: stripped
    ("detail", "lone \ud800 surrogate"),
]


@pytest.mark.parametrize(("key", "value"), HIDDEN, ids=[str(i) for i in range(len(HIDDEN))])
@pytest.mark.parametrize("where", [0, 57, 119])
def test_findings_that_hold_no_secret_are_written_as_they_are_and_one_that_does_is_redacted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: object,
        where: int) -> None:
    monkeypatch.setattr(files, "CHUNK_ROWS", 40)
    monkeypatch.setattr(files._Cleaner, "RECORDS_BATCH", 16)  # several batches a chunk
    findings: list[dict[str, object]] = [
        {"id": f"f{i}", "severity": "high", "rule": "secret-read", "user": "bot",
         "doctype": f"DocType {i}", "op": None, "detail": f"plain detail {i} " * 4,
         "evidence": [f"bot|DocType {i}|read", {"n": i, "ok": True, "w": 1.5}]}
        for i in range(120)]
    findings[where][key] = value
    redactor = _redactor()
    redactor.learn(TOKEN)
    reference = redactor.json({"findings": findings})["findings"]
    write_results_json(tmp_path / "results.json", {"schema": 1}, (), findings,
                       redactor=redactor)
    text = (tmp_path / "results.json").read_text()
    assert json.loads(text)["findings"] == reference
    assert SECRET not in text and TOKEN not in text and "\x1b" not in text
    assert "\\ud800" not in text
    assert reference[where] != findings[where] and reference[where - 1] == findings[where - 1]


def test_findings_of_other_types_are_walked() -> None:
    """A text subclass (an enum) or a mapping that is not a dict is not a plain record."""
    from audit.results.files import _texts_of
    assert _texts_of([{"severity": Severity.HIGH}]) is None
    assert _texts_of([{"a": ({"b": ["c", 1, None]},)}]) == ["a", "b", "c"]
