"""probes.csv, matrix.csv and findings.csv (DESIGN.md "Output files"), spreadsheet-safe and 0600."""

from __future__ import annotations

from itertools import compress
from operator import attrgetter
from pathlib import Path

from audit.model import Operation
from audit.results.files import gc_paused, write_csv, write_csv_columns, write_probes_csv
from audit.results.record import RunResults

MATRIX_COLUMNS: tuple[str, ...] = ("user", "doctype", *(op.value for op in Operation))
FINDING_COLUMNS: tuple[str, ...] = ("id", "severity", "rule", "user", "doctype", "op", "detail",
                                    "evidence", "recommendation")


def matrix_columns(results: RunResults) -> list[list[str | None]]:
    """The columns of matrix.csv: one row per (user, DocType) that has a probe row, in the
    run's order, then the outcome of each op (None: no row). Built column by column."""
    probes = results.probes
    cells = list(zip(map(attrgetter("user"), probes), map(attrgetter("doctype"), probes),
                     strict=True))
    pairs = list(dict.fromkeys(cells))
    ops = list(map(str, map(attrgetter("op"), probes)))  # plain texts: hashed in C
    outcomes = list(map(str, map(attrgetter("outcome"), probes)))
    columns: list[list[str | None]] = [[u for u, _ in pairs], [d for _, d in pairs]]
    for op in Operation:
        chosen = list(map(op.value.__eq__, ops))
        outcome = dict(zip(compress(cells, chosen), compress(outcomes, chosen), strict=True))
        columns.append(list(map(outcome.get, pairs)))
    return columns


def write_matrix_csv(path: Path, results: RunResults) -> None:
    with gc_paused():
        write_csv_columns(path, MATRIX_COLUMNS, matrix_columns(results))


def write_findings_csv(path: Path, results: RunResults) -> None:
    with gc_paused():
        write_csv(path, FINDING_COLUMNS, [{**f.as_json(), "evidence": ";".join(f.evidence)}
                                          for f in results.findings])


def write_all_csv(results: RunResults, outdir: Path) -> tuple[Path, ...]:
    probes, matrix, findings = (outdir / "probes.csv", outdir / "matrix.csv",
                                outdir / "findings.csv")
    write_probes_csv(probes, results.probes)
    write_matrix_csv(matrix, results)
    write_findings_csv(findings, results)
    return probes, matrix, findings
