"""``permaudit report OUTDIR``: load -> analyse -> render, from results.json alone.

The site is never contacted. Each stage is one call so that more formats, a baseline or
suppressions slot in as options of the analyse and render steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from audit.analysis import AnalysisOptions, analyse, fails
from audit.analysis.sod import absent_doctypes
from audit.model import Severity
from audit.render import DEFAULT_FORMATS, Format, parse_formats, render_all
from audit.render.terminal import render_terminal
from audit.results.record import RunResults
from audit.status import ExitCode

RESULTS_FILE = "results.json"


def render_run(record: RunResults) -> str:
    """The terminal summary of a record: the same for ``run`` and ``report``."""
    return render_terminal(record)


def render_formats(record: RunResults, outdir: Path, formats: tuple[Format, ...], color: bool,
                   echo: Callable[[str], None]) -> None:
    """Write the chosen formats (results.json and probes.csv are already there); print the
    terminal summary when chosen, then the files written."""
    rendered = render_all(record, outdir, formats or parse_formats(DEFAULT_FORMATS),
                          color=color, record_written=True)
    if rendered.text:
        echo(rendered.text)
    echo(f"\nWritten to {outdir}/ ({', '.join(p.name for p in rendered.files)})")


def load(outdir: Path) -> RunResults:
    """The record in OUTDIR (:class:`~audit.results.record.SchemaError` when unusable)."""
    return RunResults.load(outdir / RESULTS_FILE)


def reanalyse(record: RunResults, options: AnalysisOptions,
              baseline: RunResults | None = None, source: str = "") -> RunResults:
    """The saved crawl analysed afresh (findings of the saved run are replaced)."""
    return analyse(replace(record, findings=(), analysis={}), options, baseline, source)


def report(outdir: Path, fail_on: Severity | None, echo: Callable[[str], None],
           formats: tuple[Format, ...] = (), color: bool = False,
           options: AnalysisOptions | None = None, baseline: Path | None = None,
           warn: Callable[[str], None] | None = None) -> ExitCode:
    old = RunResults.load(baseline) if baseline is not None else None
    options = replace(options or AnalysisOptions(), fail_on=fail_on)
    saved = load(outdir)
    record = reanalyse(saved, options, old, str(baseline or ""))
    if warn is not None:
        for note in absent_doctypes(options.sod_rules, saved.doctypes):
            warn(note)
        for entry in record.analysis.get("expired_suppressions", []):
            warn(f"suppression expired, no longer applied: {entry}")
    render_formats(record, outdir, formats, color, echo)
    return ExitCode.FINDINGS if fails(record.findings, fail_on) else ExitCode.OK
