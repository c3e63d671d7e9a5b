"""Writing a run's files: private (0600 in a 0700 folder), atomic, spreadsheet-safe CSV."""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from audit.model import PROBE_COLUMNS, ProbeResult

FILE_MODE = 0o600
DIR_MODE = 0o700
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def private_dir(path: Path) -> Path:
    """Create OUTDIR (0700); an existing folder is tightened to 0700 too."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


@contextlib.contextmanager
def private_text(path: Path, newline: str | None = None) -> Iterator[IO[str]]:
    """Write ``path`` atomically through a 0600 temporary file in the same folder."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: formulas and control starts neutralised."""
    text = "" if value is None else str(value)
    if text.startswith(_CSV_TRIGGERS):
        return "'" + text
    return text


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, object]]) -> None:
    with private_text(path, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_cell(row.get(c)) for c in columns])


def write_probes_csv(path: Path, rows: Sequence[ProbeResult]) -> None:
    write_csv(path, PROBE_COLUMNS, [r.as_row() for r in rows])


def write_json_private(path: Path, document: Mapping[str, Any]) -> None:
    with private_text(path) as fh:
        fh.write(json.dumps(document, indent=1, default=str) + "\n")
