"""Least-privilege analysis (pandas only here): matrix, findings, drift.

The entry point is :func:`analyse`; :func:`fails` turns its findings into the
``--fail-on`` decision. Rule families: incomplete (auth-failed, cells-unjudged), access
(privileged-role, escalation-path, secret-read, sensitive-access, website-user-data,
disabled-user-key-works, password-login-privileged), need (beyond-need, need-denied,
no-declared-need, unused-grant), sod (sod-conflict), mismatch (rule-mismatch), hygiene
(site-traceback, site-count-leak, plain-http, no-ip-restriction, incident).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Set
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from audit.analysis.interface import AnalysisOptions, AnalysisSummary, UserSummary
from audit.model import Finding, Outcome, Severity
from audit.results.files import gc_paused
from audit.results.record import RunResults

if TYPE_CHECKING:
    import pandas as pd

    from audit.analysis.minimal import RoleSet

__all__ = ["AnalysisOptions", "analyse", "fails"]


def analyse(results: RunResults, options: AnalysisOptions,
            baseline: RunResults | None = None, baseline_source: str = "") -> RunResults:
    """``results`` with its findings and analysis summary filled (the crawl's rows unchanged)."""
    with gc_paused():  # a million rows alive: each automatic collection walks them all
        return _analyse(results, options, baseline, baseline_source)


def _analyse(results: RunResults, options: AnalysisOptions, baseline: RunResults | None,
             baseline_source: str) -> RunResults:
    from audit.analysis import access, hygiene, matrix, minimal, mismatch, need, sod, suppress
    from audit.analysis.catalogue import ESCALATION, SECRET_DOCTYPES, SENSITIVE_DOCTYPES
    from audit.analysis.drift import drift, user_changes
    from audit.analysis.incomplete import incomplete_findings

    frame = matrix.cells(results)
    grant_map = matrix.grant_map(results)
    roles = minimal.minimal_roles(results, frame)
    found: list[Finding] = [*incomplete_findings(results, options, frame),
                            *hygiene.incident_findings(results, options),
                            *access.account_findings(results, options,
                                                     {u: list(r.roles) for u, r in roles.items()})]
    paths = list(access.escalation_findings(results, frame, options))
    found += paths
    found += access.exposure_findings(results, frame, options,
                                      {(f.user, f.doctype) for f in paths})
    found += need.need_findings(results, frame, grant_map, options)
    unused, unknown = need.unused_cells(results, frame)
    found += need.unused_findings(results, unused, options)
    found += sod.sod_findings(frame, options, sod.load_rules(options.sod_rules))
    found += mismatch.mismatch_findings(results, frame, grant_map, options)
    found += hygiene.site_findings(results, options, frame)
    kept, hidden, expired = suppress.apply(found, options.suppressions,
                                           options.today or date.today())
    rank = {s: s.rank for s in Severity}
    findings = tuple(sorted(kept, key=lambda f: (-rank[f.severity], f.rule, f.user, f.doctype,
                                                 f.id)))
    by_severity = Counter(f.severity for f in findings)
    summary: AnalysisSummary = {
        "outcomes": {str(k): int(v) for k, v in
                     frame["outcome"].value_counts().reindex(
                         [o.value for o in Outcome], fill_value=0).items()},
        "findings_by_severity": {s.value: by_severity.get(s, 0) for s in Severity},
        "users": _users(results, frame, findings, roles, unused, unknown,
                        SENSITIVE_DOCTYPES | SECRET_DOCTYPES | set(ESCALATION)),
        "modules": matrix.module_counts(frame),
        "suppressed": hidden, "expired_suppressions": expired,
        "notes": _notes(results, roles),
    }
    if baseline is not None:
        interim = replace(results, findings=findings)
        summary["drift"] = drift(baseline, interim, baseline_source)
        for user, changes in user_changes(summary["drift"]).items():
            summary["users"].setdefault(user, {})["changes"] = changes
    return replace(results, findings=findings, analysis=dict(summary))


def _users(results: RunResults, frame: pd.DataFrame, findings: tuple[Finding, ...],
           roles: Mapping[str, RoleSet], unused: pd.DataFrame, unknown: pd.DataFrame,
           sensitive: Set[str]) -> dict[str, UserSummary]:
    import numpy as np

    from audit.analysis.matrix import allowed
    from audit.analysis.minimal import METHOD
    from audit.analysis.need import per_user_cells

    hits = allowed(frame)
    users = hits["user"].cat
    counts = dict(zip((str(u) for u in users.categories), np.bincount(
        users.codes.to_numpy(), minlength=len(users.categories)).tolist(), strict=True))
    sens = hits[hits["doctype"].isin(sensitive) & ~hits["own_record"]]
    by_rule: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if f.rule in ("beyond-need", "need-denied"):  # the two the summary lists
            by_rule.setdefault((f.user, f.rule), []).extend(
                e for e in f.evidence if e.count("|") == 2)
    sens_cells = per_user_cells(sens)
    unused_cells = per_user_cells(unused) if results.usage is not None else {}
    unknown_cells = per_user_cells(unknown)
    out: dict[str, UserSummary] = {}
    for user in results.users:
        name = user.name
        entry: UserSummary = {
            "allowed": counts.get(name, 0),
            "sensitive": sorted(sens_cells.get(name, [])),
            "beyond_need": by_rule.get((name, "beyond-need"), []),
            "need_denied": by_rule.get((name, "need-denied"), []),
            "unused": sorted(unused_cells.get(name, [])),
            "unused_unknown": sorted(unknown_cells.get(name, [])) if results.usage is not None
            else [],
        }
        role_set = roles.get(name)
        if role_set is not None:
            entry["minimal_roles"] = list(role_set.roles)
            entry["minimal_roles_removes"] = list(role_set.removes)
            entry["minimal_roles_method"] = METHOD
        out[name] = entry
    return out


def _notes(results: RunResults, roles: Mapping[str, RoleSet]) -> list[str]:
    notes = []
    if results.rules is None:
        notes.append("no configured rules were read (no [auditor] account): rule-mismatch and "
                     "minimal role sets are not computed")
    if results.usage is None:
        notes.append("usage evidence was not read (no [auditor] account): unused-grant is not "
                     "computed")
    else:
        notes.append("read use is not recorded by Frappe for REST or API-key traffic: read "
                     "cells are 'unknown', never 'unused'")
    if roles:
        notes.append("minimal role sets: greedy set cover over the site's existing roles "
                     "(within ln(n) of the smallest set, not guaranteed minimal)")
    return notes


def fails(findings: tuple[Finding, ...], fail_on: Severity | None) -> bool:
    """True when a finding is at or above ``fail_on`` (None: never)."""
    if fail_on is None:
        return False
    return any(f.severity.rank >= fail_on.rank for f in findings)
