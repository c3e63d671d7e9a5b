"""Every planted risk of the demo site is found, and nothing on the least-privilege user."""

from __future__ import annotations

import csv
import stat

import pytest

from audit.model import Severity
from audit.status import ExitCode

from .conftest import Crawl

# (rule, user, a word the finding's doctype / detail must hold): from demo_people.PEOPLE
PLANTED = [
    ("privileged-role", "bot", "System Manager"),
    ("disabled-user-key-works", "former", "disabled"),
    ("escalation-path", "escalate", "roles table"),
    ("sod-conflict", "accounts", "create Supplier and submit Payment Entry"),
    ("website-user-data", "portal", "Website User"),
    ("rule-mismatch", "shared", "share-only access"),
    ("beyond-need", "shared", "through a share"),
    ("secret-read", "bot", "OAuth Bearer Token"),
    ("no-declared-need", "former", "no declared need"),
    ("no-declared-need", "portal", "no declared need"),
    ("unused-grant", "former", "ToDo"),
    ("beyond-need", "bot", "Custom DocPerm"),
    ("no-ip-restriction", "bot", "restrict_ip is empty"),
]


@pytest.mark.parametrize(("rule", "user", "word"), PLANTED)
def test_planted_risk_is_found(demo_run: Crawl, rule: str, user: str, word: str) -> None:
    hits = [f for f in demo_run.results.findings if f.rule == rule and f.user == user]
    assert any(word in f.detail or word == f.doctype for f in hits), \
        [f.detail for f in hits] or f"no {rule} for {user}"


def test_least_privilege_user_has_no_finding(demo_run: Crawl) -> None:
    assert [f.detail for f in demo_run.results.findings if f.user == "lean"] == []
    summary = demo_run.results.analysis["users"]["lean"]
    assert summary["beyond_need"] == [] and summary["minimal_roles"] == ["Order Entry"]
    assert summary["minimal_roles_removes"] == []


def test_escalation_is_a_chain_to_the_power(demo_run: Crawl) -> None:
    path = next(f for f in demo_run.results.findings if f.rule == "escalation-path")
    assert path.severity is Severity.CRITICAL and path.detail.startswith("escalate -> ")
    assert "System Manager" in path.detail and "escalate|User|write" in path.evidence
    assert "rule:User@1:HR Manager:write" in path.evidence
    # writing one's own User record is what every user does: never an escalation
    assert {f.user for f in demo_run.results.findings if f.rule == "escalation-path"} == {
        "escalate"}


def test_sod_conflict_names_both_sides_and_the_doctype_limit(demo_run: Crawl) -> None:
    conflict = next(f for f in demo_run.results.findings if f.rule == "sod-conflict"
                    and f.user == "accounts" and "Supplier" in f.detail
                    and "create Supplier" in f.detail)
    assert set(conflict.evidence) == {"accounts|Supplier|create", "accounts|Payment Entry|submit"}
    assert "credit note" in conflict.detail


def test_read_use_is_unknown_never_unused(demo_run: Crawl) -> None:
    unused = [f for f in demo_run.results.findings if f.rule == "unused-grant"]
    assert unused and all(not e.endswith("|read") for f in unused for e in f.evidence)
    users = demo_run.results.analysis["users"]
    assert "former|Payment Entry|read" in users["former"]["unused_unknown"]
    assert not any(c.endswith("|read") for c in users["former"]["unused"])


def test_use_the_auditor_cannot_list_is_unknown(demo_run: Crawl) -> None:
    """The demo's auditor (System Manager only) may not list Payment Entry: no evidence."""
    assert "Payment Entry" in demo_run.results.usage_missing
    former = demo_run.results.analysis["users"]["former"]
    assert "former|Payment Entry|submit" in former["unused_unknown"]
    assert "former|Payment Entry|submit" not in former["unused"]
    assert any("could not list Payment Entry" in n for n in demo_run.results.run.notes)


def test_used_rights_are_not_unused(demo_run: Crawl) -> None:
    """accounts submitted a Payment Entry three days ago (a Version row of the demo)."""
    assert demo_run.results.usage is not None
    assert demo_run.results.usage["accounts"]["Payment Entry|submit"] >= 1
    unused = demo_run.results.analysis["users"]["accounts"]["unused"]
    assert "accounts|Payment Entry|submit" not in unused


def test_bot_minimal_roles_drop_system_manager(demo_run: Crawl) -> None:
    summary = demo_run.results.analysis["users"]["bot"]
    assert "System Manager" not in summary["minimal_roles"]
    assert summary["minimal_roles_method"] == "greedy set cover"
    assert "bot|Custom DocPerm|write" in summary["minimal_roles_removes"]
    assert "bot|Sales Invoice|create" not in summary["minimal_roles_removes"]


def test_files_are_private_and_shaped(demo_run: Crawl) -> None:
    for name in ("matrix.csv", "findings.csv", "results.json"):
        assert stat.S_IMODE((demo_run.outdir / name).stat().st_mode) == 0o600
    with (demo_run.outdir / "matrix.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["user", "doctype", "read", "write", "create", "delete", "submit",
                             "cancel"]
    pairs = [(r["user"], r["doctype"]) for r in rows]
    assert len(pairs) == len(set(pairs)) == len({(p.user, p.doctype)
                                                 for p in demo_run.results.probes})
    with (demo_run.outdir / "findings.csv").open(newline="") as fh:
        found = list(csv.DictReader(fh))
    assert len(found) == len(demo_run.results.findings)
    assert list(found[0]) == ["id", "severity", "rule", "user", "doctype", "op", "detail",
                              "evidence", "recommendation"]


def test_summary_shows_findings_by_severity(demo_run: Crawl) -> None:
    text = "\n".join(demo_run.echoed)
    assert "Findings (" in text and " critical, " in text and " high, " in text
    assert "critical disabled-user-key-works" in text and "fix: revoke the API key" in text
    assert "more in findings.csv" in text  # only the worst ten are spelled out
    assert demo_run.code is ExitCode.OK  # the programmatic default never fails on findings
