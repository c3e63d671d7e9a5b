"""Files are written by a thread of their own while the writer makes its next chunk; a
failing write (a full disk) still fails the writer, and leaves neither the file nor its
temporary behind."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from audit.model import Operation, Outcome, ProbeMethod, ProbeResult
from audit.results import files
from audit.results.files import private_bytes, write_probes_csv


class _FullDisk:
    """A binary file that takes ``room`` bytes and then fails as a full disk does."""

    def __init__(self, fh: Any, room: int) -> None:
        self._fh, self._room = fh, room

    def write(self, data: bytes) -> int:
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return int(self._fh.write(data))

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def _full_disk(monkeypatch: pytest.MonkeyPatch, room: int) -> None:
    real = os.fdopen

    def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        return _FullDisk(real(fd, mode, *args, **kwargs), room)
    monkeypatch.setattr(files.os, "fdopen", fdopen)


def _rows(n: int) -> list[ProbeResult]:
    return [ProbeResult(user=f"u{i % 5}", doctype=f"DocType {i}", op=Operation.READ,
                        outcome=Outcome.DENIED, method=ProbeMethod.REST, http_status=403,
                        exc_type="PermissionError", message=f"No permission {i}")
            for i in range(n)]


def test_a_full_disk_fails_the_writer_and_leaves_nothing(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "CHUNK_ROWS", 100)
    _full_disk(monkeypatch, room=5_000)
    with pytest.raises(OSError, match="No space left"):
        write_probes_csv(tmp_path / "probes.csv", _rows(5_000))
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name == files.SPOOL_THREAD]


def test_a_failed_write_stops_the_writer_before_it_makes_every_chunk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _full_disk(monkeypatch, room=10)
    written = 0
    with pytest.raises(OSError, match="No space left"), private_bytes(tmp_path / "f") as fh:
        for _ in range(10_000):
            fh.write(b"x" * 1_000)
            written += 1
    assert written < 100  # the error reached the writer within a few chunks
    assert list(tmp_path.iterdir()) == []


def test_an_error_of_the_writer_itself_stops_the_thread(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mine"), private_bytes(tmp_path / "f") as fh:
        fh.write(b"part")
        raise ValueError("mine")
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name == files.SPOOL_THREAD]


def test_the_chunks_arrive_whole_and_in_order(tmp_path: Path) -> None:
    with private_bytes(tmp_path / "f") as fh:
        for i in range(2_000):
            fh.write(b"%d," % i)
    assert (tmp_path / "f").read_bytes() == b"".join(b"%d," % i for i in range(2_000))
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o600
