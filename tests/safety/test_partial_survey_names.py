"""A survey of a secret-bearing DocType that failed part-way still teaches the redactor the
names it did list: rows written before a probe targets one (another DocType's reply quoting
it) must not keep it in clear in the checkpoint."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from audit.crawl import engine
from audit.crawl.engine import Checkpoint, Crawler
from audit.crawl.inventory import DocTypeInfo, Inventory, Survey, TargetDoc, UserFacts
from audit.crawl.probes import UserContext
from audit.results.redact import REDACTOR, fingerprint

TOKEN_NAME = "q7w8e9r0t1y2u3i4o5p6"


def test_names_of_a_failed_survey_are_learned(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    dt = DocTypeInfo(name="OAuth Bearer Token", module="Integrations")
    inventory = Inventory(source="auditor", doctypes={dt.name: dt})
    failed = Survey(listed=(TargetDoc(TOKEN_NAME),), own=None,
                    failure_note="the user's own documents could not be listed (HTTP 502)")

    def survey(*_args: Any) -> Survey:
        return failed

    monkeypatch.setattr(engine, "survey", survey)
    client: Any = SimpleNamespace(identity=SimpleNamespace(lost=""))
    ctx = UserContext("bot", "bot@example.com", client, UserFacts(frappe_user="bot@example.com"))
    prober: Any = None
    crawler = Crawler(inventory, [ctx], prober, Checkpoint(tmp_path / "checkpoint.jsonl"),
                      workers=1, progress=False)
    before = REDACTOR.text(f"Error: token {TOKEN_NAME} expired")
    assert TOKEN_NAME in before  # nothing taught it yet
    crawler.survey({})
    assert ctx.surveys[dt.name] is failed
    assert REDACTOR.text(f"Error: token {TOKEN_NAME} expired") == (
        f"Error: token {fingerprint(TOKEN_NAME)} expired")
