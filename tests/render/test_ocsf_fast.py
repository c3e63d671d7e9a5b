"""findings.ocsf.json is built as plain dicts for speed; each one must be exactly what
py-ocsf-models dumps for the finding, redacted as the slow path redacts it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from audit.analysis import AnalysisOptions, analyse
from audit.model import Finding, Severity
from audit.render import ocsf
from audit.results.record import RunResults
from audit.results.redact import REDACTOR, fingerprint
from benchmarks.analysis import synthetic_results

from . import fixtures

TOKEN = "tok3n4ccess0123456789"


def _reference(results: RunResults) -> list[dict[str, object]]:
    """The library's dump of every finding, redacted by the redactor's own walk."""
    ocsf.learn_secret_names(results)
    return [REDACTOR.json(ocsf.detection_finding(results, f)) for f in results.findings]


def _varied(results: RunResults) -> RunResults:
    """Findings of every shape: no user, an unknown user, no DocType, an op, a long detail,
    texts a spreadsheet or terminal would choke on, a secret name in the prose."""
    user = results.users[0].name
    extra = [
        Finding(id="a:1", severity=Severity.INFO, rule="plain-http"),
        Finding(id="a:2", severity=Severity.LOW, rule="no-such-rule", user="ghost",
                detail="x" * 400),
        Finding(id="a:3", severity=Severity.HIGH, rule="secret-read", user=user,
                doctype="OAuth Bearer Token", op="read", detail=f"reads {TOKEN} \x1b[31m!",
                evidence=(f"{user}|OAuth Bearer Token|read",), recommendation=""),
        Finding(id="a:4", severity=Severity.CRITICAL, rule="escalation-path",
                doctype="Role", detail="=cmd|' /C calc'!A0", recommendation="-x"),
    ]
    return replace(results, findings=(*results.findings, *extra))


@pytest.fixture(params=["synthetic", "hostile"])
def results(request: pytest.FixtureRequest) -> RunResults:
    """An analysed synthetic run (every account rule fires) or the hostile texts."""
    REDACTOR.learn(TOKEN)
    if request.param == "hostile":
        return _varied(fixtures.hostile())
    record = synthetic_results(30_000)
    record = replace(record, run=replace(record.run, finished="2026-12-01T10:05:00Z"))
    return _varied(analyse(record, AnalysisOptions()))


def test_every_event_is_the_library_dump(results: RunResults, tmp_path: Path) -> None:
    expected = _reference(results)
    assert len(expected) == len(results.findings) > 10
    assert ocsf.ocsf_findings(results) == expected
    path = ocsf.write_ocsf(results, tmp_path)
    text = path.read_text("utf-8")
    assert json.loads(text) == expected
    assert TOKEN not in text and fingerprint(TOKEN) in text and "\x1b" not in text
    assert text.count('\n{"message":') == len(expected)


def test_a_shape_the_fast_path_gets_wrong_is_built_by_the_library(
        results: RunResults, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _reference(results)
    fast = ocsf._Builder._fast

    def wrong(self: ocsf._Builder, finding: Finding, *args: object) -> dict[str, object]:
        event = fast(self, finding, *args)  # type: ignore[arg-type]
        if finding.rule == "secret-read":
            event["severity_id"] = 0
        return event

    monkeypatch.setattr(ocsf._Builder, "_fast", wrong)
    assert ocsf.ocsf_findings(results) == expected
