"""Reading results.json back: one line at a time when it is laid out as permaudit writes it.

`report`, `diff`, `explain --from-results` and `--baseline` read whole runs. Parsed whole,
a run of 1,000,000 probe rows is a million dicts alive at once (about 3 GB); the writer
puts the document first, then one finding and one probe row per line
(:func:`audit.results.files.write_results_json`), so such a file is read line by line and
each row becomes a ``ProbeResult`` before the next is parsed, with its repeated texts
(users, DocTypes, messages, ...) held once.

Any other layout that is JSON (re-indented by jq, keys moved, one line, CRLF) is parsed
whole, to the same record: the line reader gives up on the first line that is not the
writer's, and it can only accept a file whose whole parse gives the same document (a
JSON text holds no raw line break inside a string, so each of the writer's lines is
exactly one row or one of its fixed separators). A damaged file is parsed whole too, so
its error is the same one-line error in every layout.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from audit.results.record import SchemaError
from audit.status import not_regular

T = TypeVar("T")
Build = Callable[[Any, "list[Any] | None", "Iterable[Any] | None"], T]

_FINDINGS_OPEN = b'  "findings": [\n'
_FINDINGS_CLOSE = b"  ],\n"
_PROBES_OPEN = b'  "probes": [\n'
_PROBES_CLOSE = b"  ]\n"
_END = b"}\n"
# the texts a run repeats across its rows: each distinct one is kept once
_ROW_TEXTS = ("user", "doctype", "op", "outcome", "method", "exc_type", "message", "target",
              "limits", "reason", "at")
_ATTEMPT_TEXTS = ("target", "method", "exc_type", "message", "note")
_SHARED_LIMIT = 200_000  # distinct texts remembered; beyond it the memo starts again


class _NotOurLayout(Exception):
    """A line the writer does not write: the file is parsed whole instead."""


def load(path: Path, build: Build[T]) -> T:
    """``build(document, findings, probes)`` of the file at ``path``.

    Read line by line, ``document`` is the file without its findings and probe rows,
    which come as a list and as an iterator of dicts (read while ``build`` consumes it);
    parsed whole, ``document`` is all of it and both are None.
    """
    from audit.results.files import gc_paused

    with gc_paused():  # a million rows made: no collection walks them as they come
        return _load(path, build)


def _load(path: Path, build: Build[T]) -> T:
    source = str(path)
    odd = not_regular(path)
    if odd:
        raise SchemaError(f"{path}: cannot be read ({odd})")
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise SchemaError(f"{path}: no such file (is this a permaudit OUTDIR?)") from None
    except OSError as exc:
        raise SchemaError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        with fh:
            try:
                document, findings = _head(fh)
                return build(document, findings, _probes(fh))
            except _NotOurLayout:
                fh.seek(0)
                data = fh.read()
    except OSError as exc:
        raise SchemaError(f"{path}: cannot be read ({exc.strerror})") from None
    return build(parse_whole(data, source), None, None)


def parse_whole(data: bytes, source: str) -> Any:
    """The JSON document ``data`` holds, or a one-line error naming ``source``."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass  # not UTF-8, or JSON orjson does not take (NaN, huge numbers): json says which
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{source}: not valid JSON (line {exc.lineno})") from None
    except RecursionError:
        raise SchemaError(f"{source}: not valid JSON (nested too deeply)") from None


def _loads(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        raise _NotOurLayout from None


def _head(fh: IO[bytes]) -> tuple[Any, list[Any]]:
    """The document before the findings (the writer's indented object), and the findings."""
    lines: list[bytes] = []
    for line in fh:
        if line == _FINDINGS_OPEN:
            break
        lines.append(line)
    else:
        raise _NotOurLayout
    if not lines or lines[0] != b"{\n" or not lines[-1].endswith(b",\n"):
        raise _NotOurLayout
    document = _loads(b"".join(lines)[:-2] + b"\n}")
    if not isinstance(document, dict) or "findings" in document or "probes" in document:
        raise _NotOurLayout
    findings = list(_items(fh, _FINDINGS_CLOSE))
    if fh.readline() != _PROBES_OPEN:
        raise _NotOurLayout
    return document, findings


def _items(fh: IO[bytes], close: bytes) -> Iterator[Any]:
    """The items of a list written one per line, up to its closing line."""
    more: bool | None = None  # None: no item yet; else whether the last one ended with ","
    for line in fh:
        if line == close:
            if more:  # a comma before the bracket
                raise _NotOurLayout
            return
        if more is False:  # two items without a comma between them
            raise _NotOurLayout
        if line.endswith(b"},\n"):
            body, more = line[:-2], True
        elif line.endswith(b"}\n"):
            body, more = line[:-1], False
        else:
            raise _NotOurLayout
        yield _loads(body)
    raise _NotOurLayout  # the file ends inside the list


def _probes(fh: IO[bytes]) -> Iterator[Any]:
    """The probe rows, each distinct text of a row held once, then the end of the file."""
    shared: dict[str, str] = {}
    keep = shared.setdefault
    for row in _items(fh, _PROBES_CLOSE):
        if len(shared) > _SHARED_LIMIT:
            shared.clear()
        if type(row) is dict:
            for key in _ROW_TEXTS:
                value = row.get(key)
                if type(value) is str:
                    row[key] = keep(value, value)
            for attempt in row.get("attempts") or ():
                if type(attempt) is dict:
                    for key in _ATTEMPT_TEXTS:
                        value = attempt.get(key)
                        if type(value) is str:
                            attempt[key] = keep(value, value)
        yield row
    if fh.readline() != _END or fh.read().strip():
        raise _NotOurLayout
