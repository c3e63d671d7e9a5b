"""A reply may carry a lone UTF-16 surrogate (``"\\ud800"`` is valid JSON; Python's json
reads it into a string no UTF-8 file can hold). Every output still gets written: the
redaction step makes it U+FFFD, and a secret name holding one is still fingerprinted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.crawl.inventory import Inventory
from audit.http.client import UNSENDABLE
from audit.model import Attempt, Operation, Outcome, ProbeMethod, ProbeResult
from audit.render.formats import Format
from audit.results.files import write_probes_csv, write_results_json
from audit.results.record import RunInfo, RunResults
from audit.results.redact import Redactor, fingerprint, strip_controls
from audit.status import ExitCode
from tests.crawl.conftest import demo_config, mismatches, run
from tests.helpers_http import RewritingSim, document_list

LONE = "\ud800"
REPLACEMENT = "\ufffd"
OUTPUTS = ("results.json", "probes.csv", "matrix.csv", "findings.csv", "report.html",
           "findings.ocsf.json")


def surrogate_replies(_environ: dict[str, Any], status: int, data: Any) -> Any:
    """Every JSON error reply's message, exception and traceback gain lone surrogates."""
    if status < 400 or not isinstance(data, dict) or not data.get("exc_type"):
        return None
    data["_error_message"] = f"{LONE}odd{LONE} {data.get('_error_message') or ''}"
    data["exception"] = f"{data.get('exception') or ''} {LONE}".strip()
    data["exc"] = json.dumps([f"Traceback (most recent call last):\n  {LONE}\n"])
    return data


def surrogate_names(environ: dict[str, Any], status: int, data: Any) -> Any:
    """Every list of documents (the DocType list too) gains one whose name holds a lone
    surrogate: no URL or query can carry it back to the site."""
    listed = document_list(environ, status, data)
    if not listed or not isinstance(listed[0], dict):
        return None
    listed.insert(0, dict(listed[0], name=f"odd{LONE}name"))
    return data


@pytest.mark.slow
def test_a_crawl_whose_replies_hold_lone_surrogates_writes_every_file(tmp_path: Path) -> None:
    with RewritingSim(surrogate_replies) as sim:
        result = run(demo_config(sim), tmp_path / "out", formats=tuple(Format))
    assert sim.rewriter.touched > 0
    assert result.code in (ExitCode.OK, ExitCode.FINDINGS)
    for name in OUTPUTS:
        text = (tmp_path / "out" / name).read_bytes().decode("utf-8")  # strict: valid UTF-8
        assert LONE not in text
    messages = [row["message"] for row in result.rows]
    assert any(f"{REPLACEMENT}odd{REPLACEMENT}" in m for m in messages)


@pytest.mark.slow
def test_a_name_no_request_can_carry_gives_errors_never_a_crash(tmp_path: Path) -> None:
    with RewritingSim(surrogate_names) as sim:
        result = run(demo_config(sim), tmp_path / "out", formats=tuple(Format))
        rows = result.rows
        odd = [r for r in rows if r["doctype"] not in sim.site.doctypes]  # the listed one
        result.data["probes"] = [r for r in rows if r["doctype"] in sim.site.doctypes]
        wrong = mismatches(result, sim, verdicts_only=True)
    assert sim.rewriter.touched > 0
    assert result.code in (ExitCode.OK, ExitCode.FINDINGS)
    assert not wrong
    for name in OUTPUTS:
        assert LONE not in (tmp_path / "out" / name).read_bytes().decode("utf-8")
    assert odd and all(r["outcome"] not in ("allowed", "denied") for r in odd), odd[:3]
    # a document of that name is never tried: each cell of a real DocType takes the next
    unsent = [r for r in result.rows if UNSENDABLE in r["reason"]
              or any(UNSENDABLE in a["note"] for a in r["attempts"])]
    assert unsent == [], [(r["doctype"], r["op"], r["reason"]) for r in unsent[:3]]
    assert all(UNSENDABLE in r["reason"] for r in odd if r["outcome"] == "error")


def _row(message: str, target: str = "SINV-0001", doctype: str = "Sales Invoice") -> ProbeResult:
    return ProbeResult(user="clerk", doctype=doctype, op=Operation.READ, outcome=Outcome.DENIED,
                       method=ProbeMethod.REST, http_status=403, exc_type="PermissionError",
                       message=message, target=target,
                       attempts=(Attempt(target=target, method=ProbeMethod.REST,
                                         http_status=403, message=message),))


def test_the_row_writers_replace_a_lone_surrogate(tmp_path: Path) -> None:
    rows = [_row(f"no {LONE} access"), _row("plain")] * 3
    write_probes_csv(tmp_path / "probes.csv", rows, Redactor())
    write_results_json(tmp_path / "results.json", {"schema": 2}, rows, redactor=Redactor())
    csv_text = (tmp_path / "probes.csv").read_bytes().decode("utf-8")
    json_text = (tmp_path / "results.json").read_bytes().decode("utf-8")
    assert csv_text.count(f"no {REPLACEMENT} access") == 3
    assert [p["message"] for p in json.loads(json_text)["probes"]].count(
        f"no {REPLACEMENT} access") == 3


def test_strip_controls_replaces_lone_surrogates_only() -> None:
    assert strip_controls(f"a{LONE}b\udfffc") == f"a{REPLACEMENT}b{REPLACEMENT}c"
    assert strip_controls("naïve 😀 text") == "naïve 😀 text"  # a real pair is no surrogate
    assert Redactor().text(f"x{LONE}") == f"x{REPLACEMENT}"
    assert fingerprint(f"tok{LONE}en").startswith("sha256:")


@pytest.mark.parametrize("odd", [LONE, "\x07", "\u202e"])
def test_a_secret_name_with_an_odd_character_is_still_fingerprinted(odd: str) -> None:
    name = f"tokenAbc{odd}123456"
    redactor = Redactor()
    redactor.learn(name)
    hashed = fingerprint(name)
    visible = strip_controls(name)
    for text in (name, f"quoting {name} here"):
        out = redactor.text(text)
        assert visible not in out and name not in out
        assert hashed in out


def test_a_saved_run_with_a_lone_surrogate_escape_is_read(tmp_path: Path) -> None:
    rows = [_row("plain")]
    path = tmp_path / "results.json"
    RunResults(run=_info(), users=(), inventory=_inventory(), probes=tuple(rows)).write(path)
    text = path.read_text("utf-8").replace('"message":"plain"', '"message":"odd \\ud800"', 1)
    path.write_text(text, "utf-8")
    record = RunResults.load(path)
    assert record.probes[0].message in (f"odd {LONE}", f"odd {REPLACEMENT}")
    record.write(tmp_path / "again.json")
    again = (tmp_path / "again.json").read_bytes().decode("utf-8")
    assert f"odd {REPLACEMENT}" in again


def _info() -> RunInfo:
    return RunInfo("https://erp.example", None, "safe", "s", "f", True, "auditor")


def _inventory() -> Inventory:
    return Inventory(source="auditor", doctypes={}, rules={}, users={})


def _stripped_reference(text: str, terminal: bool) -> str:
    """What strip_controls promises, character by character (no fast path)."""
    import re
    text = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?", "",
                  text)
    keep = "\t\n" if terminal else "\t\n\r"
    out = []
    for ch in text:
        code = ord(ch)
        if ch in keep:
            out.append(ch)
        elif code < 0x20 or 0x7f <= code <= 0x9f or ch in "\u200e\u200f" \
                or 0x202a <= code <= 0x202e or 0x2066 <= code <= 0x2069:
            continue
        elif 0xd800 <= code <= 0xdfff:
            out.append(REPLACEMENT)
        else:
            out.append(ch)
    return "".join(out)


ODD_POINTS = [*range(0x00, 0x20), *range(0x7f, 0xa1), 0x200d, 0x200e, 0x200f, 0x2029,
              *range(0x202a, 0x2030), *range(0x2065, 0x206b), 0xd7ff, 0xd800, 0xdbff, 0xdc00,
              0xdfff, 0xe000, 0xfffd, 0x1f600]


@pytest.mark.parametrize("terminal", [False, True])
@pytest.mark.parametrize("around", ["", "é", "plain "])
def test_strip_controls_on_every_odd_character_is_the_reference(around: str,
                                                                terminal: bool) -> None:
    for code in ODD_POINTS:
        text = f"{around}a{chr(code)}b{around}"
        assert strip_controls(text, terminal=terminal) == _stripped_reference(text, terminal), \
            hex(code)
