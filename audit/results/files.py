"""Writing a run's files: private (0600 in a 0700 folder), atomic, spreadsheet-safe CSV.

Every file of a run is written here, and everything written passes one
:class:`~audit.results.redact.Redactor` first (secrets masked, secret names fingerprinted).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from audit.model import PROBE_COLUMNS, ProbeResult
from audit.results.redact import REDACTOR, Redactor

FILE_MODE = 0o600
DIR_MODE = 0o700
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def private_dir(path: Path) -> Path:
    """Create OUTDIR (0700); an existing folder is tightened to 0700 too."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


@contextlib.contextmanager
def private_text(path: Path, newline: str | None = None, *, redact: bool = True,
                 redactor: Redactor | None = None) -> Iterator[IO[str]]:
    """Write ``path`` atomically through a 0600 temporary file in the same folder.

    What is written is redacted as one text when the file is complete (a secret split
    between two writes is still found); ``redact=False`` is for writers that have
    redacted their records already.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            if not redact:
                yield fh
            else:
                buffer = io.StringIO(newline=newline)
                yield buffer
                fh.write((redactor or REDACTOR).text(buffer.getvalue()))
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


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, object]],
              redactor: Redactor | None = None) -> None:
    """A CSV file: every row redacted, every cell neutralised (:func:`csv_cell`)."""
    redact = redactor or REDACTOR
    with private_text(path, newline="", redact=False) as fh:  # redacted row by row
        writer = csv.writer(fh)
        writer.writerow([csv_cell(c) for c in columns])
        for row in rows:
            clean = redact.row(row)
            writer.writerow([csv_cell(clean.get(c)) for c in columns])


def write_probes_csv(path: Path, rows: Sequence[ProbeResult],
                     redactor: Redactor | None = None) -> None:
    write_csv(path, PROBE_COLUMNS, [r.as_row() for r in rows], redactor)


def write_json_private(path: Path, document: Mapping[str, Any],
                       redactor: Redactor | None = None) -> None:
    clean = (redactor or REDACTOR).json(dict(document))
    with private_text(path, redact=False) as fh:
        fh.write(json.dumps(clean, indent=1, default=str) + "\n")


def append_json_line(path: Path, record: Mapping[str, Any],
                     redactor: Redactor | None = None) -> None:
    """Append one redacted JSON line to a 0600 file (created so; a symlink is refused).

    The caller serialises concurrent appends (one lock per file).
    """
    clean = (redactor or REDACTOR).json(dict(record))
    line = json.dumps(clean, default=str) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), FILE_MODE)
        fh.write(line)
        fh.flush()
