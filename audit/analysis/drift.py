"""Drift between two runs: permissions gained and lost, users added and removed, findings
new / unchanged / resolved by their stable id. Reads two ``RunResults`` and nothing else.
"""

from __future__ import annotations

from audit.analysis.interface import Drift, cell_key
from audit.model import Outcome
from audit.results.record import RunResults


def _allowed(results: RunResults) -> set[str]:
    return {cell_key(p.user, p.doctype, p.op.value) for p in results.probes
            if p.outcome is Outcome.ALLOWED}


def drift(baseline: RunResults, current: RunResults, source: str = "") -> Drift:
    old_users = {u.name for u in baseline.users}
    new_users = {u.name for u in current.users}
    both = old_users & new_users
    old, new = _allowed(baseline), _allowed(current)
    in_both = {c for c in old | new if c.split("|", 1)[0] in both}
    old_ids = {f.id for f in baseline.findings}
    new_ids = {f.id for f in current.findings}
    return {
        "baseline": source or baseline.run.started,
        "gained": sorted((new - old) & in_both),
        "lost": sorted((old - new) & in_both),
        "users_added": sorted(new_users - old_users),
        "users_removed": sorted(old_users - new_users),
        "findings_new": sorted(new_ids - old_ids),
        "findings_unchanged": sorted(new_ids & old_ids),
        "findings_resolved": sorted(old_ids - new_ids),
    }


def changed(result: Drift) -> bool:
    return any((result.get("gained"), result.get("lost"), result.get("users_added"),
                result.get("users_removed"), result.get("findings_new"),
                result.get("findings_resolved")))


def user_changes(result: Drift) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for sign, cells in (("+", result.get("gained", [])), ("-", result.get("lost", []))):
        for cell in cells:
            out.setdefault(cell.split("|", 1)[0], []).append(sign + cell)
    return out
