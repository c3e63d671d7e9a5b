"""Least-privilege analysis (pandas only here): matrix, findings, drift.

The entry point is :func:`analyse`; :func:`exit_severity` turns its findings into the
``--fail-on`` decision.
"""

from __future__ import annotations

from audit.analysis.incomplete import incomplete_findings
from audit.analysis.interface import AnalysisOptions, AnalysisSummary
from audit.model import Finding, Outcome, Severity
from audit.results.record import RunResults

__all__ = ["AnalysisOptions", "analyse", "fails"]


def analyse(results: RunResults, options: AnalysisOptions) -> RunResults:
    """``results`` with its findings and analysis summary filled (the crawl's rows unchanged)."""
    from dataclasses import replace

    findings = tuple(sorted(incomplete_findings(results, options),
                            key=lambda f: (-f.severity.rank, f.rule, f.id)))
    summary: AnalysisSummary = {
        "outcomes": {o.value: sum(1 for p in results.probes if p.outcome is o) for o in Outcome},
        "findings_by_severity": {s.value: sum(1 for f in findings if f.severity is s)
                                 for s in Severity},
    }
    return replace(results, findings=findings, analysis=dict(summary))


def fails(findings: tuple[Finding, ...], fail_on: Severity | None) -> bool:
    """True when a finding is at or above ``fail_on`` (None: never)."""
    if fail_on is None:
        return False
    return any(f.severity.rank >= fail_on.rank for f in findings)
