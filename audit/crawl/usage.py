"""Real use: what each user wrote, created, deleted, submitted and cancelled lately.

Read with the auditor account from the site's own records (SPEC.md §6.4), never by
probing: ``Version`` (who saved, and docstatus 0→1 / 1→2 for submit / cancel),
``Deleted Document`` (who deleted) and every document's ``owner`` / ``modified_by``
(create / write) on the DocTypes where some user holds a mutating right. Activity Log is
not counted: it holds logins, and none at all for API-key or Bearer traffic. Read use is
recorded nowhere for REST traffic, so it is never inferred.

The result is RunResults' ``usage``: config name -> ``"DocType|op"`` -> evidence rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from audit.crawl.discovery import list_rows
from audit.crawl.inventory import Inventory
from audit.http.client import FrappeClient


@dataclass(frozen=True)
class UsageEvidence:
    counts: dict[str, dict[str, int]]
    notes: tuple[str, ...] = field(default_factory=tuple)
    missing: tuple[str, ...] = ()  # DocTypes whose evidence could not be read ("*": all)


def _since(days: int, now: datetime | None) -> str:
    start = (now or datetime.now(UTC)) - timedelta(days=days)
    return start.strftime("%Y-%m-%d %H:%M:%S")


def version_op(data: Any) -> str:
    """The op one Version row records: submit / cancel from docstatus, else write."""
    try:
        diff = json.loads(data) if isinstance(data, str) else data
    except ValueError:
        return "write"
    for change in (diff or {}).get("changed") or () if isinstance(diff, dict) else ():
        if isinstance(change, list) and len(change) == 3 and change[0] == "docstatus":
            if change[1] in (0, "0") and change[2] in (1, "1"):
                return "submit"
            if change[1] in (1, "1") and change[2] in (2, "2"):
                return "cancel"
    return "write"


def collect_usage(client: FrappeClient, inventory: Inventory, users: Mapping[str, str],
                  days: int, doctypes: Iterable[str], now: datetime | None = None
                  ) -> UsageEvidence:
    """``users``: config name -> Frappe user; ``doctypes``: where owner/modified_by count."""
    by_email = {email: name for name, email in users.items() if email}
    counts: dict[str, Counter[str]] = {name: Counter() for name in users}
    notes: list[str] = []
    missing: list[str] = []
    since = _since(days, now)
    emails = sorted(by_email)

    def add(email: Any, doctype: Any, op: str) -> None:
        name = by_email.get(str(email))
        if name is not None and doctype:
            counts[name][f"{doctype}|{op}"] += 1

    def rows(doctype: str, fields: list[str], filters: list[Any], scope: str
             ) -> list[dict[str, Any]]:
        got = list_rows(client, doctype, fields, filters=filters)
        if isinstance(got, list):
            return got
        if scope not in missing:
            missing.append(scope)
            notes.append(f"usage: the auditor could not list {doctype} (HTTP {got.status}); "
                         f"use of {'every DocType' if scope == '*' else doctype} is unknown")
        return []

    recent = [["creation", ">=", since], ["owner", "in", emails]]
    for row in rows("Version", ["ref_doctype", "owner", "data"], recent, "*"):
        add(row.get("owner"), row.get("ref_doctype"), version_op(row.get("data")))
    for row in rows("Deleted Document", ["deleted_doctype", "owner"], recent, "*"):
        add(row.get("owner"), row.get("deleted_doctype"), "delete")
    for doctype in sorted(set(doctypes)):
        info = inventory.doctypes.get(doctype)
        if info is None or info.istable or info.issingle or info.is_virtual:
            continue
        for row in rows(doctype, ["owner"], recent, doctype):
            add(row.get("owner"), doctype, "create")
        changed = [["modified", ">=", since], ["modified_by", "in", emails]]
        for row in rows(doctype, ["modified_by", "creation", "modified"], changed, doctype):
            if row.get("modified") != row.get("creation"):
                add(row.get("modified_by"), doctype, "write")
    return UsageEvidence(counts={n: dict(c) for n, c in counts.items()}, notes=tuple(notes),
                         missing=tuple(missing))
