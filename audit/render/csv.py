"""probes.csv, matrix.csv and findings.csv (DESIGN.md "Output files"), spreadsheet-safe and 0600."""

from __future__ import annotations

from pathlib import Path

from audit.model import Operation
from audit.results.files import write_csv, write_probes_csv
from audit.results.record import RunResults

MATRIX_COLUMNS: tuple[str, ...] = ("user", "doctype", *(op.value for op in Operation))
FINDING_COLUMNS: tuple[str, ...] = ("id", "severity", "rule", "user", "doctype", "op", "detail",
                                    "evidence", "recommendation")


def matrix_rows(results: RunResults) -> list[dict[str, object]]:
    """One row per (user, DocType) that has a probe row, in the run's order."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for probe in results.probes:
        row = rows.setdefault((probe.user, probe.doctype),
                              {"user": probe.user, "doctype": probe.doctype})
        row[probe.op.value] = probe.outcome.value
    return list(rows.values())


def write_matrix_csv(path: Path, results: RunResults) -> None:
    write_csv(path, MATRIX_COLUMNS, matrix_rows(results))


def write_findings_csv(path: Path, results: RunResults) -> None:
    write_csv(path, FINDING_COLUMNS, [{**f.as_json(), "evidence": ";".join(f.evidence)}
                                      for f in results.findings])


def write_all_csv(results: RunResults, outdir: Path) -> tuple[Path, ...]:
    probes, matrix, findings = (outdir / "probes.csv", outdir / "matrix.csv",
                                outdir / "findings.csv")
    write_probes_csv(probes, results.probes)
    write_matrix_csv(matrix, results)
    write_findings_csv(findings, results)
    return probes, matrix, findings
