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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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


class Cleaner:
    """:func:`clean`, once per distinct text (a 1,000,000-row page repeats the same few
    thousand). Valid while the redactor learns nothing: make one per page, after
    :func:`learn_secret_names`, and none of its texts is cleaned with less than that."""

    PRIME_BATCH = 2_000  # texts scanned at a time by prime(): a batch holding a secret
    # is cleaned text by text, so a smaller one costs less then, and as much otherwise

    def __init__(self) -> None:
        self._done: dict[str, str] = {}
        self._redact = redact.REDACTOR.frozen()  # the writers' memo: their texts are done
        # the same snapshot, or a later one that finds no less: "unchanged" by it holds
        self._unchanged = redact.REDACTOR.unchanged()

    def prime(self, texts: Iterable[object]) -> None:
        """Clean many texts ahead, by batch: a batch the redactor leaves as it is and that
        holds no control character is its own cleaned form, told by a few C-level scans of
        it (a page of 50,000 findings holds some 250,000 distinct texts, each else cleaned
        on its own); any other is left to be cleaned text by text when it is shown."""
        done = self._done
        fresh = [t for t in dict.fromkeys(texts) if type(t) is str and t not in done]
        for start in range(0, len(fresh), self.PRIME_BATCH):
            batch = fresh[start:start + self.PRIME_BATCH]
            if _CONTROL.search("".join(batch)) is None and self._unchanged(batch):
                done.update(zip(batch, batch, strict=True))

    def __call__(self, value: object) -> str:
        text = "" if value is None else str(value)
        done = self._done.get(text)
        if done is None:
            done = self._done[text] = _CONTROL.sub("\ufffd", self._redact(text))
        return done


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
    clean: Callable[[object], str]  # clean() as this page's view applied it (memoized)


def _summary(results: RunResults) -> Mapping[str, Any]:
    return results.analysis if isinstance(results.analysis, Mapping) else {}


def _user_summary(results: RunResults, user: str) -> Mapping[str, Any]:
    users = _summary(results).get("users")
    if isinstance(users, Mapping):
        entry = users.get(user)
        if isinstance(entry, Mapping):
            return entry
    return {}


def _strings(value: Any, cl: Callable[[object], str] = clean) -> tuple[str, ...] | None:
    if isinstance(value, list | tuple):
        return tuple(map(cl, value))
    return None


def sensitive_doctypes(results: RunResults,
                       cl: Callable[[object], str] = clean) -> frozenset[str]:
    """The catalogue of security-relevant DocTypes plus any that analysis called sensitive."""
    names = set(SENSITIVE_DOCTYPES)
    for user in results.users:
        for cell in _strings(_user_summary(results, user.name).get("sensitive"), cl) or ():
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


_OP_INDEX: dict[Operation, int] = {op: i for i, op in enumerate(OPS)}
_CODE_OUTCOME: dict[str, str] = {code: outcome.value for outcome, code in OUTCOME_CODE.items()}
_UNJUDGED = (Outcome.ERROR, Outcome.UNTESTABLE, Outcome.SKIPPED, Outcome.AUTH_FAILED)


@dataclass
class _Replies:
    """The 401 / 403 / 429 replies of one (status, exc_type, message), as they were counted."""

    count: int = 0
    users: set[str] = field(default_factory=set)
    # the first EXAMPLES_PER_GROUP: (order among all kept examples, user, doctype, op,
    # document, message)
    examples: list[tuple[int, str, str, Operation, str, str]] = field(default_factory=list)


class _Scan:
    """One pass over the probe rows for everything the page counts.

    At 1,000,000 rows every step per row costs: one loop reads each row once and keeps no
    object per row (the heatmap's letters, the outcome counts of each user, the replies of
    each distinct (status, exc_type, message), the unjudged cells' reasons, the names of
    secret-bearing documents). Nothing is cleaned here: the names it finds are learned
    first.
    """

    def __init__(self, results: RunResults, secret: frozenset[str]) -> None:
        users = [u.name for u in results.users]
        u_index = {u: i for i, u in enumerate(users)}
        width = len(OPS)
        lines: dict[str, list[str]] = {}  # doctype -> one letter per (user, op)
        counts: list[dict[Outcome, int]] = [{} for _ in users]
        seen: dict[Outcome, None] = {}  # the order outcomes first appeared in
        replies: dict[tuple[int | None, str, str], _Replies] = {}
        reasons: Counter[tuple[Outcome, str]] = Counter()
        names: list[str] = []
        hint_statuses, code, op_index = HINT_STATUSES, OUTCOME_CODE, _OP_INDEX
        last_user: str | None = None
        last_doctype: str | None = None
        line: list[str] = []
        tally: dict[Outcome, int] = {}
        base, is_secret = 0, False
        last_key: tuple[int | None, str, str] = (None, "", "")  # no reply has status None here
        replied = _Replies()
        self._order = 0
        for row in results.probes:
            user, doctype = row.user, row.doctype
            if user != last_user or doctype != last_doctype:
                u = u_index.get(user)
                if u is None:  # a row of a user the record does not list
                    u = u_index[user] = len(users)
                    users.append(user)
                    counts.append({})
                    for other in lines.values():
                        other.extend("-" * width)
                found = lines.get(doctype)
                if found is None:
                    found = lines[doctype] = ["-"] * (width * len(users))
                line, tally, base = found, counts[u], u * width
                is_secret = doctype in secret
                last_user, last_doctype = user, doctype
            outcome = row.outcome
            line[base + op_index[row.op]] = code[outcome]
            n = tally.get(outcome)
            if n is None:
                tally[outcome] = 1
                seen.setdefault(outcome)
            else:
                tally[outcome] = n + 1
            if outcome in _UNJUDGED:
                reasons[(outcome, row.reason or row.message or "no reason given")] += 1
            attempts = row.attempts
            if is_secret:
                names += [name for name in (row.target, *(a.target for a in attempts)) if name]
            status = row.http_status
            if attempts:
                first = attempts[0]
                if len(attempts) > 1 or (first.http_status in hint_statuses and not (
                        first.http_status == status and first.exc_type == row.exc_type
                        and first.message == row.message and first.target == row.target)):
                    self._replies(replies, row)
                    continue
            if status in hint_statuses:  # self._reply, inlined: most rows are refusals
                message, exc_type = row.message, row.exc_type
                if status != last_key[0] or exc_type != last_key[1] or message != last_key[2]:
                    last_key = (status, exc_type, message)
                    known = replies.get(last_key)
                    if known is None:
                        known = replies[last_key] = _Replies()
                    replied = known
                replied.count += 1
                replied.users.add(user)
                if replied.count <= EXAMPLES_PER_GROUP:
                    replied.examples.append((self._order, user, doctype, row.op, row.target,
                                             message))
                    self._order += 1
        self.users = users
        self.u_index = u_index
        self.lines = lines
        self.counts = counts
        self.outcomes = seen
        self.replies = replies
        self.reasons = reasons
        self.secret_names = names

    def _replies(self, replies: dict[tuple[int | None, str, str], _Replies],
                 row: ProbeResult) -> None:
        """The replies of a row with more than its own: each distinct one once."""
        seen: list[tuple[int | None, str, str, str]] = [
            (row.http_status, row.exc_type, row.message, row.target)]
        seen += [(a.http_status, a.exc_type, a.message, a.target) for a in row.attempts]
        for status, exc_type, message, target in dict.fromkeys(seen):
            if status in HINT_STATUSES:
                self._reply(replies, row, status, exc_type, message, target)

    def _reply(self, replies: dict[tuple[int | None, str, str], _Replies], row: ProbeResult,
               status: int | None, exc_type: str, message: str, target: str) -> None:
        key = (status, exc_type, message)
        tally = replies.get(key)
        if tally is None:
            tally = replies[key] = _Replies()
        tally.count += 1
        tally.users.add(row.user)
        if tally.count <= EXAMPLES_PER_GROUP:
            tally.examples.append((self._order, row.user, row.doctype, row.op, target, message))
            self._order += 1

    def outcome_counts(self) -> dict[str, int]:
        return {o.value: sum(c.get(o, 0) for c in self.counts) for o in self.outcomes}

    def user_counts(self, user: str) -> dict[str, int]:
        return {o.value: n for o, n in self.counts[self.u_index[user]].items()}


class _Matrix:
    """Index of users and DocTypes, and one compact string of op outcomes per DocType."""

    def __init__(self, results: RunResults, scan: _Scan) -> None:
        self.users = tuple(scan.users)
        self.doctypes = tuple(sorted({*results.doctypes, *scan.lines}))
        self.u_index = scan.u_index
        self.d_index = {d: i for i, d in enumerate(self.doctypes)}
        self.o_index = {op.value: i for i, op in enumerate(OPS)}
        width = len(OPS)
        empty = "-" * (width * len(self.users))
        self.rows = ["".join(scan.lines[d]) if d in scan.lines else empty
                     for d in self.doctypes]
        # a (user, DocType) cell is present when a row named it: every row sets a letter
        n_doctypes, n_users = len(self.doctypes), len(self.users)
        present: set[int] | None = None  # None: every cell
        blank = "-" * width
        for d, row in enumerate(self.rows):
            if "-" not in row:
                continue
            if present is None:
                present = {u * n_doctypes + d2 for d2 in range(d) for u in range(n_users)}
            present.update(u * n_doctypes + d for u in range(n_users)
                           if row[u * width:(u + 1) * width] != blank)
        self.present = present
        self._anchors: dict[str, Cell | None] = {}

    def code(self, user: str, doctype: str, op: str) -> str:
        """The letter of one (user, DocType, op) ("-": no row)."""
        u, d, o = self.u_index.get(user), self.d_index.get(doctype), self.o_index.get(op)
        if u is None or d is None or o is None:
            return "-"
        return self.rows[d][u * len(OPS) + o]

    def anchor(self, key: str, cl: Callable[[object], str] = clean) -> Cell | None:
        if key in self._anchors:
            return self._anchors[key]
        parts = key.split("|")
        cell = None
        if len(parts) == 3:
            user, doctype, op = parts
            u, d = self.u_index.get(user), self.d_index.get(doctype)
            if u is not None and d is not None and (
                    self.present is None or u * len(self.doctypes) + d in self.present):
                cell = Cell(key=key, anchor=f"c-{u}-{d}", label=cl(f"{user} · {doctype} · {op}"))
        self._anchors[key] = cell
        return cell

    def as_json(self, results: RunResults, sensitive: frozenset[str],
                cl: Callable[[object], str] = clean) -> dict[str, Any]:
        info = results.doctypes
        return {
            "ops": [op.value for op in OPS],
            "glyphs": {k: list(v) for k, v in GLYPHS.items()},
            "users": [cl(u) for u in self.users],
            "doctypes": [[cl(d), cl(info[d].module if d in info else ""),
                          1 if d in sensitive else 0] for d in self.doctypes],
            "present": sorted(self.present) if self.present is not None
            and len(self.present) != len(self.users) * len(self.doctypes) else None,
            "rows": self.rows,
        }


def _finding_views(results: RunResults, matrix: _Matrix,
                   cl: Callable[[object], str]) -> tuple[FindingView, ...]:
    views = []
    anchor = matrix.anchor
    for f in results.findings:
        cells: list[Cell] = []
        other: list[str] = []
        for key in f.evidence:
            cell = anchor(key, cl)
            if cell is not None:
                cells.append(cell)
            else:
                other.append(cl(key))
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


def _need(record: UserRecord, outcome_of: Callable[[str, str, str], str],
          cl: Callable[[object], str]) -> tuple[NeedLine, ...] | None:
    if record.expect is None:
        return None
    lines = []
    for doctype, ops in sorted(record.expect.items()):
        for op in ops:
            lines.append(NeedLine(doctype=cl(doctype), op=cl(op),
                                  outcome=outcome_of(record.name, doctype, op)))
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


def _outcome_of(results: RunResults, matrix: _Matrix) -> Callable[[str, str, str], str]:
    """What the site answered for one cell ("not probed": no row), the last row's word.

    Read from the heatmap's letters when no name holds a "|" (then a cell key names one
    cell); else from the rows by their cell keys, as probes.csv names them."""
    if not any("|" in name for name in (*matrix.users, *matrix.doctypes)):
        def from_matrix(user: str, doctype: str, op: str) -> str:
            found = matrix.code(user, doctype, op)
            return "not probed" if found == "-" else _CODE_OUTCOME[found]
        return from_matrix
    by_cell = {cell_key(*row.key): row for row in results.probes}

    def from_rows(user: str, doctype: str, op: str) -> str:
        row = by_cell.get(cell_key(user, doctype, op))
        return row.outcome.value if row else "not probed"
    return from_rows


def _sheets(results: RunResults, sensitive: frozenset[str], scan: _Scan, matrix: _Matrix,
            cl: Callable[[object], str]) -> tuple[SheetView, ...]:
    by_user: dict[str, list[ProbeResult]] | None = None

    def rows_of(user: str) -> list[ProbeResult]:  # only a record analysis did not summarise
        nonlocal by_user
        if by_user is None:
            by_user = defaultdict(list)
            for row in results.probes:
                by_user[row.user].append(row)
        return by_user.get(user, [])

    outcome_of = _outcome_of(results, matrix) if any(
        u.expect is not None for u in results.users) else None
    findings: dict[str, list[Finding]] = defaultdict(list)
    for f in results.findings:
        findings[f.user].append(f)
    sheets = []
    for i, record in enumerate(results.users):
        summary = _user_summary(results, record.name)
        own_sensitive = _strings(summary.get("sensitive"), cl)
        if own_sensitive is None:
            own_sensitive = tuple(cell_key(*r.key) for r in rows_of(record.name)
                                  if r.outcome is Outcome.ALLOWED and r.doctype in sensitive)
        beyond = _strings(summary.get("beyond_need"), cl)
        if beyond is None and record.expect is not None:
            beyond = _beyond_need(record, rows_of(record.name))
        sheets.append(SheetView(
            user=record, anchor=f"sheet-{i}",
            counts=scan.user_counts(record.name),
            sensitive=compact_cells(own_sensitive),
            need=_need(record, outcome_of, cl) if outcome_of is not None else None,
            beyond_need=compact_cells(beyond or ())
            if record.expect is not None or beyond is not None else None,
            unused=_compact_or_none(_strings(summary.get("unused"), cl)),
            minimal_roles=_strings(summary.get("minimal_roles"), cl),
            minimal_removes=compact_cells(_strings(summary.get("minimal_roles_removes"), cl)
                                          or ()),
            changes=_changes(_strings(summary.get("changes"), cl)),
            findings=tuple(findings.get(record.name, ())),
        ))
    return tuple(sheets)


_Example = tuple[str, str, str, str, str]  # user, doctype, op, document, message


def _reply_groups(results: RunResults, scan: _Scan) -> list[
        tuple[tuple[int | None, str, str], Hint | None, int, set[str], list[_Example]]]:
    """Every 401 / 403 / 429 the run saw (rows and their attempts), grouped by its hint:
    (status, exc_type, cause), hint, replies, users, the first examples (raw; the secret
    documents' names already fingerprinted)."""
    hints: dict[tuple[int | None, str, str], Hint | None] = {}
    tallies: dict[tuple[int | None, str, str], list[_Replies]] = defaultdict(list)
    for (status, exc_type, message), tally in scan.replies.items():  # in order of first sight
        hint = hint_for(status, exc_type, message)
        key: tuple[int | None, str, str] = (status, exc_type, hint.cause if hint else "")
        hints.setdefault(key, hint)
        tallies[key].append(tally)
    groups = []
    for key, found in tallies.items():
        examples = sorted((e for t in found for e in t.examples),
                          key=lambda e: e[0])[:EXAMPLES_PER_GROUP]
        groups.append((key, hints[key], sum(t.count for t in found),
                       set().union(*(t.users for t in found)),
                       [(user, doctype, op.value, redact.REDACTOR.name(doctype, document),
                         message) for _, user, doctype, op, document, message in examples]))
    failed = [user for user in results.users if user.auth_failure]
    if failed:  # their cells sent nothing: the classified cause is the record
        groups.append(((None, "", ""), None, len(failed), {u.name for u in failed},
                       [(u.name, "", "", "", u.auth_failure)
                        for u in failed[:EXAMPLES_PER_GROUP]]))
    return groups


def _hint_groups(groups: list[tuple[tuple[int | None, str, str], Hint | None, int, set[str],
                                    list[_Example]]],
                 cl: Callable[[object], str]) -> tuple[HintGroup, ...]:
    out = []
    for group, hint, count, users, examples in sorted(
            groups, key=lambda g: (g[0][0] or 0, -g[2])):
        shown = tuple((cl(user), cl(doctype), op, cl(document)[:200], cl(message)[:300])
                      for user, doctype, op, document, message in examples)
        out.append(HintGroup(status=group[0], exc_type=cl(group[1]), hint=hint, count=count,
                             users=tuple(sorted({cl(u) for u in users})), examples=shown))
    return tuple(out)


def _coverage(scan: _Scan, cl: Callable[[object], str]) -> tuple[tuple[str, int], ...]:
    reasons: Counter[str] = Counter()
    for (outcome, reason), n in scan.reasons.items():
        reasons[f"{outcome.value}: {cl(reason)}"[:300]] += n
    return tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


def learn_secret_names(results: RunResults) -> None:
    """Every name of a secret-bearing document the record holds is redacted wherever quoted."""
    redact.REDACTOR.learn_inventory(results.inventory)
    redact.REDACTOR.learn_probes(results.probes)


def build_view(results: RunResults) -> ReportView:
    # learn_secret_names, with the names found by the one pass over the rows
    redact.REDACTOR.learn_inventory(results.inventory)
    scan = _Scan(results, redact.REDACTOR.doctypes)
    redact.REDACTOR.learn(*set(scan.secret_names))
    replies = _reply_groups(results, scan)
    cl = Cleaner()  # from here on nothing is learned
    cl.prime(text for f in results.findings for text in (
        f.id, f.rule, f.user, f.doctype, f.op, f.detail, f.recommendation, *f.evidence))
    sensitive = sensitive_doctypes(results, cl)
    matrix = _Matrix(results, scan)
    by_severity = Counter(f.severity.value for f in results.findings)
    drift = _summary(results).get("drift")
    modules = sorted({cl(results.doctypes[d].module) for d in matrix.doctypes
                      if d in results.doctypes and results.doctypes[d].module})
    return ReportView(
        results=results, users=matrix.users, doctypes=matrix.doctypes,
        outcome_counts=scan.outcome_counts(),
        by_severity={s.value: by_severity.get(s.value, 0) for s in reversed(Severity)},
        findings=_finding_views(results, matrix, cl),
        sheets=_sheets(results, sensitive, scan, matrix, cl),
        hints=_hint_groups(replies, cl),
        coverage=_coverage(scan, cl),
        drift=drift if isinstance(drift, Mapping) else None,
        matrix=matrix.as_json(results, sensitive, cl),
        modules=tuple(modules),
        cells_probed=len(results.probes),
        clean=cl,
    )
