"""Findings about the audit itself: users that could not authenticate, cells left unjudged.

An incomplete run is never a quiet success (DESIGN.md "Exit codes").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from audit.analysis.interface import AnalysisOptions
from audit.model import Finding, Outcome, Severity
from audit.results.record import RunResults

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def finding_id(rule: str, user: str, subject: str = "") -> str:
    """Stable across runs for the same rule, user and subject."""
    digest = hashlib.sha256(f"{rule}\x1f{user}\x1f{subject}".encode()).hexdigest()[:10]
    return f"{rule}:{digest}"


def _severity(rule: str, default: Severity, options: AnalysisOptions) -> Severity:
    """A configured override may only lower a severity, never raise it or hide the finding."""
    override = options.severity_overrides.get(rule)
    if override is None or override.rank > default.rank:
        return default
    return override


def _tallies(frame: pd.DataFrame) -> tuple[dict[str, list[str]], dict[str, int], dict[str, int]]:
    """Per user: its error cells (row order), its untestable and its applicable cells."""
    import numpy as np

    from audit.analysis.matrix import cell_strings, per_user

    outcome = frame["outcome"].cat
    position = {str(c): i for i, c in enumerate(outcome.categories)}
    codes = outcome.codes.to_numpy()
    users = frame["user"].cat
    user_codes = users.codes.to_numpy()
    labels = [str(u) for u in users.categories]

    def count(rows: np.ndarray[Any, np.dtype[np.bool_]]) -> dict[str, int]:
        counts = np.bincount(user_codes[rows], minlength=len(labels)).tolist()
        return {labels[i]: n for i, n in enumerate(counts) if n}

    errors = frame[codes == position[Outcome.ERROR.value]]
    by_user = per_user(errors, cell_strings(errors))
    unjudged = count(codes == position[Outcome.UNTESTABLE.value])
    judged = count(~np.isin(codes, [position[o.value] for o in (
        Outcome.NOT_APPLICABLE, Outcome.SKIPPED, Outcome.AUTH_FAILED)]))
    return by_user, unjudged, judged


def incomplete_findings(results: RunResults, options: AnalysisOptions,
                        frame: pd.DataFrame) -> Iterator[Finding]:
    """auth-failed per user; cells-unjudged from ``frame`` (``matrix.cells(results)``)."""
    for user in results.users:
        if user.auth_failure:
            yield Finding(
                id=finding_id("auth-failed", user.name), rule="auth-failed",
                severity=_severity("auth-failed", Severity.HIGH, options), user=user.name,
                detail=f"{user.name} could not authenticate: {user.auth_failure}",
                evidence=(f"user:{user.name}",),
                recommendation="fix the credential or the account (see check-auth), or remove "
                               "the user from the config")
    by_user: dict[str, list[str]] = {}
    untestable: dict[str, int] = {}
    applicable: dict[str, int] = {}
    if not frame.empty:
        by_user, untestable, applicable = _tallies(frame)
    for name in sorted(set(by_user) | set(untestable)):
        errors = by_user.get(name, [])
        share = untestable.get(name, 0) / max(applicable.get(name, 0), 1)
        if not errors and share <= options.unjudged_threshold:
            continue
        yield Finding(
            id=finding_id("cells-unjudged", name), rule="cells-unjudged",
            severity=_severity("cells-unjudged", Severity.MEDIUM, options), user=name,
            detail=f"{len(errors)} cell(s) left error and {untestable.get(name, 0)} untestable "
                   f"of {applicable.get(name, 0)}: the audit is incomplete there",
            evidence=tuple(errors),
            recommendation="rerun with --resume after the site recovers; add an [auditor] "
                           "account so untestable cells get targets")
