"""probes.csv, matrix.csv and findings.csv (DESIGN.md "Output files"), spreadsheet-safe and 0600."""

from __future__ import annotations

from pathlib import Path

from audit.model import Operation
from audit.results.files import gc_paused, probe_columns, write_csv, write_csv_columns
from audit.results.record import RunResults

MATRIX_COLUMNS: tuple[str, ...] = ("user", "doctype", *(op.value for op in Operation))
FINDING_COLUMNS: tuple[str, ...] = ("id", "severity", "rule", "user", "doctype", "op", "detail",
                                    "evidence", "recommendation")


def matrix_columns(results: RunResults) -> list[list[str | None]]:
    """The columns of matrix.csv: one row per (user, DocType) that has a probe row, in the
    run's order, then the outcome of each op (None: no row; the last row of a cell wins)."""
    probes = probe_columns(results.probes)
    cells = list(zip(probes["user"], probes["doctype"], strict=True))
    position = {pair: i for i, pair in enumerate(dict.fromkeys(cells))}
    ops = {op.value: i for i, op in enumerate(Operation)}
    columns: list[list[str | None]] = [[u for u, _ in position], [d for _, d in position]]
    outcome_columns: list[list[str | None]] = [[None] * len(position) for _ in ops]
    for row, op, outcome in zip(map(position.__getitem__, cells),
                                map(ops.__getitem__, probes["op"]), probes["outcome"],
                                strict=True):
        outcome_columns[op][row] = outcome
    return columns + outcome_columns


def write_matrix_csv(path: Path, results: RunResults) -> None:
    with gc_paused():
        write_csv_columns(path, MATRIX_COLUMNS, matrix_columns(results))


def write_findings_csv(path: Path, results: RunResults) -> None:
    with gc_paused():
        write_csv(path, FINDING_COLUMNS, [{**f.as_json(), "evidence": ";".join(f.evidence)}
                                          for f in results.findings])


def write_analysis_csv(results: RunResults, outdir: Path) -> tuple[Path, ...]:
    """matrix.csv and findings.csv (probes.csv is the record's: :func:`write_probes_csv`)."""
    matrix, findings = outdir / "matrix.csv", outdir / "findings.csv"
    write_matrix_csv(matrix, results)
    write_findings_csv(findings, results)
    return matrix, findings
