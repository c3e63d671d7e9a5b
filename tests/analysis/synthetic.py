"""Small hand-made RunResults for rule tests: a user, its rules and a few cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from audit.crawl.inventory import DocTypeInfo, Inventory, RuleRow, ShareRow, UserFacts
from audit.model import Attempt, Operation, Outcome, ProbeMethod, ProbeResult
from audit.results.record import Incident, RunInfo, RunResults, UserRecord

Cell = tuple[str, str, str, str]  # user, doctype, op, outcome


def probe(user: str, doctype: str, op: str, outcome: str, *, limits: Sequence[str] = (),
          message: str = "", attempts: Sequence[Attempt] = ()) -> ProbeResult:
    return ProbeResult(user=user, doctype=doctype, op=Operation(op), outcome=Outcome(outcome),
                       method=ProbeMethod.REST, limits=tuple(limits), message=message,
                       attempts=tuple(attempts))


def rules(*rows: str) -> dict[str, tuple[RuleRow, ...]]:
    """"DocType: Role[@level][ owner]: right right" -> rules by DocType."""
    out: dict[str, list[RuleRow]] = {}
    for row in rows:
        doctype, who, rights = (p.strip() for p in row.split(":"))
        role, _, flag = who.partition(" ")
        role, _, level = role.partition("@")
        role = role.replace("_", " ")
        out.setdefault(doctype, []).append(RuleRow(
            doctype=doctype, role=role, permlevel=int(level or 0), if_owner=flag == "owner",
            rights=frozenset(rights.split())))
    return {k: tuple(v) for k, v in out.items()}


def record(cells: Sequence[ProbeResult], *, users: Sequence[UserRecord] | None = None,
           rule_rows: Mapping[str, tuple[RuleRow, ...]] | None = None,
           facts: Mapping[str, UserFacts] | None = None, url: str = "https://erp.example",
           usage: Mapping[str, Mapping[str, int]] | None = None,
           incidents: Sequence[Incident] = (), **doctypes: Any) -> RunResults:
    users = users if users is not None else [user()]
    names = {p.doctype for p in cells} | set(rule_rows or {})
    infos = {n: DocTypeInfo(name=n, module="Test", is_submittable=True) for n in names}
    facts = facts if facts is not None else {
        u.frappe_user or u.name: UserFacts(frappe_user=u.frappe_user or u.name, roles=u.roles,
                                           user_type=u.user_type) for u in users}
    inventory = Inventory(source="auditor", doctypes=infos, rules=rule_rows, users=dict(facts))
    return RunResults(run=RunInfo(url, None, "safe", "s", "f", True, "auditor"),
                      users=tuple(users), inventory=inventory, probes=tuple(cells),
                      usage=usage, usage_days=90 if usage is not None else None,
                      incidents=tuple(incidents))


def user(name: str = "u", roles: Sequence[str] = ("Clerk",), **kw: Any) -> UserRecord:
    base = UserRecord(name=name, auth="token", frappe_user=f"{name}@x", roles=tuple(roles),
                      user_type="System User", enabled=True, has_api_key=True, expect={})
    return replace(base, **kw)


def shares(frappe_user: str, *rows: ShareRow, roles: Sequence[str] = ("Clerk",)) -> dict[
        str, UserFacts]:
    return {frappe_user: UserFacts(frappe_user=frappe_user, roles=tuple(roles),
                                   user_type="System User", shares=tuple(rows))}
