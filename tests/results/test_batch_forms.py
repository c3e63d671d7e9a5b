"""The writers form many distinct texts at once (a run's times, ids and stamped replies):
each batch is exactly the per-value forms (redacted, neutralised, quoted, JSON-escaped), or
it declines (None) and the values are formed one by one. Checked against the per-value
forms on hostile texts, and on whole files of rows that are each distinct."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from audit.config.secrets import SecretRegistry
from audit.model import Attempt, Operation, Outcome, ProbeMethod, ProbeResult
from audit.results import files
from audit.results.files import _Cleaner, csv_cell, write_probes_csv, write_results_json
from audit.results.redact import Redactor, fingerprint

SECRET = "api-secret-77aa55"
NAME = "tok3n4ccess0123456789"  # a secret document's name
PLAIN = [f"2026-12-02T10:00:{i % 60:02d}.{i:06d}Z" for i in range(200)]


def _redactor() -> Redactor:
    registry = SecretRegistry()
    registry.register(SECRET)
    redactor = Redactor(registry)
    redactor.learn(NAME, "short")  # "short": too short to be searched for, a whole field only
    return redactor


# texts made of what every check is about: formula starts, quotes, separators, escapes,
# controls, NUL, surrogates, bidi marks, the secret, the names, and plain characters
PIECES = st.sampled_from(["=", "+", "-", "@", "\t", "\r", "\n", ",", '"', "\\", "\x00",
                          "\x07", "\x1b[31m", "\ud800", "\u202e", "é", "😀", " ", "a", "Z",
                          "0", ":", SECRET, NAME, "short", "sha256:"])
TEXTS = st.lists(st.lists(PIECES, max_size=6).map("".join)
                 | st.sampled_from(PLAIN) | st.just("short") | st.just(NAME), max_size=40)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
@example(PLAIN)
@example([*PLAIN[:10], "=1"])
@example([*PLAIN[:10], f"x {NAME} y"])
@example([*PLAIN[:10], "short"])
@example([*PLAIN[:10], 'a "q"', "b,c", "d\r\ne"])
@example([*PLAIN[:10], f"k={SECRET}"])
@example(["=a", *PLAIN[:10]])
def test_a_batch_is_the_per_value_forms_or_declines(texts: list[str]) -> None:
    clean = _Cleaner(_redactor())
    batch = clean.csv_batch(texts)
    if batch is not None:
        assert batch == [clean.csv_field(t) for t in texts]
    for key, prefix, suffix in (("at", b"", b""), ("user", b"{", b""), ("note", b"", b"}")):
        form = clean.fragment(key, prefix, suffix)
        formed = clean.fragment_batch(key, prefix, suffix)(texts)
        if formed is not None:
            assert formed == [form(t) for t in texts]


def test_plain_texts_are_batched_and_odd_ones_declined() -> None:
    clean = _Cleaner(_redactor())
    fragment = clean.fragment_batch("at")
    assert clean.csv_batch(PLAIN) is not None and fragment(PLAIN) is not None
    quoted = clean.csv_batch([*PLAIN, "a,b", 'say "hi"'])
    assert quoted is not None and quoted[-2:] == [b'"a,b"', b'"say ""hi"""']
    for odd in ("=1", "-x", "\tx", f"a {NAME}", "short", f"{SECRET}", "a\x07b", "a\ud800b"):
        assert clean.csv_batch([*PLAIN, odd]) is None, odd
    for odd in ('a "q"', "back\\slash", "tab\tx", "new\nline", f"a {NAME}", "short"):
        assert fragment([*PLAIN, odd]) is None, odd
    assert clean.csv_batch([*PLAIN, None]) is None and fragment([*PLAIN, 3]) is None


def _distinct_rows(n: int) -> list[ProbeResult]:
    """Rows each with its own time, message and target, some quoting a secret or a name."""
    rows = []
    for i in range(n):
        message = (f"modified after you opened it (2026-09-03 06:01:00, {PLAIN[i % 200]}.{i})"
                   if i % 7 else f"refused {NAME if i % 2 else SECRET} {i}")
        target = NAME if i % 250 == 0 else f"DOC-{i:05d}"
        rows.append(ProbeResult(
            user=f"u{i % 5}", doctype="OAuth Bearer Token" if target == NAME else "Note",
            op=list(Operation)[i % 6], outcome=Outcome.ALLOWED, method=ProbeMethod.REST,
            http_status=417, exc_type="TimestampMismatchError", message=message,
            target=target, latency_ms=i / 10, at=f"2026-12-02T10:{i // 6000:02d}:{i:06d}Z",
            reason="=odd" if i == 777 else "",
            attempts=(Attempt(target=target, method=ProbeMethod.REST, http_status=417,
                              message=message, note=f"stale {i}"),)))
    return rows


@pytest.mark.parametrize("chunk", [100, 1_000, 20_000])
def test_files_of_distinct_rows_are_the_row_by_row_ones(tmp_path: Path, chunk: int,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(files, "CHUNK_ROWS", chunk)
    rows = _distinct_rows(3_000)
    redactor = _redactor()
    write_probes_csv(tmp_path / "probes.csv", rows, redactor)
    write_results_json(tmp_path / "results.json", {"schema": 2}, rows, redactor=redactor)
    expected_csv = io.StringIO(newline="")
    writer = csv.writer(expected_csv)
    writer.writerow(files.PROBE_COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(v) for v in redactor.row(row.as_row()).values()])
    assert (tmp_path / "probes.csv").read_bytes().decode("utf-8") == expected_csv.getvalue()
    written = json.loads((tmp_path / "results.json").read_bytes())
    assert written["probes"] == [redactor.json(r.as_json()) for r in rows]
    text = (tmp_path / "results.json").read_text("utf-8")
    assert NAME not in text and SECRET not in text and fingerprint(NAME) in text
