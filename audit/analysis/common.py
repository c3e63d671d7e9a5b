"""Building findings: stable ids, severities (overrides only lower), evidence cells."""

from __future__ import annotations

from collections.abc import Iterable

from audit.analysis.catalogue import RULES
from audit.analysis.incomplete import finding_id
from audit.analysis.interface import AnalysisOptions, cell_key
from audit.model import Finding, Severity

OP_ORDER = {op: i for i, op in enumerate(
    ("read", "write", "create", "delete", "submit", "cancel"))}


def severity(rule: str, options: AnalysisOptions, default: Severity | None = None) -> Severity:
    """The rule's severity; a configured override may only lower it."""
    base = default or RULES[rule]
    override = options.severity_overrides.get(rule)
    if override is None or override.rank > base.rank:
        return base
    return override


def finding(rule: str, user: str, subject: str, options: AnalysisOptions, *, detail: str,
            evidence: Iterable[str], recommendation: str, doctype: str = "", op: str = "",
            default: Severity | None = None) -> Finding:
    return Finding(id=finding_id(rule, user, subject), severity=severity(rule, options, default),
                   rule=rule, user=user, doctype=doctype, op=op, detail=detail,
                   evidence=tuple(evidence), recommendation=recommendation)


def ops_text(ops: Iterable[str]) -> str:
    return ",".join(sorted(set(ops), key=lambda o: OP_ORDER.get(o, 99)))


def cells_of(user: str, doctype: str, ops: Iterable[str]) -> list[str]:
    ordered = sorted(set(ops), key=lambda o: OP_ORDER.get(o, 99))
    return [cell_key(user, doctype, op) for op in ordered]
