"""What the HTML report shows, as plain data: built from ``RunResults`` alone.

Every string that came from the site (DocType, user, role, document names, messages) is
passed through :func:`clean`: the run's redaction step (secrets masked, names of
secret-bearing documents fingerprinted, control characters removed) as for every other
file, then any line separator left made visible. HTML escaping is the template engine's
job (autoescape everywhere), never this module's.
The analysis summary (``results.analysis``) is read key by key and every key may be
absent: the report then says "not measured" instead of guessing.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audit.analysis.interface import cell_key
from audit.explain.hints import Hint, hint_for
from audit.model import Finding, Operation, Outcome, ProbeResult, Severity
from audit.render.terminal import SENSITIVE_DOCTYPES
from audit.results import redact
from audit.results.record import RunResults, UserRecord

OPS: tuple[Operation, ...] = tuple(Operation)
# one letter per outcome in the heatmap's compact cell strings ("-": no row for that op)
OUTCOME_CODE: dict[Outcome, str] = {
    Outcome.ALLOWED: "a", Outcome.DENIED: "d", Outcome.AUTH_FAILED: "f",
    Outcome.NOT_APPLICABLE: "n", Outcome.UNTESTABLE: "u", Outcome.ERROR: "e",
    Outcome.SKIPPED: "s",
}
# glyph, label: the legend and the page's script share this table (readable without colour)
GLYPHS: dict[str, tuple[str, str]] = {
    "a": ("●", "allowed"), "d": ("○", "denied"), "f": ("×", "auth_failed"),
    "n": ("·", "not_applicable"), "u": ("?", "untestable"), "e": ("!", "error"),
    "s": ("–", "skipped"), "-": (" ", "not probed"),
}
HINT_STATUSES = (401, 403, 429)
EXAMPLES_PER_GROUP = 12
EVIDENCE_LINKS = 40

WHY: dict[str, str] = {
    "auth-failed": "The audit could not see anything this user can do; its access is unknown.",
    "disabled-user-key-works": "A user someone disabled can still use the site through its "
                               "API key: leavers keep access.",
    "privileged-role": "System Manager (or the same reach) can change anything, including "
                       "every other user's rights.",
    "escalation-path": "The user can give itself (or anyone) powers it was not meant to have.",
    "secret-read": "Reading stored credentials lets the user act as other users or systems.",
    "sensitive-access": "Changing security-relevant records changes who can do what.",
    "beyond-need": "Rights beyond the declared need widen the damage a leaked key can do.",
    "need-denied": "The integration expects a right the site refuses: it will fail in use.",
    "no-declared-need": "Without a declared need nobody can tell which rights are excessive.",
    "unused-grant": "A right nobody uses is risk without benefit.",
    "sod-conflict": "One identity can both initiate and approve: fraud needs no accomplice.",
    "website-user-data": "Portal (Website) users should not reach internal desk data.",
    "rule-mismatch": "The site answers differently from its configured rules: something "
                     "(a hook, share or User Permission) changes access unseen.",
    "site-traceback": "Server tracebacks tell an attacker about code, paths and versions.",
    "site-count-leak": "Counts leak how many records exist where the user may not read them.",
    "plain-http": "Keys and data travel unencrypted; anyone on the path can reuse them.",
    "no-ip-restriction": "A leaked key works from anywhere on the internet.",
    "password-login-privileged": "A privileged password can be phished or guessed; keys can "
                                 "be scoped and rotated.",
    "cells-unjudged": "Part of the audit has no answer: an unjudged cell may hide access.",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def clean(value: object) -> str:
    """Text safe to show: redacted, no control characters (U+FFFD); never escapes HTML."""
    text = "" if value is None else str(value)
    return _CONTROL.sub("\ufffd", redact.REDACTOR.text(text))


@dataclass(frozen=True)
class Cell:
    """A heatmap anchor: an evidence key that names a cell of the matrix."""

    key: str
    anchor: str  # element id of the heatmap cell ("c-<user index>-<doctype index>")
    label: str


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    why: str
    cells: tuple[Cell, ...]
    other_evidence: tuple[str, ...]
    more: int  # evidence entries not shown


@dataclass(frozen=True)
class NeedLine:
    doctype: str
    op: str
    outcome: str  # what the site answered for the declared need


@dataclass(frozen=True)
class SheetView:
    user: UserRecord
    anchor: str
    counts: Mapping[str, int]
    sensitive: tuple[str, ...]
    need: tuple[NeedLine, ...] | None  # None: no declared need
    beyond_need: tuple[str, ...] | None
    unused: tuple[str, ...] | None
    minimal_roles: tuple[str, ...] | None
    minimal_removes: tuple[str, ...]
    changes: tuple[str, ...] | None
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class HintGroup:
    status: int | None  # None: users that could not authenticate (the login reply is not kept)
    exc_type: str
    hint: Hint | None
    count: int
    users: tuple[str, ...]
    examples: tuple[tuple[str, str, str, str, str], ...]  # user, doctype, op, document, message


@dataclass(frozen=True)
class ReportView:
    results: RunResults
    users: tuple[str, ...]
    doctypes: tuple[str, ...]
    outcome_counts: Mapping[str, int]
    by_severity: Mapping[str, int]
    findings: tuple[FindingView, ...]
    sheets: tuple[SheetView, ...]
    hints: tuple[HintGroup, ...]
    coverage: tuple[tuple[str, int], ...]  # (why a cell has no verdict, how many)
    drift: Mapping[str, Any] | None
    matrix: Mapping[str, Any]  # the heatmap's compact JSON
    modules: tuple[str, ...]
    cells_probed: int


def _summary(results: RunResults) -> Mapping[str, Any]:
    return results.analysis if isinstance(results.analysis, Mapping) else {}


def _user_summary(results: RunResults, user: str) -> Mapping[str, Any]:
    users = _summary(results).get("users")
    if isinstance(users, Mapping):
        entry = users.get(user)
        if isinstance(entry, Mapping):
            return entry
    return {}


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list | tuple):
        return tuple(clean(v) for v in value)
    return None


def sensitive_doctypes(results: RunResults) -> frozenset[str]:
    """The catalogue of security-relevant DocTypes plus any that analysis called sensitive."""
    names = set(SENSITIVE_DOCTYPES)
    for user in results.users:
        for cell in _strings(_user_summary(results, user.name).get("sensitive")) or ():
            parts = cell.split("|")
            if len(parts) == 3:
                names.add(parts[1])
    return frozenset(names)


def compact_cells(cells: Iterable[str]) -> tuple[str, ...]:
    """'u|Customer|read', 'u|Customer|write' -> ('Customer (read, write)',)."""
    order = {op.value: i for i, op in enumerate(OPS)}
    grouped: dict[str, list[str]] = defaultdict(list)
    for cell in cells:
        parts = cell.split("|")
        if len(parts) == 3:
            grouped[parts[1]].append(parts[2])
        else:
            grouped[cell] = []
    return tuple(f"{d} ({', '.join(sorted(ops, key=lambda o: order.get(o, 99)))})" if ops else d
                 for d, ops in sorted(grouped.items()))


class _Matrix:
    """Index of users and DocTypes, and one compact string of op outcomes per DocType."""

    def __init__(self, results: RunResults) -> None:
        users = [u.name for u in results.users]
        for row in results.probes:
            if row.user not in users:
                users.append(row.user)
        doctypes = sorted({*results.doctypes, *(r.doctype for r in results.probes)})
        self.users = tuple(users)
        self.doctypes = tuple(doctypes)
        self.u_index = {u: i for i, u in enumerate(self.users)}
        self.d_index = {d: i for i, d in enumerate(self.doctypes)}
        self.o_index = {op.value: i for i, op in enumerate(OPS)}
        width = len(OPS)
        grid = [["-"] * (len(self.users) * width) for _ in self.doctypes]
        present: set[tuple[int, int]] = set()
        for row in results.probes:
            u, d = self.u_index[row.user], self.d_index[row.doctype]
            grid[d][u * width + self.o_index[row.op.value]] = OUTCOME_CODE[row.outcome]
            present.add((u, d))
        self.present = present
        self.rows = ["".join(r) for r in grid]

    def anchor(self, key: str) -> Cell | None:
        parts = key.split("|")
        if len(parts) != 3:
            return None
        user, doctype, op = parts
        u, d = self.u_index.get(user), self.d_index.get(doctype)
        if u is None or d is None or (u, d) not in self.present:
            return None
        return Cell(key=key, anchor=f"c-{u}-{d}", label=clean(f"{user} · {doctype} · {op}"))

    def as_json(self, results: RunResults, sensitive: frozenset[str]) -> dict[str, Any]:
        info = results.doctypes
        return {
            "ops": [op.value for op in OPS],
            "glyphs": {k: list(v) for k, v in GLYPHS.items()},
            "users": [clean(u) for u in self.users],
            "doctypes": [[clean(d), clean(info[d].module if d in info else ""),
                          1 if d in sensitive else 0] for d in self.doctypes],
            "present": sorted(u * len(self.doctypes) + d for u, d in self.present)
            if len(self.present) != len(self.users) * len(self.doctypes) else None,
            "rows": self.rows,
        }


def _finding_views(results: RunResults, matrix: _Matrix) -> tuple[FindingView, ...]:
    views = []
    for f in results.findings:
        cells: list[Cell] = []
        other: list[str] = []
        for key in f.evidence:
            cell = matrix.anchor(key)
            if cell is not None:
                cells.append(cell)
            else:
                other.append(clean(key))
        shown = cells[:EVIDENCE_LINKS]
        more = len(cells) - len(shown) + max(len(other) - EVIDENCE_LINKS, 0)
        views.append(FindingView(finding=f, why=WHY.get(f.rule, ""), cells=tuple(shown),
                                 other_evidence=tuple(other[:EVIDENCE_LINKS]), more=more))
    return tuple(views)


def _compact_or_none(cells: tuple[str, ...] | None) -> tuple[str, ...] | None:
    return None if cells is None else compact_cells(cells)


def _changes(changes: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """'+u|Customer|read', '-u|Item|write' -> ('gained Customer (read)', 'lost Item (write)')."""
    if changes is None:
        return None
    gained = compact_cells(c[1:] for c in changes if c.startswith("+"))
    lost = compact_cells(c[1:] for c in changes if c.startswith("-"))
    other = tuple(c for c in changes if not c.startswith(("+", "-")))
    return (*(f"gained {c}" for c in gained), *(f"lost {c}" for c in lost), *other)


def _need(record: UserRecord, by_cell: Mapping[str, ProbeResult]) -> tuple[NeedLine, ...] | None:
    if record.expect is None:
        return None
    lines = []
    for doctype, ops in sorted(record.expect.items()):
        for op in ops:
            row = by_cell.get(cell_key(record.name, doctype, op))
            lines.append(NeedLine(doctype=clean(doctype), op=clean(op),
                                  outcome=row.outcome.value if row else "not probed"))
    return tuple(lines)


def _beyond_need(record: UserRecord, rows: Sequence[ProbeResult]) -> tuple[str, ...] | None:
    if record.expect is None:
        return None
    out = []
    for row in rows:
        if row.outcome is Outcome.ALLOWED and row.op.value not in record.expect.get(row.doctype,
                                                                                   ()):
            out.append(cell_key(row.user, row.doctype, row.op.value))
    return tuple(out)


def _sheets(results: RunResults, sensitive: frozenset[str]) -> tuple[SheetView, ...]:
    by_user: dict[str, list[ProbeResult]] = defaultdict(list)
    by_cell: dict[str, ProbeResult] = {}
    for row in results.probes:
        by_user[row.user].append(row)
        by_cell[cell_key(*row.key)] = row
    findings: dict[str, list[Finding]] = defaultdict(list)
    for f in results.findings:
        findings[f.user].append(f)
    sheets = []
    for i, record in enumerate(results.users):
        rows = by_user.get(record.name, [])
        summary = _user_summary(results, record.name)
        own_sensitive = _strings(summary.get("sensitive"))
        if own_sensitive is None:
            own_sensitive = tuple(cell_key(*r.key) for r in rows
                                  if r.outcome is Outcome.ALLOWED and r.doctype in sensitive)
        beyond = _strings(summary.get("beyond_need"))
        sheets.append(SheetView(
            user=record, anchor=f"sheet-{i}",
            counts=Counter(r.outcome.value for r in rows),
            sensitive=compact_cells(own_sensitive),
            need=_need(record, by_cell),
            beyond_need=compact_cells(beyond if beyond is not None
                                      else _beyond_need(record, rows) or ())
            if record.expect is not None or beyond is not None else None,
            unused=_compact_or_none(_strings(summary.get("unused"))),
            minimal_roles=_strings(summary.get("minimal_roles")),
            minimal_removes=compact_cells(_strings(summary.get("minimal_roles_removes")) or ()),
            changes=_changes(_strings(summary.get("changes"))),
            findings=tuple(findings.get(record.name, ())),
        ))
    return tuple(sheets)


def _hint_groups(results: RunResults) -> tuple[HintGroup, ...]:
    """Every 401 / 403 / 429 the run saw (rows and their attempts), grouped by its hint."""
    groups: dict[tuple[int | None, str, str], list[tuple[str, str, str, str, str]]] = (
        defaultdict(list))
    hints: dict[tuple[int | None, str, str], Hint | None] = {}
    for row in results.probes:
        seen: list[tuple[int | None, str, str, str]] = [
            (row.http_status, row.exc_type, row.message, row.target)]
        seen += [(a.http_status, a.exc_type, a.message, a.target) for a in row.attempts]
        for status, exc_type, message, target in dict.fromkeys(seen):
            if status not in HINT_STATUSES or status is None:
                continue
            hint = hint_for(status, exc_type, message)
            key: tuple[int | None, str, str] = (status, exc_type, hint.cause if hint else "")
            hints.setdefault(key, hint)
            groups[key].append((row.user, row.doctype, row.op.value, target, message))
    for user in results.users:  # their cells sent nothing: the classified cause is the record
        if user.auth_failure:
            key = (None, "", "")
            hints.setdefault(key, None)
            groups[key].append((user.name, "", "", "", user.auth_failure))
    out = []
    for group, examples in sorted(groups.items(), key=lambda kv: (kv[0][0] or 0, -len(kv[1]))):
        shown = tuple((clean(user), clean(doctype), op,
                       clean(redact.REDACTOR.name(doctype, document))[:200], clean(message)[:300])
                      for user, doctype, op, document, message in examples[:EXAMPLES_PER_GROUP])
        out.append(HintGroup(status=group[0], exc_type=clean(group[1]), hint=hints[group],
                             count=len(examples),
                             users=tuple(sorted({clean(e[0]) for e in examples})),
                             examples=shown))
    return tuple(out)


def _coverage(results: RunResults) -> tuple[tuple[str, int], ...]:
    reasons: Counter[str] = Counter()
    for row in results.probes:
        if row.outcome in (Outcome.ERROR, Outcome.UNTESTABLE, Outcome.SKIPPED,
                           Outcome.AUTH_FAILED):
            reasons[f"{row.outcome.value}: {clean(row.reason or row.message or 'no reason given')}"
                    [:300]] += 1
    return tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


def learn_secret_names(results: RunResults) -> None:
    """Every name of a secret-bearing document the record holds is redacted wherever quoted."""
    redact.REDACTOR.learn_inventory(results.inventory)
    secret = redact.REDACTOR.doctypes
    redact.REDACTOR.learn(*{name for row in results.probes if row.doctype in secret
                            for name in (row.target, *(a.target for a in row.attempts))
                            if name})


def build_view(results: RunResults) -> ReportView:
    learn_secret_names(results)
    sensitive = sensitive_doctypes(results)
    matrix = _Matrix(results)
    by_severity = Counter(f.severity.value for f in results.findings)
    drift = _summary(results).get("drift")
    modules = sorted({clean(results.doctypes[d].module) for d in matrix.doctypes
                      if d in results.doctypes and results.doctypes[d].module})
    return ReportView(
        results=results, users=matrix.users, doctypes=matrix.doctypes,
        outcome_counts={o.value: n for o, n in
                        Counter(r.outcome for r in results.probes).items()},
        by_severity={s.value: by_severity.get(s.value, 0) for s in reversed(Severity)},
        findings=_finding_views(results, matrix),
        sheets=_sheets(results, sensitive),
        hints=_hint_groups(results),
        coverage=_coverage(results),
        drift=drift if isinstance(drift, Mapping) else None,
        matrix=matrix.as_json(results, sensitive),
        modules=tuple(modules),
        cells_probed=len(results.probes),
    )
