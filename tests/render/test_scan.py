"""The report's pass over the probe rows, against a row-by-row reading of the same rows.

The page's scan works on whole columns; the reference here reads one row at a time, as the
rules say, and shares nothing with it. Hostile rows: users the record does not list,
cells probed twice (the last row wins), rows whose attempts disagree with the row, refusals
of many kinds, unjudged cells, secret-bearing DocTypes.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from audit.crawl.inventory import DocTypeInfo, Inventory
from audit.model import Attempt, Operation, Outcome, ProbeMethod, ProbeResult
from audit.render.view import _Scan
from audit.results.record import RunInfo, RunResults, UserRecord

LETTER = {"allowed": "a", "denied": "d", "auth_failed": "f", "not_applicable": "n",
          "untestable": "u", "error": "e", "skipped": "s"}
HINTS = (401, 403, 429)
UNJUDGED = ("error", "untestable", "skipped", "auth_failed")


@dataclass
class _Group:
    count: int = 0
    users: set[str] = field(default_factory=set)
    examples: list[tuple[str, str, str, str, str]] = field(default_factory=list)


def reference(results: RunResults, secret: frozenset[str]) -> dict[str, Any]:
    """What the scan must find, read row by row."""
    users = [u.name for u in results.users]
    for row in results.probes:
        if row.user not in users:
            users.append(row.user)
    ops = [op.value for op in Operation]
    lines: dict[str, list[str]] = {}
    counts: dict[str, dict[str, int]] = {u: {} for u in users}
    seen: list[str] = []
    groups: dict[tuple[int | None, str, str], _Group] = {}
    reasons: Counter[tuple[str, str]] = Counter()
    names: list[str] = []

    def reply(row: ProbeResult, status: int | None, exc_type: str, message: str,
              target: str) -> None:
        group = groups.setdefault((status, exc_type, message), _Group())
        group.count += 1
        group.users.add(row.user)
        if len(group.examples) < 12:
            group.examples.append((row.user, row.doctype, row.op.value, target, message))

    for row in results.probes:
        line = lines.setdefault(row.doctype, ["-"] * (len(ops) * len(users)))
        line[users.index(row.user) * len(ops) + ops.index(row.op.value)] = \
            LETTER[row.outcome.value]
        mine = counts[row.user]
        mine[row.outcome.value] = mine.get(row.outcome.value, 0) + 1
        if row.outcome.value not in seen:
            seen.append(row.outcome.value)
        if row.outcome.value in UNJUDGED:
            reasons[(row.outcome.value, row.reason or row.message or "no reason given")] += 1
        if row.doctype in secret:
            names += [n for n in [row.target] + [a.target for a in row.attempts] if n]
        own = (row.http_status, row.exc_type, row.message, row.target)
        tried = [(a.http_status, a.exc_type, a.message, a.target) for a in row.attempts]
        if len(tried) > 1 or (len(tried) == 1 and tried[0][0] in HINTS and tried[0] != own):
            distinct: list[tuple[int | None, str, str, str]] = []
            for one in [own, *tried]:
                if one not in distinct:
                    distinct.append(one)
            for status, exc_type, message, target in distinct:
                if status in HINTS:
                    reply(row, status, exc_type, message, target)
        elif row.http_status in HINTS:
            reply(row, *own)
    return {
        "users": users,
        "lines": {d: "".join(line) for d, line in lines.items()},
        "counts": [list(counts[u].items()) for u in users],
        "outcomes": seen,
        "groups": [(key, g.count, sorted(g.users), g.examples) for key, g in groups.items()],
        "reasons": dict(reasons),
        "names": names,
    }


def observed(results: RunResults, secret: frozenset[str]) -> dict[str, Any]:
    scan = _Scan(results, secret)
    groups = []
    for key, tally in scan.replies.items():
        ordered = sorted(tally.examples, key=lambda e: e[0])
        assert [e[0] for e in ordered] == sorted({e[0] for e in ordered})  # no order twice
        groups.append((key, tally.count, sorted(tally.users),
                       [(u, d, op.value, t, m) for _, u, d, op, t, m in ordered]))
    orders = [e[0] for t in scan.replies.values() for e in t.examples]
    assert len(orders) == len(set(orders))  # one order for every example of the page
    return {
        "users": list(scan.users),
        "lines": {d: "".join(line) for d, line in scan.lines.items()},
        "counts": [[(o.value, n) for o, n in scan.counts[i].items()]
                   for i in range(len(scan.users))],
        "outcomes": [o.value for o in scan.outcomes],
        "groups": groups,
        "reasons": {(o.value, r): n for (o, r), n in scan.reasons.items()},
        "names": list(scan.secret_names),
    }


def _examples_in_page_order(results: RunResults, secret: frozenset[str]) -> list[Any]:
    scan = _Scan(results, secret)
    found = sorted((e for t in scan.replies.values() for e in t.examples), key=lambda e: e[0])
    return [(u, d, op.value, t, m) for _, u, d, op, t, m in found]


def _reference_page_order(results: RunResults, secret: frozenset[str]) -> list[Any]:
    """Every kept example in the order the rows (then each row's attempts) gave them."""
    kept: dict[tuple[int | None, str, str], int] = {}
    out = []
    for row in results.probes:
        own = (row.http_status, row.exc_type, row.message, row.target)
        tried = [(a.http_status, a.exc_type, a.message, a.target) for a in row.attempts]
        if len(tried) > 1 or (len(tried) == 1 and tried[0][0] in HINTS and tried[0] != own):
            events = list(dict.fromkeys([own, *tried]))
        else:
            events = [own]
        for status, exc_type, message, target in events:
            if status in HINTS:
                key = (status, exc_type, message)
                kept[key] = kept.get(key, 0) + 1
                if kept[key] <= 12:
                    out.append((row.user, row.doctype, row.op.value, target, message))
    return out


STATUSES = (None, 200, 401, 403, 403, 403, 404, 417, 429, 500)
MESSAGES = ("", "Insufficient Permission for the document", "Not permitted", "x" * 300,
            "Too Many Requests", "<b>html</b>", "TimestampMismatchError")
EXC = ("", "PermissionError", "AuthenticationError", "DoesNotExistError")


def _attempt(rng: random.Random, target: str) -> Attempt:
    return Attempt(target=rng.choice((target, target + "-2", "", "OTHER")),
                   method=rng.choice(tuple(ProbeMethod)), http_status=rng.choice(STATUSES),
                   exc_type=rng.choice(EXC), message=rng.choice(MESSAGES),
                   note=rng.choice(("", "404: next target")))


def hostile_record(seed: int, rows: int = 3000) -> RunResults:
    rng = random.Random(seed)
    listed = ("alice", "bob", "carol")
    unlisted = ("mallory", "trent")  # rows of users the record does not list
    doctypes = ("Customer", "OAuth Bearer Token", "Item", "User", "Sales Invoice", "Z|pipe")
    probes = []
    for _ in range(rows):
        user = rng.choice(listed + unlisted if rng.random() < 0.2 else listed)
        doctype = rng.choice(doctypes)
        target = rng.choice(("DOC-1", "DOC-2", "", "tok-" + str(rng.randrange(50))))
        status, exc_type, message = (rng.choice(STATUSES), rng.choice(EXC),
                                     rng.choice(MESSAGES))
        shape = rng.random()
        if shape < 0.2:
            attempts: tuple[Attempt, ...] = ()
        elif shape < 0.6:  # the row's own reply, as most rows hold it
            attempts = (Attempt(target=target, method=ProbeMethod.REST, http_status=status,
                                exc_type=exc_type, message=message),)
        else:
            attempts = tuple(_attempt(rng, target) for _ in range(rng.randrange(1, 4)))
        probes.append(ProbeResult(
            user=user, doctype=doctype, op=rng.choice(tuple(Operation)),
            outcome=rng.choice(tuple(Outcome)), method=ProbeMethod.REST, http_status=status,
            exc_type=exc_type, message=message, target=target,
            reason=rng.choice(("", "", "no target document", "mode safe")),
            attempts=attempts))
    info = RunInfo("https://erp.example", None, "safe", "s", "f", True, "auditor")
    inventory = Inventory(source="auditor", doctypes={
        d: DocTypeInfo(name=d, module="Core") for d in doctypes})
    users = tuple(UserRecord(name=u, auth="token", frappe_user=f"{u}@example.com")
                  for u in listed)
    return RunResults(run=info, users=users, inventory=inventory, probes=tuple(probes))


SECRET = frozenset({"OAuth Bearer Token"})


@pytest.mark.parametrize("seed", range(12))
def test_the_scan_finds_what_a_row_by_row_reading_finds(seed: int) -> None:
    results = hostile_record(seed)
    assert observed(results, SECRET) == reference(results, SECRET)


@pytest.mark.parametrize("seed", range(4))
def test_examples_keep_the_order_the_rows_gave_them(seed: int) -> None:
    results = hostile_record(seed, rows=5000)
    assert _examples_in_page_order(results, SECRET) == _reference_page_order(results, SECRET)


def test_a_record_without_rows_or_with_one_row() -> None:
    empty = hostile_record(0, rows=0)
    assert observed(empty, SECRET) == reference(empty, SECRET)
    one = hostile_record(1, rows=1)
    assert observed(one, SECRET) == reference(one, SECRET)

