"""What analysis gives the renderers and the CLI: options in, findings and a summary out.

``analyse(results, options)`` returns the same ``RunResults`` with ``findings`` and
``analysis`` filled. ``analysis`` is plain JSON (it is stored in results.json) shaped by
the TypedDicts below, so renderers and ``diff`` read it without importing pandas.
Cells are written ``"user|doctype|op"`` everywhere (``cell_key``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypedDict

from audit.model import Severity


def cell_key(user: str, doctype: str, op: str) -> str:
    return f"{user}|{doctype}|{op}"


@dataclass(frozen=True)
class Suppression:
    """One entry of ``--suppressions FILE``: a finding id, or a rule (+ user), until a date."""

    reason: str
    expires: date | None
    id: str = ""
    rule: str = ""
    user: str = ""


@dataclass(frozen=True)
class AnalysisOptions:
    fail_on: Severity | None = Severity.HIGH  # None: never fail
    usage_days: int = 90
    sod_rules: Path | None = None  # extra rule pack beside the shipped one
    suppressions: tuple[Suppression, ...] = ()
    severity_overrides: Mapping[str, Severity] = field(default_factory=dict)  # rule -> lower
    unjudged_threshold: float = 0.05  # share of untestable cells that makes cells-unjudged
    today: date | None = None  # for suppression expiry; None: today's date


class UserSummary(TypedDict, total=False):
    allowed: int
    sensitive: list[str]  # cells
    beyond_need: list[str]
    need_denied: list[str]
    unused: list[str]  # mutating cells granted and not used in the window
    unused_unknown: list[str]  # read cells: use is not recorded, never "unused"
    minimal_roles: list[str]
    minimal_roles_removes: list[str]  # cells the minimal role set would no longer grant
    minimal_roles_method: str  # "greedy set cover"
    changes: list[str]  # drift: "+cell" / "-cell" against the baseline


class Drift(TypedDict, total=False):
    baseline: str  # path or run id of the baseline
    gained: list[str]  # cells denied before, allowed now
    lost: list[str]
    users_added: list[str]
    users_removed: list[str]
    findings_new: list[str]  # finding ids
    findings_unchanged: list[str]
    findings_resolved: list[str]


class AnalysisSummary(TypedDict, total=False):
    outcomes: dict[str, int]  # outcome word -> number of cells
    findings_by_severity: dict[str, int]
    users: dict[str, UserSummary]
    drift: Drift
    suppressed: list[str]  # finding ids suppressed by a live entry
    expired_suppressions: list[str]  # entries past their expiry (they no longer suppress)
    notes: list[str]
    modules: dict[str, int]  # module -> allowed cells in it
