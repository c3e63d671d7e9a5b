"""Explain one cell of a finished run from its ``results.json`` alone (no site needed).

The run recorded the probe (status, exc_type, message, target) and, with an auditor
account, the configured rules, roles, User Permissions and shares: enough to say why.
"""

from __future__ import annotations

from pathlib import Path

from audit.crawl.inventory import TargetDoc
from audit.explain.build import from_reply, from_rules
from audit.explain.catalogue import cause as catalogue_cause
from audit.explain.explanation import Explanation
from audit.explain.hints import hint_for
from audit.explain.why import diagnose
from audit.model import Operation, Outcome
from audit.results.record import RunResults
from audit.status import UsageError

__all__ = ["explain_saved"]


def explain_saved(path: Path, user: str, doctype: str, op: str) -> Explanation:
    results = RunResults.load(path)
    operation = Operation(op)
    row = next((p for p in results.probes
                if (p.user, p.doctype, p.op) == (user, doctype, operation)), None)
    if row is None:
        raise UsageError(f"{path}: no probe of user {user!r} on {doctype!r} / {op} in this run")
    subject = {"user": user, "doctype": doctype, "op": op, "results": str(path)}
    evidence = [f"recorded probe ({row.method.value}): {row.outcome.value}"
                + (f", HTTP {row.http_status}" if row.http_status is not None else "")
                + (f" {row.exc_type}" if row.exc_type else "")
                + (f", target {row.target}" if row.target else "")
                + (f"; message: {row.message}" if row.message else "")
                + (f"; {row.reason}" if row.reason else "")]
    record = results.user(user)
    if row.outcome is Outcome.AUTH_FAILED:
        failure = record.auth_failure if record else ""
        hint = hint_for(row.http_status, row.exc_type, row.message)
        return Explanation("saved", f"{user} could not authenticate: {failure or row.reason}",
                           hint, tuple(evidence), subject=subject)
    if row.outcome is Outcome.ALLOWED:
        limits = f"; limits: {', '.join(row.limits)}" if row.limits else ""
        return Explanation("saved", f"{user} CAN {op} {doctype}"
                           + (f" (on {row.target})" if row.target else "") + limits, None,
                           tuple(evidence), subject=subject)
    if row.outcome is not Outcome.DENIED:
        return Explanation("saved", f"{user} / {doctype} / {op}: {row.outcome.value} "
                           f"({row.reason or 'no verdict'})", None, tuple(evidence),
                           subject=subject)
    reply_hint = hint_for(row.http_status, row.exc_type, row.message)
    dt = results.doctypes.get(doctype)
    facts = results.facts(user)
    if dt is None or facts is None or results.rules is None:
        if dt is None:
            entry = catalogue_cause(reply_hint.cause) if reply_hint else None
            return Explanation("saved", f"{user} cannot {op} {doctype}"
                               + (f": {entry.title}" if entry else ""), reply_hint,
                               tuple(evidence), subject=subject)
        return from_reply("saved", user, operation, dt, reply_hint, evidence, [], subject, ())
    subject["frappe_user"] = facts.frappe_user
    target = next((t for t in results.inventory.targets.get(doctype, ())
                   if t.name == row.target), TargetDoc(row.target) if row.target else None)
    expect = None if record is None or record.expect is None else {
        d: frozenset(Operation(o) for o in ops) for d, ops in record.expect.items()}
    diagnosis = diagnose(results.inventory, facts, dt, operation, target, expect)
    return from_rules("saved", user, operation, dt, target, diagnosis, reply_hint, evidence,
                      [], subject, ())


