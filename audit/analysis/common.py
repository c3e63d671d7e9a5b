"""Building findings: stable ids, severities (overrides only lower), evidence cells."""

from __future__ import annotations

from collections.abc import Iterable

from audit.analysis.catalogue import RULES
from audit.analysis.incomplete import finding_id
from audit.analysis.interface import AnalysisOptions, cell_key
from audit.model import Finding, Severity

OP_ORDER = {op: i for i, op in enumerate(
    ("read", "write", "create", "delete", "submit", "cancel"))}
# ops as a rule hands them over -> the distinct ops in OP_ORDER: findings come by the
# ten thousand and repeat a few dozen op lists, so each is sorted once
_ORDERED: dict[tuple[str, ...], tuple[str, ...]] = {}


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


def ordered_ops(ops: Iterable[str]) -> tuple[str, ...]:
    """The distinct ``ops`` in OP_ORDER (unknown ops last)."""
    key = tuple(ops)
    out = _ORDERED.get(key)
    if out is None:
        out = tuple(sorted(set(key), key=lambda o: OP_ORDER.get(o, 99)))
        if len(_ORDERED) < 4096:
            _ORDERED[key] = out
    return out


def ops_text(ops: Iterable[str]) -> str:
    return ",".join(ordered_ops(ops))


def cells_of(user: str, doctype: str, ops: Iterable[str]) -> list[str]:
    return [cell_key(user, doctype, op) for op in ordered_ops(ops)]
