"""Formats are enum members that build their renderer; what each one writes."""

from __future__ import annotations

import csv
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from py_ocsf_models.events.findings.detection_finding import (  # type: ignore[import-untyped]
    DetectionFinding,
)

from audit.cli import cli
from audit.render import Format, parse_formats, render_all
from audit.render.formats import FormatError, Renderer
from audit.render.terminal import render_terminal
from audit.results.record import RunResults
from tests.render import fixtures


@pytest.mark.parametrize("fmt", list(Format))
def test_every_member_builds_a_renderer(fmt: Format, tmp_path: Path) -> None:
    renderer = fmt.renderer()
    assert isinstance(renderer, Renderer) and renderer.name == fmt.value
    out = renderer.render(fixtures.plain(), tmp_path)
    assert out.files or out.text
    for path in out.files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_results_json_and_probes_csv_are_always_written(tmp_path: Path) -> None:
    results = fixtures.plain()
    out = render_all(results, tmp_path / "out", [Format.TERMINAL])
    names = {p.name for p in out.files}
    assert names == {"results.json", "probes.csv"}
    assert "Findings (6):" in out.text
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700
    again = RunResults.load(tmp_path / "out" / "results.json")
    assert again.findings == results.findings and again.probes == results.probes


def test_parse_formats() -> None:
    assert parse_formats("html, csv,html") == (Format.HTML, Format.CSV)
    assert parse_formats("all") == tuple(Format)
    with pytest.raises(FormatError, match="'pdf'"):
        parse_formats("html,pdf")
    with pytest.raises(FormatError):
        parse_formats(" , ")


def test_matrix_csv_holds_every_cell(tmp_path: Path) -> None:
    results = fixtures.plain()
    render_all(results, tmp_path, [Format.CSV])
    with (tmp_path / "matrix.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len({(p.user, p.doctype) for p in results.probes})
    for probe in results.probes:
        row = next(r for r in rows if r["user"] == probe.user and r["doctype"] == probe.doctype)
        assert row[probe.op.value] == probe.outcome.value
    with (tmp_path / "findings.csv").open(newline="") as fh:
        findings = list(csv.DictReader(fh))
    assert [f["id"] for f in findings] == [f.id for f in results.findings]
    assert findings[0]["evidence"] == ";".join(results.findings[0].evidence)


def test_ocsf_detection_findings(tmp_path: Path) -> None:
    results = fixtures.plain()
    render_all(results, tmp_path, [Format.OCSF])
    events = json.loads((tmp_path / "findings.ocsf.json").read_text("utf-8"))
    assert len(events) == len(results.findings)
    for event, finding in zip(events, results.findings, strict=True):
        DetectionFinding.model_validate(event)  # the schema's own model accepts it back
        assert event["class_uid"] == 2004 and event["category_uid"] == 2
        assert event["type_uid"] == 200401 and event["activity_id"] == 1
        assert event["finding_info"]["uid"] == finding.id
        assert event["severity_id"] == {"medium": 3, "high": 4, "critical": 5}[
            finding.severity.value]
        assert event["metadata"]["product"]["name"] == "permaudit"
        assert event["time"] == int(datetime(2026, 12, 1, 10, 5, tzinfo=UTC).timestamp()) * 1000
        assert {r["type"] for r in event["resources"]} >= {"Frappe User"}
        assert event["unmapped"]["evidence"] == list(finding.evidence)


def test_terminal_colour_only_when_asked() -> None:
    results = fixtures.plain()
    assert "\x1b[" not in render_terminal(results, color=False)
    assert "\x1b[31mhigh" in render_terminal(results, color=True)


def test_cli_refuses_an_unknown_format(tmp_path: Path) -> None:
    done = CliRunner().invoke(cli, ["demo", "-o", str(tmp_path / "x"), "--format", "html,pdf"])
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [
        "permaudit: --format: unknown format 'pdf' (choose from html, csv, json, ocsf, terminal)"]
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_demo_writes_every_format_and_prints_the_report_path(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = CliRunner().invoke(cli, ["demo", "-o", str(out), "--quiet"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    for name in ("report.html", "probes.csv", "matrix.csv", "findings.csv", "results.json",
                 "findings.ocsf.json"):
        assert (out / name).stat().st_size > 0, name
    assert f"Report: {(out / 'report.html').resolve()}" in done.output
    assert "\x1b[" not in done.output  # not a terminal: no colour
    assert os.path.getsize(out / "report.html") < 5_000_000
    # the demo replaces its run: a report the new run does not write is not left behind
    again = CliRunner().invoke(cli, ["demo", "-o", str(out), "--quiet", "--format", "terminal"],
                               catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert not (out / "report.html").exists() and not (out / "findings.ocsf.json").exists()
    assert "Report:" not in again.output


def test_record_written_by_the_caller_is_not_rewritten(tmp_path: Path) -> None:
    results = fixtures.plain()
    out = render_all(results, tmp_path, [Format.HTML], record_written=True)
    assert [p.name for p in out.files] == ["report.html"]
    assert not (tmp_path / "results.json").exists()


def test_the_csv_format_leaves_probes_csv_to_the_record(tmp_path: Path) -> None:
    out = render_all(fixtures.plain(), tmp_path, [Format.CSV], record_written=True)
    assert [p.name for p in out.files] == ["matrix.csv", "findings.csv"]
    assert not (tmp_path / "probes.csv").exists()  # a run wrote it with results.json


def test_report_renders_from_results_json_alone(tmp_path: Path) -> None:
    results = fixtures.plain()
    results.write(tmp_path / "results.json")
    before = (tmp_path / "results.json").read_bytes()
    done = CliRunner().invoke(cli, ["report", str(tmp_path), "--format", "html,ocsf",
                                    "--fail-on", "never"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert (tmp_path / "report.html").stat().st_size > 0
    assert json.loads((tmp_path / "findings.ocsf.json").read_text("utf-8"))
    assert (tmp_path / "results.json").read_bytes() == before  # the record is not rewritten
    assert "report.html" in done.output and "findings.ocsf.json" in done.output
