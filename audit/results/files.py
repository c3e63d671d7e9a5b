"""Writing a run's files: private (0600 in a 0700 folder), atomic, spreadsheet-safe CSV.

Every file of a run is written here, and everything written passes one
:class:`~audit.results.redact.Redactor` first (secrets masked, secret names fingerprinted).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import queue
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import accumulate, chain, compress, repeat
from operator import attrgetter, is_
from pathlib import Path
from typing import IO, Any

import orjson

from audit.model import PROBE_COLUMNS, ProbeResult
from audit.results.redact import REDACTOR, Redactor, apply_text

FILE_MODE = 0o600
DIR_MODE = 0o700
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def private_dir(path: Path) -> Path:
    """Create OUTDIR (0700). An existing folder is tightened to 0700 too when it is empty or
    holds only what a run writes; any other folder (``-o /tmp``, ``-o ~``, a shared one)
    keeps its mode, and the files written into it are 0600 all the same."""
    existed = path.is_dir()
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if not existed or (not path.is_symlink() and all(
            entry.is_file(follow_symlinks=False) and _RUN_FILE.fullmatch(entry.name)
            for entry in os.scandir(path))):
        os.chmod(path, DIR_MODE)
    return path


# a file a run writes into OUTDIR (a report, the record, the checkpoint, a temporary one)
_RUN_FILE = re.compile(r"\.?[\w.-]+\.(?:csv|json|jsonl|html)(?:\.tmp)?")


SPOOL_THREAD = "permaudit-file-writer"


class Spool:
    """A binary file written by a thread of its own: while the kernel copies one chunk
    (hundreds of MB at a million rows), the writer makes the next one on another core.

    At most ``DEPTH`` chunks wait, so memory stays flat; a failed write (a full disk) is
    raised by the writer's next ``write`` and by :meth:`close`, and nothing more is written.
    """

    DEPTH = 4

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=self.DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name=SPOOL_THREAD, daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> int:
        if self._error is not None:
            raise self._error
        self._queue.put(data)
        return len(data)

    def _drain(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._fh.write(data)
                except BaseException as exc:  # handed to the writer's thread
                    self._error = exc

    def close(self) -> None:
        """Wait for every chunk to be written; raise the write's error, if any."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


@contextlib.contextmanager
def private_bytes(path: Path) -> Iterator[Spool]:
    """:func:`private_text` for a writer that encodes and redacts its own bytes (written
    by a thread of its own, :class:`Spool`)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            spool = Spool(fh)
            try:
                yield spool
            finally:
                spool.close()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


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


Form = Callable[[Any], bytes]


class _Cleaner:
    """The written form of each distinct value, worked out once per write.

    A run repeats the same few texts a million times (users, DocTypes, operations,
    outcomes, messages), so each distinct value of a column is redacted, and turned into
    the bytes the file holds (a quoted CSV field, or a JSON ``"key":value`` fragment),
    once; every column is then mapped through its memo and joined at C speed. The memos
    are valid only while the redactor learns nothing, so the writers learn every secret
    name before the first row.
    """

    LIMIT = 200_000  # distinct values kept per column; beyond it the memo starts again

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._redact = redactor.frozen()  # every name is learned before a writer starts
        self._unchanged = redactor.unchanged()

    def text(self, value: str) -> str:
        """A text redacted (a StrEnum becomes its plain value)."""
        return self._redact(value if type(value) is str else str(value))

    def value(self, value: object) -> object:
        """A value as JSON holds it: texts redacted, containers walked, numbers kept."""
        return apply_text(value, self.text)

    RECORDS_BATCH = 1_000  # records checked at a time: one with a secret walks only these

    def records(self, records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """:meth:`value` of each record: a batch of records is itself when they hold only
        the plain JSON types and the redactor leaves every text of them (keys too) as it
        is, which one scan of the batch tells (a run's findings hold a million texts);
        any other batch is walked and redacted record by record."""
        out: list[Mapping[str, Any]] = []
        for start in range(0, len(records), self.RECORDS_BATCH):
            batch = records[start:start + self.RECORDS_BATCH]
            texts = _texts_of(batch)
            try:
                if texts is not None and self._unchanged(texts):
                    out += batch
                    continue
            except TypeError:  # a key that is not a text: apply_text keeps it, as is
                pass
            out += [apply_text(r, self.text) for r in batch]
        return out

    def csv_field(self, value: object) -> bytes:
        """A value as csv.writer writes it as one field, redacted and neutralised."""
        if type(value) is str:  # most fields: no container checks
            text = self._redact(value)
            if text.startswith(_CSV_TRIGGERS):
                text = "'" + text
            if _NEEDS_QUOTES.search(text) is not None:
                text = '"' + text.replace('"', '""') + '"'
            return text.encode("utf-8")
        if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            value = ";".join(value)  # limits: a ;-list
        elif isinstance(value, Mapping | list | tuple):  # not a CSV value: as it prints
            value = str(self.value(value))
        text = csv_cell(self.text(value) if isinstance(value, str) else value)
        if _NEEDS_QUOTES.search(text) is not None:  # csv.QUOTE_MINIMAL, excel dialect
            text = '"' + text.replace('"', '""') + '"'
        return text.encode("utf-8")

    def csv_batch(self, values: list[Any]) -> list[bytes] | None:
        """:meth:`csv_field` of each value, in a few C-level passes over them all, when all
        are texts the redactor leaves as they are and none starts like a formula (else
        None: form them one by one)."""
        if not values:
            return []
        try:
            joined = "\x00".join(values)
        except TypeError:  # not all texts
            return None
        if values[0].startswith(_CSV_TRIGGERS) or _CSV_TRIGGER_AFTER.search(joined) \
                is not None or not self._unchanged(values):
            return None
        if any(c in joined for c in _QUOTED):  # a few C scans, faster than one class
            search = _NEEDS_QUOTES.search
            joined = "\x00".join(['"' + v.replace('"', '""') + '"' if search(v) else v
                                  for v in values])
        out = joined.encode("utf-8").split(b"\x00")  # no text holds NUL: it is a control
        return out if len(out) == len(values) else None

    def fragment(self, key: str, prefix: bytes = b"", suffix: bytes = b"", *,
                 joined: bool = False) -> Form:
        """The form of a JSON ``"key":value`` fragment (with bytes before / after it);
        ``joined``: a tuple of texts is written as one ``;``-list (a probe row's limits)."""
        head = prefix + orjson.dumps(key) + b":"

        def form(value: Any) -> bytes:
            if joined and isinstance(value, tuple):
                value = ";".join(value)
            return head + _dumps(self.value(value), indent=False) + suffix
        return form

    def fragment_batch(self, key: str, prefix: bytes = b"", suffix: bytes = b""
                       ) -> Batch:
        """:meth:`fragment`'s form of each of many values at once, when all are texts the
        redactor leaves as they are and JSON writes as they are (no quote, backslash or
        control character: orjson would escape it); else None."""
        head = (prefix + orjson.dumps(key) + b":").decode("utf-8")
        tail = suffix.decode("utf-8")
        glue = '"' + tail + "\x00" + head + '"'
        if "\x00" in head + tail:
            return lambda _values: None

        def batch(values: list[Any]) -> list[bytes] | None:
            try:
                joined = "\x00".join(values)
            except TypeError:  # not all texts
                return None
            if any(c in joined for c in _JSON_ESCAPED) or not self._unchanged(values):
                return None
            out = (head + '"' + glue.join(values) + '"' + tail).encode("utf-8").split(b"\x00")
            return out if len(out) == len(values) else None
        return batch

    def column(self, values: list[Any], memo: dict[Any, bytes], form: Form, *,
               typed: bool = True, batch: Batch | None = None) -> list[bytes]:
        """``values`` in their written form, through ``memo`` (one per column).

        ``typed=False`` is for columns of unknown type: numbers that hash alike (1, 1.0,
        True) must not share a memo entry, and unhashable values are formed one by one.
        ``batch`` forms many texts at once (or says None): the memo's new entries, and a
        chunk of mostly new values (times, ids, stamped replies) without filling the memo.
        """
        if not typed:
            types = set(map(type, values))
            if len(types - {str, _NONE}) > 1 or not all(
                    t in _HASHABLE or issubclass(t, str) for t in types):
                return [form(v) for v in values]
        try:
            out = list(map(memo.get, values))
        except TypeError:  # a tuple holding a list
            return [form(v) for v in values]
        if None not in out:
            return out  # type: ignore[return-value]  # no None left in it
        missing = set(compress(values, map(is_, out, repeat(None))))
        if batch is not None and len(missing) * 2 > len(values) >= BATCH_MIN:
            formed = batch(values)
            if formed is not None:
                return formed
            batch = None  # what it declined, it declines for the new values among them too
        if len(memo) + len(missing) > self.LIMIT:
            memo.clear()
            missing = set(values)
        fresh = list(missing)
        formed = batch(fresh) if batch is not None and len(fresh) >= BATCH_MIN else None
        memo.update(zip(fresh, map(form, fresh) if formed is None else formed, strict=True))
        return list(map(memo.__getitem__, values))


def _texts_of(records: Sequence[Any]) -> list[str] | None:
    """Every text in ``records`` (dict keys included), or None when any of them holds what
    :func:`apply_text` would change the type of (a text subclass, another mapping or
    sequence type): then only the walk itself writes them as it does."""
    texts: list[str] = []
    add, keys = texts.append, texts.extend
    stack = list(records)
    pop, push = stack.pop, stack.extend
    while stack:
        obj = pop()
        kind = type(obj)
        if kind is str:
            add(obj)
        elif kind is dict:
            keys(obj)
            push(obj.values())
        elif kind is list or kind is tuple:
            push(obj)
        elif obj is None or kind is int or kind is float or kind is bool:
            continue
        elif isinstance(obj, str | Mapping | list | tuple):
            return None
    return texts


Batch = Callable[[list[Any]], "list[bytes] | None"]
BATCH_MIN = 64  # fewer values are formed one by one: the passes over them cost more
# a text after the first that csv_cell neutralises (the NUL first: re scans for it fast)
_CSV_TRIGGER_AFTER = re.compile("\x00[=+\\-@\t\r]")
_QUOTED = (",", '"', "\r", "\n")  # what _NEEDS_QUOTES finds
# what orjson writes as an escape, of what the redactor leaves in a text (it removes every
# other control character, NUL included: the batches join on it)
_JSON_ESCAPED = ('"', "\\", "\t", "\n", "\r")
_NONE = type(None)
_HASHABLE = frozenset({str, int, float, bool, tuple, _NONE})
_NEEDS_QUOTES = re.compile('[,"\r\n]')  # the delimiter, the quote, the line end
CHUNK_ROWS = 20_000  # rows cleaned and written at a time: memory stays flat at any size
_CRLF = b"\r\n"  # csv.writer's line end


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a writer makes its many short-lived lists: with a
    million probe rows alive, every automatic collection walks them all. Nothing a writer
    makes holds a cycle."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _chunks(rows: Sequence[Any]) -> Iterator[Sequence[Any]]:
    size = CHUNK_ROWS
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _dumps(document: Any, *, indent: bool = True) -> bytes:
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(document, default=str, option=option)


class CsvWriter:
    """CSV columns written as csv.writer writes their rows; every cell redacted and
    neutralised (:func:`csv_cell`), each distinct value of a column cleaned once."""

    def __init__(self, fh: Spool, columns: Sequence[str], redactor: Redactor) -> None:
        self._fh = fh
        self._clean = _Cleaner(redactor)
        self._memos: list[dict[Any, bytes]] = [{} for _ in columns]
        self._write([[self._clean.csv_field(c)] for c in columns])

    def columns(self, columns: Sequence[list[Any]], *, typed: bool = True) -> None:
        """One chunk of rows, given as its columns (raw values)."""
        clean = self._clean
        form, batch = clean.csv_field, clean.csv_batch
        self._write([clean.column(values, memo, form, typed=typed, batch=batch)
                     for values, memo in zip(columns, self._memos, strict=True)])

    def _write(self, fields: Sequence[list[bytes]]) -> None:
        if fields and fields[0]:
            self._fh.write(_CRLF.join(map(b",".join, zip(*fields, strict=True))) + _CRLF)


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, object]],
              redactor: Redactor | None = None) -> None:
    """A CSV file of flat rows: the same file csv.writer writes of the redacted,
    neutralised cells (:func:`csv_cell`)."""
    redact = redactor or REDACTOR
    with gc_paused():
        redact.learn_rows(rows)
        with private_bytes(path) as fh:  # redacted cell by cell
            writer = CsvWriter(fh, columns, redact)
            for chunk in _chunks(rows):
                writer.columns([[row.get(c) for row in chunk] for c in columns], typed=False)


def write_csv_columns(path: Path, columns: Sequence[str], values: Sequence[list[Any]],
                      redactor: Redactor | None = None) -> None:
    """A CSV file given as whole columns of text (no row names a secret document)."""
    redact = redactor or REDACTOR
    with gc_paused(), private_bytes(path) as fh:
        writer = CsvWriter(fh, columns, redact)
        for start in range(0, len(values[0]) if values else 0, CHUNK_ROWS):
            writer.columns([v[start:start + CHUNK_ROWS] for v in values], typed=False)


def _getters(fields: Sequence[str], enums: frozenset[str]) -> tuple[attrgetter[Any], ...]:
    # an enum member hashes in Python code; its plain value hashes in C (and is cached)
    return tuple(attrgetter(f"{f}._value_" if f in enums else f) for f in fields)


def _values(items: Sequence[Any], getters: Sequence[attrgetter[Any]],
            plain: Sequence[attrgetter[Any]]) -> list[list[Any]]:
    """The columns of ``items``, one list per getter."""
    try:
        return [list(map(getter, items)) for getter in getters]
    except AttributeError:  # a row built with plain texts for its enums
        return [list(map(getter, items)) for getter in plain]


_ENUMS = frozenset({"op", "outcome", "method"})
_PROBE_GETTERS = _getters(PROBE_COLUMNS, _ENUMS)
_PROBE_PLAIN = _getters(PROBE_COLUMNS, frozenset())
_ATTEMPT_KEYS = ("target", "method", "http_status", "exc_type", "message", "note")
_ATTEMPT_GETTERS = _getters(_ATTEMPT_KEYS, _ENUMS)
_ATTEMPT_PLAIN = _getters(_ATTEMPT_KEYS, frozenset())


_LAST_COLUMNS: list[tuple[Sequence[ProbeResult], dict[str, list[Any]]]] = []


def probe_columns(probes: Sequence[ProbeResult]) -> Mapping[str, list[Any]]:
    """The run's probe rows as columns: every PROBE_COLUMNS field (op, outcome and method
    as their plain texts) and ``attempts``. Read once per run: every writer and the
    terminal summary take them from here (the last run's columns are kept)."""
    if _LAST_COLUMNS and _LAST_COLUMNS[0][0] is probes:  # a tuple: the same rows
        return _LAST_COLUMNS[0][1]
    with gc_paused():
        values = _values(probes, _PROBE_GETTERS, _PROBE_PLAIN)
        columns = dict(zip(PROBE_COLUMNS, values, strict=True))
        columns["attempts"] = list(map(attrgetter("attempts"), probes))
    if isinstance(probes, tuple):  # a list may change; a record's rows are a tuple
        _LAST_COLUMNS[:] = [(probes, columns)]
    return columns


def _column_chunks(probes: Sequence[ProbeResult]) -> Iterator[list[list[Any]]]:
    """Chunks of the probe columns, PROBE_COLUMNS then ``attempts``."""
    columns = list(probe_columns(probes).values())
    for start in range(0, len(probes), CHUNK_ROWS):
        yield [column[start:start + CHUNK_ROWS] for column in columns]


def write_probes_csv(path: Path, rows: Sequence[ProbeResult],
                     redactor: Redactor | None = None) -> None:
    """probes.csv in chunks: the same file as :func:`write_csv` of the rows' ``as_row()``."""
    redact = redactor or REDACTOR
    with gc_paused():
        redact.learn_probes(rows)
        with private_bytes(path) as fh:
            writer = CsvWriter(fh, PROBE_COLUMNS, redact)
            for chunk in _column_chunks(rows):
                writer.columns(chunk[:-1])


class _JsonRows:
    """Records with fixed keys as JSON objects, one per line, from their columns."""

    def __init__(self, clean: _Cleaner, keys: Sequence[str], *, close: bool = True,
                 joined: Sequence[str] = ()) -> None:
        last = len(keys) - 1
        self._clean = clean
        bounds = [(b"{" if i == 0 else b"", b"}" if close and i == last else b"")
                  for i in range(len(keys))]
        self._forms = [clean.fragment(k, *ends, joined=k in joined)
                       for k, ends in zip(keys, bounds, strict=True)]
        self._batches = [None if k in joined else clean.fragment_batch(k, *ends)
                         for k, ends in zip(keys, bounds, strict=True)]
        self._memos: list[dict[Any, bytes]] = [{} for _ in keys]

    def lines(self, columns: Sequence[list[Any]], *extra: list[bytes]) -> list[bytes]:
        """One JSON text per row; ``extra`` columns are written as they are (last)."""
        fragments = [self._clean.column(values, memo, form, batch=batch)
                     for values, memo, form, batch in zip(columns, self._memos, self._forms,
                                                          self._batches, strict=True)]
        return list(map(b",".join, zip(*fragments, *extra, strict=True)))


_NO_ATTEMPTS = b'"attempts":[]}'


def _probe_lines(chunk: list[list[Any]], rows: _JsonRows, attempts: _JsonRows) -> list[bytes]:
    """``ProbeResult.as_json()`` of each row of a chunk of columns, redacted, as JSON text."""
    tried = chunk[-1]
    flat = list(chain.from_iterable(tried))
    if flat:  # each row's attempts: a slice of the flat list, cut and joined in C
        texts = attempts.lines(_values(flat, _ATTEMPT_GETTERS, _ATTEMPT_PLAIN))
        ends = list(accumulate(map(len, tried)))
        joined = map(b",".join, map(texts.__getitem__, map(slice, [0, *ends[:-1]], ends)))
        grouped = list(map(b"".join, zip(repeat(b'"attempts":['), joined, repeat(b"]}"))))
    else:
        grouped = [_NO_ATTEMPTS] * len(tried)
    return rows.lines(chunk[:-1], grouped)


def write_results_json(path: Path, document: Mapping[str, Any], probes: Sequence[ProbeResult],
                       findings: Sequence[Mapping[str, Any]] = (),
                       redactor: Redactor | None = None) -> None:
    """results.json: ``document`` (indented), then ``findings`` and ``probes``, one per line.

    Every secret name is learned first (the document's, the findings' and the probe
    rows'), then the document is written and the rows follow in chunks, so a million rows
    never exist as one copy in memory. The file parses to the same JSON as
    ``redactor.json(document | {"findings": findings, "probes": [p.as_json() ...]})``.
    """
    redact = redactor or REDACTOR
    with gc_paused():
        redact.learn_probes(probes)
        redact.learn_rows(findings)
        head = _dumps(redact.json(dict(document)))
        if not head.endswith(b"}") or head == b"{}":
            raise ValueError("results.json: the document must be a non-empty object")
        clean = _Cleaner(redact)
        with private_bytes(path) as fh:
            fh.write(head[:-1].rstrip() + b',\n  "findings": [')
            separator = b"\n"
            for chunk in _chunks(findings):  # each finding's texts are its own: no memo
                lines = _record_lines(clean.records(chunk), exact=True)
                fh.write(separator + lines)
                separator = b",\n"
            fh.write(b'\n  ],\n  "probes": [')
            rows = _JsonRows(clean, PROBE_COLUMNS, close=False, joined=("limits",))
            attempts = _JsonRows(clean, _ATTEMPT_KEYS)
            separator = b"\n"
            for chunk in _column_chunks(probes):
                fh.write(separator + b",\n".join(_probe_lines(chunk, rows, attempts)))
                separator = b",\n"
            fh.write(b"\n  ]\n}\n")


def _record_lines(records: Sequence[Mapping[str, Any]], *, exact: bool) -> bytes:
    """Records as compact JSON objects, one per line, joined by ",\n" (no brackets).

    When every record starts with the same key, one orjson call writes them all and the
    text is cut between them: ``},{"key":`` with its quotes bare occurs nowhere inside a
    JSON string (a quote in a string is escaped), so it matches between two records, and
    else only between two objects nested in one, where the line break it adds is only
    whitespace. ``exact``: one record per line whatever they hold (results.json is read
    back line by line): a cut inside a record is seen (compact JSON holds no other line
    break) and the records are then written one by one."""
    first = {next(iter(r), None) for r in records}
    key = first.pop() if len(first) == 1 else None
    if isinstance(key, str):
        boundary = b"},{" + orjson.dumps(key) + b":"
        text = _dumps(list(records), indent=False)[1:-1].replace(
            boundary, b"},\n" + boundary[2:])
        if not exact or text.count(b"\n") == len(records) - 1:
            return text
    return b",\n".join(_dumps(r, indent=False) for r in records)


def write_json_lines(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """A JSON array of records already redacted, one record per line."""
    with private_bytes(path) as fh:
        fh.write(b"[")
        separator = b"\n"
        for start in range(0, len(records), CHUNK_ROWS):
            fh.write(separator + _record_lines(records[start:start + CHUNK_ROWS],
                                               exact=False))
            separator = b",\n"
        fh.write(b"\n]\n")


def write_json_private(path: Path, document: Mapping[str, Any],
                       redactor: Redactor | None = None) -> None:
    clean = (redactor or REDACTOR).json(dict(document))
    with private_bytes(path) as fh:
        fh.write(_dumps(clean) + b"\n")


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
