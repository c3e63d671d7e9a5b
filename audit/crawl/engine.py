"""The crawl engine: every (user, DocType, op) cell, concurrently, resumable.

One client per user (each with a Session per thread), one global rate limiter,
a checkpoint file appended as each cell finishes, and results returned in an
order that never depends on thread timing.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from audit.crawl.discovery import survey
from audit.crawl.inventory import DocTypeInfo, Inventory, Survey
from audit.crawl.plan import owner_matters
from audit.crawl.probes import CellProber, UserContext, now
from audit.http.client import FrappeClient
from audit.model import Operation, Outcome, ProbeResult
from audit.results.files import append_json_line
from audit.results.redact import REDACTOR

T = TypeVar("T")
CellKey = tuple[str, str, str]
OPS: tuple[Operation, ...] = tuple(Operation)


@dataclass(frozen=True)
class Cell:
    user: str
    doctype: str
    op: Operation

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.user, self.doctype, self.op.value)


class Checkpoint:
    """An append-only JSON-lines file of finished work, for ``--resume``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> tuple[dict[CellKey, ProbeResult], dict[tuple[str, str], Survey]]:
        results: dict[CellKey, ProbeResult] = {}
        visible: dict[tuple[str, str], Survey] = {}
        if not self.path.exists():
            return results, visible
        for line in self.path.read_text("utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by the interruption
            if rec.get("kind") == "probe":
                row = ProbeResult.from_json(rec["row"])
                results[row.key] = row
            elif rec.get("kind") == "survey":
                visible[(rec["user"], rec["doctype"])] = Survey.from_json(rec["survey"])
        return results, visible

    def header(self) -> dict[str, Any] | None:
        """The run this checkpoint belongs to (its first line), None when there is none."""
        if not self.path.exists():
            return None
        with self.path.open(encoding="utf-8") as fh:
            first = fh.readline()
        try:
            rec = json.loads(first)
        except json.JSONDecodeError:
            return None
        return rec if isinstance(rec, dict) and rec.get("kind") == "run" else None

    def begin(self, header: dict[str, Any]) -> None:
        """Start a new checkpoint with the run's identity (``--resume`` checks it)."""
        self.path.unlink(missing_ok=True)
        self._append({"kind": "run", **header})  # creates it, 0600

    def _append(self, record: dict[str, Any]) -> None:
        with self._lock:
            append_json_line(self.path, record)  # redacted, 0600

    def probe(self, row: ProbeResult) -> None:
        self._append({"kind": "probe", "row": row.as_json()})

    def survey(self, user: str, doctype: str, seen: Survey) -> None:
        self._append({"kind": "survey", "user": user, "doctype": doctype,
                      "survey": seen.to_json()})


class Progress:
    """A tqdm bar on stderr, only on a terminal and never with --quiet."""

    def __init__(self, total: int, label: str, enabled: bool,
                 status: Callable[[], str] | None = None) -> None:
        self._bar: Any = None
        self._status = status  # the current pace, shown beside the bar
        self._count = 0
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit="probe", file=sys.stderr,
                             leave=False, dynamic_ncols=True)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._count += n
            if self._status is not None and self._count % 20 < n:
                self._bar.set_postfix_str(self._status(), refresh=False)
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class Interrupted(Exception):
    """Ctrl-C during the crawl; what was done is kept in the checkpoint."""


def wait_for_room(room: threading.Semaphore) -> None:
    """Where the calling thread waits for the pool (and where a Ctrl-C lands)."""
    room.acquire()


def run_pool(items: Sequence[T], work: Callable[[T], None], workers: int,
             stop: threading.Event) -> None:
    """Run ``work`` on every item with a bounded pool; Ctrl-C stops cleanly.

    At most ``workers * 4`` items are queued at a time (a semaphore each finished item
    releases, so nothing here grows with the run or scans what is pending). The first
    worker exception surfaces here; KeyboardInterrupt cancels what has not started,
    lets running items finish, then raises :class:`Interrupted`.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="probe")
    queued = max(1, workers) * 4
    room = threading.BoundedSemaphore(queued)
    failures: list[BaseException] = []

    def guarded(item: T) -> None:
        try:
            if not stop.is_set() and not failures:
                work(item)
        except BaseException as exc:
            failures.append(exc)
        finally:
            room.release()

    def check() -> None:
        if failures:
            raise failures[0]

    try:
        for item in items:
            wait_for_room(room)
            check()
            pool.submit(guarded, item)
        for _ in range(queued):  # every slot back: all items done
            wait_for_room(room)
        check()
    except KeyboardInterrupt:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise Interrupted() from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class Crawler:
    def __init__(self, inventory: Inventory, contexts: Sequence[UserContext],
                 prober: CellProber, checkpoint: Checkpoint, workers: int,
                 progress: bool = True, auditor: FrappeClient | None = None,
                 pace: Callable[[], str] | None = None) -> None:
        self.inventory = inventory
        self.auditor = auditor
        self.contexts = {c.name: c for c in contexts}
        self.prober = prober
        self.checkpoint = checkpoint
        self.workers = workers
        self.progress = progress
        self.pace = pace
        self.stop = threading.Event()

    def doctypes(self) -> list[DocTypeInfo]:
        return [self.inventory.doctypes[n] for n in sorted(self.inventory.doctypes)]

    def survey(self, done: dict[tuple[str, str], Survey]) -> None:
        """Each user's documents of each DocType: read evidence and targets."""
        jobs = [(ctx, dt) for ctx in self.contexts.values() for dt in self.doctypes()
                if not (dt.istable or dt.issingle or dt.is_virtual)]
        for ctx, dt in jobs:
            if (ctx.name, dt.name) in done:
                ctx.surveys[dt.name] = done[(ctx.name, dt.name)]
        todo = [(c, d) for c, d in jobs if d.name not in c.surveys]
        bar = Progress(len(todo), "listing", self.progress, self.pace)
        lock = threading.Lock()

        def work(job: tuple[UserContext, DocTypeInfo]) -> None:
            ctx, dt = job
            lost = ctx.client.identity.lost  # e.g. an expired token passive may not refresh
            seen = Survey(own=None, failure_note=lost) if lost else survey(
                dt, ctx.facts, ctx.client, self.auditor, owner_matters(self.inventory, dt))
            # the names it found, even if it failed part-way: a row written before a probe
            # targets one may quote it
            REDACTOR.learn_survey(dt.name, seen)
            with lock:
                ctx.surveys[dt.name] = seen
            if not seen.failure_note:
                self.checkpoint.survey(ctx.name, dt.name, seen)
            bar.advance()

        try:
            run_pool(todo, work, self.workers, self.stop)
        finally:
            bar.close()

    def crawl(self, cells: Iterable[Cell], done: dict[tuple[str, str, str], ProbeResult]
              ) -> dict[tuple[str, str, str], ProbeResult]:
        results: dict[tuple[str, str, str], ProbeResult] = {}
        todo: list[Cell] = []
        for cell in cells:
            if cell.key in done:
                results[cell.key] = done[cell.key]
            else:
                todo.append(cell)
        bar = Progress(len(todo), "probing", self.progress, self.pace)
        lock = threading.Lock()

        def work(cell: Cell) -> None:
            ctx = self.contexts[cell.user]
            dt = self.inventory.doctypes[cell.doctype]
            row = self.prober.probe(ctx, dt, cell.op)
            with lock:
                results[cell.key] = row
            self.checkpoint.probe(row)
            bar.advance()

        try:
            run_pool(todo, work, self.workers, self.stop)
        finally:
            bar.close()
        return results


def auth_failed_rows(user: str, inventory: Inventory, cause: str) -> list[ProbeResult]:
    """Every cell of a user that could not authenticate (no request is sent for them)."""
    at = now()
    rows = []
    for name in sorted(inventory.doctypes):
        dt = inventory.doctypes[name]
        for op in OPS:
            outcome = Outcome.AUTH_FAILED if dt.applicable(op) else Outcome.NOT_APPLICABLE
            rows.append(ProbeResult(user=user, doctype=name, op=op, outcome=outcome,
                                    reason=cause if outcome is Outcome.AUTH_FAILED else "",
                                    at=at))
    return rows


def cells_for(users: Sequence[str], inventory: Inventory) -> list[Cell]:
    return [Cell(u, name, op) for u in users for name in sorted(inventory.doctypes) for op in OPS]


def order_results(rows: Iterable[ProbeResult], users: Sequence[str]) -> list[ProbeResult]:
    rank = {u: i for i, u in enumerate(users)}
    op_rank = {op: i for i, op in enumerate(OPS)}
    return sorted(rows, key=lambda r: (rank.get(r.user, len(rank)), r.user, r.doctype,
                                       op_rank[r.op]))
