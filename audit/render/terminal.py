"""The terminal summary of a run: counts per user and the allowed cells that matter."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from itertools import compress
from typing import Any

from tabulate import tabulate

from audit.model import Operation, Outcome, ProbeResult, Severity
from audit.results.files import gc_paused, probe_columns
from audit.results.record import RunResults

TOP_FINDINGS = 10

# DocTypes whose rights decide who controls the site or its money.
SENSITIVE_DOCTYPES: frozenset[str] = frozenset({
    "User", "Has Role", "Role", "Role Profile", "DocPerm", "Custom DocPerm", "DocType",
    "User Permission", "DocShare", "System Settings", "OAuth Client", "OAuth Bearer Token",
    "Server Script", "Client Script", "Custom Field", "Property Setter", "Module Profile",
    "Payment Entry", "Journal Entry", "Sales Invoice", "Purchase Invoice", "Supplier",
    "Bank Account", "Account", "Employee", "Salary Slip", "Company",
})


def render_summary(rows: Sequence[ProbeResult], users: Sequence[str]) -> str:
    # counted in C: a million rows are one pass (plain values hash in C, members do not)
    columns = probe_columns(rows)
    people, outcomes = columns["user"], columns["outcome"]
    pairs: Counter[tuple[str, str]] = Counter(zip(people, outcomes, strict=True))
    counts: dict[str, Counter[Outcome]] = defaultdict(Counter)
    for (user, outcome), n in pairs.items():
        counts[user][Outcome(outcome)] += n
    sensitive: dict[str, list[str]] = defaultdict(list)
    allowed = Outcome.ALLOWED.value
    for row in compress(rows, map(allowed.__eq__, outcomes)):
        if row.doctype in SENSITIVE_DOCTYPES:
            sensitive[row.user].append(f"{row.doctype}:{row.op.value}")
    table = []
    for user in users:
        c = counts.get(user, Counter())
        other = c[Outcome.UNTESTABLE] + c[Outcome.SKIPPED]
        table.append([user, c[Outcome.ALLOWED], c[Outcome.DENIED], c[Outcome.ERROR],
                      c[Outcome.AUTH_FAILED], other, c[Outcome.NOT_APPLICABLE]])
    head = ["user", "allowed", "denied", "error", "auth_failed", "untestable/skipped", "n/a"]
    lines = [tabulate(table, headers=head, tablefmt="simple")]
    if any(sensitive.values()):
        lines.append("")
        lines.append("Allowed on DocTypes that matter:")
        for user in users:
            cells = sensitive.get(user)
            if cells:
                lines.append(f"  {user}: {_compact(cells)}")
    return "\n".join(lines)


def _compact(cells: list[str]) -> str:
    """'Customer:read', 'Customer:write' -> 'Customer(read,write)'."""
    grouped: dict[str, list[str]] = defaultdict(list)
    order = {op.value: i for i, op in enumerate(Operation)}
    for cell in cells:
        doctype, op = cell.rsplit(":", 1)
        grouped[doctype].append(op)
    return ", ".join(f"{d}({','.join(sorted(ops, key=order.__getitem__))})"
                     for d, ops in sorted(grouped.items()))


_ANSI = {"critical": "1;31", "high": "31", "medium": "33", "low": "36", "info": "34"}


def render_terminal(results: RunResults, color: bool = False, top: int = TOP_FINDINGS) -> str:
    """The summary of a record: counts per user, the allowed cells that matter, then the
    findings by severity with the worst ``top`` spelled out (and their fix)."""
    with gc_paused():  # a million rows alive: each automatic collection walks them all
        return _render(results, color, top)


def _render(results: RunResults, color: bool, top: int) -> str:
    names = [u.name for u in results.users]
    lines = [render_summary(results.probes, names)]
    findings, analysis = results.findings, results.analysis
    if findings:
        counts = Counter(f.severity for f in findings)
        by_level = ", ".join(f"{counts[s]} {s.value}" for s in sorted(Severity, key=lambda s:
                                                                      -s.rank) if counts[s])
        lines += ["", f"Findings ({len(findings)}): {by_level}"]
        for f in sorted(findings, key=lambda f: -f.severity.rank)[:top]:
            word = f"{f.severity.value:<8}"
            if color:
                word = f"\x1b[{_ANSI[f.severity.value]}m{word}\x1b[0m"
            lines.append(f"  {word} {f.rule:<16} {f.detail}")
            if f.recommendation:
                lines.append(f"  {'':<8} {'':<16} fix: {f.recommendation}")
        if len(findings) > top:
            lines.append(f"  … and {len(findings) - top} more in findings.csv / report.html")
    suppressed = analysis.get("suppressed") or []
    if suppressed:
        lines.append(f"Suppressed: {len(suppressed)} finding(s) (--suppressions)")
    lines += [f"Expired suppression (no longer applied): {entry}"
              for entry in analysis.get("expired_suppressions") or []]
    if analysis.get("drift"):
        lines += ["", render_drift(analysis["drift"])]
    return "\n".join(lines)


def render_drift(drift: Mapping[str, Any]) -> str:
    """``permaudit diff`` / ``--baseline``: what changed, one line per change."""
    labels = (("gained", "+ gained"), ("lost", "- lost"), ("users_added", "+ user"),
              ("users_removed", "- user"), ("findings_new", "+ finding"),
              ("findings_resolved", "- finding"))
    lines = [f"Changes against {drift.get('baseline') or 'the baseline'}:"]
    for key, label in labels:
        lines += [f"  {label} {item}" for item in drift.get(key) or []]
    if len(lines) == 1:
        lines.append("  none")
    lines.append(f"  ({len(drift.get('findings_unchanged') or [])} finding(s) unchanged)")
    return "\n".join(lines)
