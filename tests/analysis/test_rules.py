"""Each rule of the findings catalogue: a record where it fires and one where it must not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from audit.analysis import AnalysisOptions, analyse, fails
from audit.analysis.catalogue import RULES
from audit.analysis.interface import Suppression
from audit.crawl.inventory import ShareRow
from audit.model import Attempt, ProbeMethod, Severity
from audit.results.record import Incident, RunResults

from .synthetic import probe, record, rules, shares, user

SM = ("System Manager",)
Case = Callable[[bool], RunResults]


def _disabled(fire: bool) -> RunResults:
    u = user(enabled=False, auth_failure="" if fire else "user disabled")
    return record([probe("u", "Note", "read", "allowed" if fire else "auth_failed")], users=[u])


def _privileged(fire: bool) -> RunResults:
    return record([probe("u", "Note", "read", "allowed")],
                  users=[user(roles=SM if fire else ("Clerk",))])


def _password(fire: bool) -> RunResults:
    return record([], users=[user(roles=SM, auth="password" if fire else "token")])


def _escalation(fire: bool) -> RunResults:
    cells = [probe("u", "Custom DocPerm", "write", "allowed" if fire else "denied"),
             probe("u", "User", "write", "allowed", limits=["share"])]  # own record: normal
    return record(cells)


def _escalation_user_roles(fire: bool) -> RunResults:
    grant = rules("User: HR: read write", "User: HR@1: read write") if fire else rules(
        "User: HR: read write")
    return record([probe("u", "User", "write", "allowed")], users=[user(roles=("HR",))],
                  rule_rows=grant) if fire else record(
        [probe("u", "User", "write", "allowed", limits=["share"])], users=[user(roles=("HR",))],
        rule_rows=grant)


def _secret(fire: bool) -> RunResults:
    return record([probe("u", "OAuth Bearer Token", "read", "allowed" if fire else "denied")])


def _sensitive(fire: bool) -> RunResults:
    return record([probe("u", "Payment Entry", "create" if fire else "read", "allowed")])


def _beyond(fire: bool) -> RunResults:
    u = user(expect={"Customer": ("read",)})
    return record([probe("u", "Customer", "read", "allowed"),
                   probe("u", "Customer", "write", "allowed" if fire else "denied")], users=[u])


def _need_denied(fire: bool) -> RunResults:
    u = user(expect={"Customer": ("read",)})
    return record([probe("u", "Customer", "read", "denied" if fire else "allowed")], users=[u])


def _no_need(fire: bool) -> RunResults:
    return record([probe("u", "Customer", "read", "allowed")],
                  users=[user(expect=None if fire else {"Customer": ("read",)})])


def _unused(fire: bool) -> RunResults:
    used = {"u": {} if fire else {"Customer|write": 3}}
    return record([probe("u", "Customer", "write", "allowed"),
                   probe("u", "Customer", "read", "allowed")], usage=used)


def _sod(fire: bool) -> RunResults:
    return record([probe("u", "Supplier", "create", "allowed"),
                   probe("u", "Payment Entry", "submit", "allowed" if fire else "denied")])


def _website(fire: bool) -> RunResults:
    u = user(user_type="Website User")
    cells = [probe("u", "User", "read", "allowed", limits=["share"])]
    if fire:
        cells.append(probe("u", "Customer", "read", "allowed"))
    return record(cells, users=[u])


def _mismatch(fire: bool) -> RunResults:
    return record([probe("u", "Customer", "read", "denied" if fire else "allowed")],
                  rule_rows=rules("Customer: Clerk: read"))


def _traceback(fire: bool) -> RunResults:
    text = "Traceback (most recent call last):\n  File x" if fire else "Not permitted"
    attempt = Attempt(target="A1", method=ProbeMethod.REST, http_status=500, message=text)
    return record([probe("u", "Customer", "read", "error", attempts=[attempt])])


def _count(fire: bool) -> RunResults:
    attempt = Attempt(target="get_count", method=ProbeMethod.ASK,
                      http_status=200 if fire else 403, note="count=12")
    return record([probe("u", "Customer", "read", "denied", attempts=[attempt])])


def _plain(fire: bool) -> RunResults:
    return record([], url="http://erp.example" if fire else "http://127.0.0.1:8000")


def _ip(fire: bool) -> RunResults:
    return record([], users=[user(restrict_ip="" if fire else "10.0.0.0/8")])


def _incident(fire: bool) -> RunResults:
    found = Incident(user="u", doctype="Note", op="create", at="t", http_status=200,
                     document="n1", removed=True)
    return record([], incidents=[found] if fire else [])


def _auth_failed(fire: bool) -> RunResults:
    return record([], users=[user(auth_failure="wrong secret" if fire else "")])


def _unjudged(fire: bool) -> RunResults:
    return record([probe("u", "Customer", "read", "error" if fire else "denied")])


CASES: dict[str, Case] = {
    "disabled-user-key-works": _disabled, "privileged-role": _privileged,
    "password-login-privileged": _password, "escalation-path": _escalation,
    "secret-read": _secret, "sensitive-access": _sensitive, "beyond-need": _beyond,
    "need-denied": _need_denied, "no-declared-need": _no_need, "unused-grant": _unused,
    "sod-conflict": _sod, "website-user-data": _website, "rule-mismatch": _mismatch,
    "site-traceback": _traceback, "site-count-leak": _count, "plain-http": _plain,
    "no-ip-restriction": _ip, "incident": _incident, "auth-failed": _auth_failed,
    "cells-unjudged": _unjudged,
}


def test_every_catalogue_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires(rule: str) -> None:
    found = [f for f in analyse(CASES[rule](True), AnalysisOptions()).findings if f.rule == rule]
    assert found, f"{rule} did not fire"
    assert all(f.severity is RULES[rule] or f.rule == "rule-mismatch" for f in found)
    assert all(f.recommendation and f.evidence for f in found)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_stays_quiet(rule: str) -> None:
    found = [f for f in analyse(CASES[rule](False), AnalysisOptions()).findings if f.rule == rule]
    assert found == []


def test_write_on_roles_is_escalation_own_record_is_not() -> None:
    fire = analyse(_escalation_user_roles(True), AnalysisOptions()).findings
    path = [f for f in fire if f.rule == "escalation-path"]
    assert len(path) == 1 and "roles table" in path[0].detail and "any role" in path[0].detail
    quiet = analyse(_escalation_user_roles(False), AnalysisOptions()).findings
    assert [f for f in quiet if f.rule in ("escalation-path", "sensitive-access")] == []


def test_share_only_access_is_labelled() -> None:
    cells = [probe("u", "Sales Invoice", "write", "allowed", limits=["share"])]
    out = analyse(record(cells, rule_rows=rules("Sales Invoice: Accounts: read write"),
                         facts=shares("u@x", ShareRow("Sales Invoice", "SINV-1", write=True))),
                  AnalysisOptions())
    mismatch = next(f for f in out.findings if f.rule == "rule-mismatch")
    assert "share-only access" in mismatch.detail and mismatch.severity is Severity.MEDIUM
    beyond = next(f for f in out.findings if f.rule == "beyond-need")
    assert "through a share" in beyond.detail and "DocShare" in beyond.recommendation


def test_ids_are_stable_across_runs_and_differ_by_subject() -> None:
    one = analyse(_beyond(True), AnalysisOptions()).findings
    two = analyse(_beyond(True), AnalysisOptions()).findings
    assert [f.id for f in one] == [f.id for f in two]
    assert len({f.id for f in one}) == len(one)


def test_severity_override_only_lowers() -> None:
    low = analyse(_ip(True), AnalysisOptions(severity_overrides={
        "no-ip-restriction": Severity.INFO}))
    high = analyse(_ip(True), AnalysisOptions(severity_overrides={
        "no-ip-restriction": Severity.CRITICAL}))
    assert [f.severity for f in low.findings if f.rule == "no-ip-restriction"] == [Severity.INFO]
    assert [f.severity for f in high.findings if f.rule == "no-ip-restriction"] == [Severity.LOW]


def test_fail_on_decides_on_what_is_left() -> None:
    out = analyse(_incident(True), AnalysisOptions())
    assert fails(out.findings, Severity.CRITICAL) and not fails(out.findings, None)


def test_live_suppression_hides_expired_is_reported() -> None:
    base = _ip(True)
    entry = Suppression(reason="accepted", expires=date(2027, 1, 1), rule="no-ip-restriction")
    live = analyse(base, AnalysisOptions(suppressions=(entry,), today=date(2026, 12, 1)))
    assert not [f for f in live.findings if f.rule == "no-ip-restriction"]
    assert len(live.analysis["suppressed"]) == 1 and live.analysis["expired_suppressions"] == []
    old = analyse(base, AnalysisOptions(suppressions=(entry,), today=date(2027, 1, 2)))
    assert [f.rule for f in old.findings if f.rule == "no-ip-restriction"] == [
        "no-ip-restriction"]
    assert old.analysis["suppressed"] == []
    assert old.analysis["expired_suppressions"] == [
        "no-ip-restriction (expired 2027-01-01: accepted)"]
