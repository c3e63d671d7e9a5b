"""``permaudit report OUTDIR``: load -> analyse -> render, from results.json alone.

The site is never contacted. Each stage is one call so that more formats, a baseline or
suppressions slot in as options of the analyse and render steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from audit.analysis import AnalysisOptions, analyse, fails
from audit.model import Severity
from audit.render.terminal import render_summary
from audit.results.record import RunResults
from audit.status import ExitCode

RESULTS_FILE = "results.json"


def render_run(record: RunResults) -> str:
    """The terminal summary of a record: the same for ``run`` and ``report``."""
    names = [u.name for u in record.users]
    lines = [render_summary(record.probes, names)]
    if record.findings:
        lines += ["", f"Findings ({len(record.findings)}):"]
        lines += [f"  {f.severity.value:<8} {f.rule:<16} {f.detail}" for f in record.findings]
    return "\n".join(lines)


def load(outdir: Path) -> RunResults:
    """The record in OUTDIR (:class:`~audit.results.record.SchemaError` when unusable)."""
    return RunResults.load(outdir / RESULTS_FILE)


def reanalyse(record: RunResults, options: AnalysisOptions) -> RunResults:
    """The saved crawl analysed afresh (findings of the saved run are replaced)."""
    return analyse(replace(record, findings=(), analysis={}), options)


def report(outdir: Path, fail_on: Severity | None, echo: Callable[[str], None]) -> ExitCode:
    record = reanalyse(load(outdir), AnalysisOptions(fail_on=fail_on))
    echo(render_run(record))
    return ExitCode.FINDINGS if fails(record.findings, fail_on) else ExitCode.OK
