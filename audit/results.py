"""The files every run writes: ``probes.csv`` and ``results.json`` (DESIGN.md)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit import __version__
from audit.inventory import Inventory
from audit.model import PROBE_COLUMNS, ProbeResult

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class UserRecord:
    """One configured user as results.json describes it (no secret, ever)."""

    name: str
    auth: str
    frappe_user: str | None
    roles: tuple[str, ...] = ()
    user_type: str = ""
    enabled: bool | None = None
    has_api_key: bool | None = None
    auth_failure: str = ""
    expect: Mapping[str, tuple[str, ...]] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "auth": self.auth, "frappe_user": self.frappe_user,
            "roles": list(self.roles), "user_type": self.user_type, "enabled": self.enabled,
            "has_api_key": self.has_api_key, "auth_failure": self.auth_failure,
            "expect": None if self.expect is None else {k: list(v) for k, v in self.expect.items()},
        }


@dataclass(frozen=True)
class RunInfo:
    site: str
    host: str | None
    mode: str
    started: str
    finished: str
    complete: bool
    discovery: str
    notes: tuple[str, ...] = field(default_factory=tuple)


def write_probes_csv(path: Path, rows: Sequence[ProbeResult]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(PROBE_COLUMNS))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.as_row().items()})
    os.replace(tmp, path)


def results_document(info: RunInfo, users: Sequence[UserRecord], rows: Sequence[ProbeResult],
                     inventory: Inventory | None) -> dict[str, Any]:
    doctypes = inventory.doctypes if inventory else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "permaudit", "version": __version__},
        "run": {
            "site": info.site, "host": info.host, "mode": info.mode, "started": info.started,
            "finished": info.finished, "complete": info.complete, "discovery": info.discovery,
            "notes": list(info.notes),
        },
        "users": {u.name: u.as_json() for u in users},
        "doctypes": {
            name: {"module": d.module, "istable": d.istable, "issingle": d.issingle,
                   "is_submittable": d.is_submittable, "custom": d.custom,
                   "autoname": d.autoname}
            for name, d in sorted(doctypes.items())
        },
        "probes": [r.as_row() for r in rows],
    }


def write_results_json(path: Path, document: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
