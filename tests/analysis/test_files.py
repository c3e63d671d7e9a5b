"""The files analysis writes: spreadsheet-safe, private, and results.json still round-trips
when its probe rows are streamed."""

from __future__ import annotations

import csv
import stat
from dataclasses import replace
from pathlib import Path

from audit.analysis import AnalysisOptions, analyse
from audit.model import Finding, Severity
from audit.render.csv import write_findings_csv, write_matrix_csv
from audit.results.files import write_probes_csv
from audit.results.record import RunResults

from .synthetic import probe, record

EVIL = ("=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx")


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_probes_csv_neutralises_every_text_column(tmp_path: Path) -> None:
    rows = [probe(f"{e}u", f"{e}D", "read", "denied", message=e, limits=[e]) for e in EVIL]
    write_probes_csv(tmp_path / "probes.csv", rows)
    got = read(tmp_path / "probes.csv")
    assert [r["message"] for r in got] == ["'" + e for e in EVIL]
    assert all(r["user"].startswith("'") and r["doctype"].startswith("'") for r in got)
    assert all(r["limits"].startswith("'") and r["outcome"] == "denied" for r in got)
    assert stat.S_IMODE((tmp_path / "probes.csv").stat().st_mode) == 0o600


def test_matrix_csv_one_row_per_user_and_doctype(tmp_path: Path) -> None:
    rows = [probe("u", "=D", "read", "allowed"), probe("u", "=D", "write", "denied"),
            probe("v", "=D", "read", "error")]
    write_matrix_csv(tmp_path / "matrix.csv", record(rows))
    got = read(tmp_path / "matrix.csv")
    assert [(r["user"], r["doctype"], r["read"], r["write"], r["submit"]) for r in got] == [
        ("u", "'=D", "allowed", "denied", ""), ("v", "'=D", "error", "", "")]


def test_findings_csv_evidence_and_neutralised_detail(tmp_path: Path) -> None:
    found = Finding(id="r:1", severity=Severity.HIGH, rule="beyond-need", user="u",
                    detail="=cmd", evidence=("u|A|read", "u|A|write"), recommendation="-x")
    write_findings_csv(tmp_path / "findings.csv", replace(record([]), findings=(found,)))
    (row,) = read(tmp_path / "findings.csv")
    assert row["evidence"] == "u|A|read;u|A|write" and row["detail"] == "'=cmd"
    assert row["recommendation"] == "'-x" and row["severity"] == "high"


def test_streamed_results_json_round_trips(tmp_path: Path) -> None:
    rows = [probe("u", f"D{i}", "read", "allowed", message='}, {"x": "]"') for i in range(4500)]
    out = analyse(record(rows), AnalysisOptions())
    out.write(tmp_path / "results.json")
    back = RunResults.load(tmp_path / "results.json")
    assert back.probes == out.probes and back.findings == out.findings
    assert back.analysis == out.analysis
