"""The terminal summary of a run: counts per user and the allowed cells that matter."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from tabulate import tabulate

from audit.model import Operation, Outcome, ProbeResult
from audit.results.record import RunResults

# DocTypes whose rights decide who controls the site or its money.
SENSITIVE_DOCTYPES: frozenset[str] = frozenset({
    "User", "Has Role", "Role", "Role Profile", "DocPerm", "Custom DocPerm", "DocType",
    "User Permission", "DocShare", "System Settings", "OAuth Client", "OAuth Bearer Token",
    "Server Script", "Client Script", "Custom Field", "Property Setter", "Module Profile",
    "Payment Entry", "Journal Entry", "Sales Invoice", "Purchase Invoice", "Supplier",
    "Bank Account", "Account", "Employee", "Salary Slip", "Company",
})


def render_summary(rows: Sequence[ProbeResult], users: Sequence[str]) -> str:
    counts: dict[str, Counter[Outcome]] = defaultdict(Counter)
    sensitive: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        counts[row.user][row.outcome] += 1
        if row.outcome is Outcome.ALLOWED and row.doctype in SENSITIVE_DOCTYPES:
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


def render_terminal(results: RunResults, color: bool = False) -> str:
    """The summary of a record: counts per user, the allowed cells that matter, findings."""
    names = [u.name for u in results.users]
    lines = [render_summary(results.probes, names)]
    if results.findings:
        lines += ["", f"Findings ({len(results.findings)}):"]
        for f in results.findings:
            word = f"{f.severity.value:<8}"
            if color:
                word = f"\x1b[{_ANSI[f.severity.value]}m{word}\x1b[0m"
            lines.append(f"  {word} {f.rule:<16} {f.detail}")
    return "\n".join(lines)
