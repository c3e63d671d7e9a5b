"""The report passes the run's redaction step like every other file: no configured secret
and no name of a secret-bearing document reaches report.html or findings.ocsf.json."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from audit.config.secrets import SecretRegistry
from audit.model import Finding, Operation, Outcome, ProbeMethod, ProbeResult, Severity
from audit.render import Format, render_all
from audit.results import redact
from tests.render import fixtures

SECRET = "s3cr3t-Api-Value-4711"
TOKEN = "tok9f8e7d6c5b4a"  # an OAuth Bearer Token is named by its access token


@pytest.fixture
def redactor(monkeypatch: pytest.MonkeyPatch) -> redact.Redactor:
    registry = SecretRegistry()
    registry.register(SECRET)
    fresh = redact.Redactor(registry)
    monkeypatch.setattr(redact, "REDACTOR", fresh)
    return fresh


@pytest.mark.parametrize("formats", [[Format.HTML, Format.OCSF], [Format.OCSF]])
def test_no_secret_and_no_secret_name_in_the_report(redactor: redact.Redactor, tmp_path: Path,
                                                    formats: list[Format]) -> None:
    results = fixtures.plain()
    leak = ProbeResult(user="alice", doctype="OAuth Bearer Token", op=Operation.READ,
                       outcome=Outcome.DENIED, method=ProbeMethod.REST, http_status=403,
                       exc_type="PermissionError", target=TOKEN,
                       message=f"No permission for OAuth Bearer Token {TOKEN} ({SECRET})")
    finding = Finding(id="secret-read:x", severity=Severity.HIGH, rule="secret-read",
                      user="alice", doctype="OAuth Bearer Token", op="read",
                      detail=f"alice read {TOKEN}; the site said {SECRET}",
                      recommendation=f"revoke {SECRET}")
    results = replace(results, probes=(*results.probes, leak),
                      findings=(*results.findings, finding))
    render_all(results, tmp_path, formats)
    for name in [f for f in ("report.html", "findings.ocsf.json") if (tmp_path / f).exists()]:
        text = (tmp_path / name).read_text("utf-8")
        assert SECRET not in text, name
        assert TOKEN not in text, name
        assert redact.fingerprint(TOKEN) in text, name
