"""An incomplete run is a finding: auth-failed (high) and cells-unjudged (medium)."""

from __future__ import annotations

from dataclasses import replace

from audit.analysis import AnalysisOptions, analyse, fails
from audit.crawl.inventory import Inventory
from audit.model import Finding, Operation, Outcome, ProbeResult, Severity
from audit.results.record import RunInfo, RunResults, UserRecord


def record(rows: list[ProbeResult], failed: bool = False) -> RunResults:
    users = (UserRecord("ok", "token", "ok@x"),
             UserRecord("bad", "token", None, auth_failure="wrong secret" if failed else ""))
    return RunResults(run=RunInfo("u", None, "safe", "s", "f", True, "auditor"), users=users,
                      inventory=Inventory(source="auditor"), probes=tuple(rows))


def inc(out: RunResults) -> tuple[Finding, ...]:
    """The findings of this family only (other rules fire on these bare records too)."""
    return tuple(f for f in out.findings if f.rule in ("auth-failed", "cells-unjudged"))


def cell(user: str, doctype: str, outcome: Outcome) -> ProbeResult:
    return ProbeResult(user=user, doctype=doctype, op=Operation.READ, outcome=outcome)


def test_clean_run_has_no_incomplete_findings() -> None:
    out = analyse(record([cell("ok", "A", Outcome.ALLOWED)]), AnalysisOptions())
    assert inc(out) == () and not fails(inc(out), Severity.INFO)


def test_auth_failure_is_high_and_fails_the_default_gate() -> None:
    out = analyse(record([cell("ok", "A", Outcome.ALLOWED)], failed=True), AnalysisOptions())
    assert [f.rule for f in inc(out)] == ["auth-failed"]
    assert inc(out)[0].severity is Severity.HIGH and inc(out)[0].user == "bad"
    assert fails(inc(out), Severity.HIGH) and not fails(inc(out), None)


def test_error_cells_are_unjudged_with_their_evidence() -> None:
    rows = [cell("ok", "A", Outcome.ERROR), cell("ok", "B", Outcome.DENIED)]
    out = analyse(record(rows), AnalysisOptions())
    assert [(f.rule, f.evidence) for f in inc(out)] == [("cells-unjudged", ("ok|A|read",))]
    assert inc(out)[0].severity is Severity.MEDIUM
    assert not fails(inc(out), Severity.HIGH) and fails(inc(out), Severity.MEDIUM)


def test_untestable_counts_only_beyond_the_threshold() -> None:
    rows = [cell("ok", f"D{i}", Outcome.DENIED) for i in range(99)]
    few = analyse(record([*rows, cell("ok", "U", Outcome.UNTESTABLE)]), AnalysisOptions())
    many = analyse(record(rows[:50] + [cell("ok", f"U{i}", Outcome.UNTESTABLE)
                                       for i in range(10)]), AnalysisOptions())
    assert inc(few) == () and [f.rule for f in inc(many)] == ["cells-unjudged"]


def test_override_lowers_but_never_raises() -> None:
    base = record([cell("ok", "A", Outcome.ALLOWED)], failed=True)
    low = analyse(base, AnalysisOptions(severity_overrides={"auth-failed": Severity.LOW}))
    high = analyse(base, AnalysisOptions(severity_overrides={"auth-failed": Severity.CRITICAL}))
    assert inc(low)[0].severity is Severity.LOW
    assert inc(high)[0].severity is Severity.HIGH
    assert replace(low, findings=()).probes == base.probes
