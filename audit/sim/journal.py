"""The journal of document changes and the per-request transaction that feeds it.

Only successful changes to documents are journaled; sessions, login bookkeeping (Activity
Log), tokens and counters are not. A request that fails rolls its changes back, as Frappe's
database transaction does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class JournalEntry:
    action: str  # "insert" | "update" | "delete"
    doctype: str
    name: str
    user: str
    at: float  # epoch seconds


class Journal(list[JournalEntry]):
    """A thread-safe, append-only list of :class:`JournalEntry`."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def record(self, entries: list[JournalEntry]) -> None:
        with self._lock:
            self.extend(entries)

    def changes(self, doctype: str | None = None) -> list[JournalEntry]:
        with self._lock:
            return [e for e in self if doctype is None or e.doctype == doctype]


@dataclass
class Transaction:
    """Undo log of one request: ``commit`` keeps the changes, ``rollback`` reverts them."""

    user: str = "Guest"
    undo: list[Callable[[], object]] = field(default_factory=list)
    pending: list[JournalEntry] = field(default_factory=list)
    after_commit: list[Callable[[], object]] = field(default_factory=list)

    def on_rollback(self, fn: Callable[[], object]) -> None:
        self.undo.append(fn)

    def log(self, action: Action, doctype: str, name: str) -> None:
        self.pending.append(JournalEntry(str(action), doctype, str(name), self.user, time.time()))

    def commit(self, journal: Journal) -> None:
        journal.record(self.pending)
        for fn in self.after_commit:
            fn()
        self.pending = []
        self.undo = []
        self.after_commit = []

    def rollback(self) -> None:
        for fn in reversed(self.undo):
            fn()
        self.pending = []
        self.undo = []
        self.after_commit = []
