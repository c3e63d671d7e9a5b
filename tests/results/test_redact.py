"""The redaction step at the output boundary, and the writers that must all use it."""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from audit.config.secrets import SecretRegistry
from audit.crawl.engine import Checkpoint
from audit.crawl.inventory import DocTypeInfo, FieldInfo, Inventory, ShareRow, TargetDoc, UserFacts
from audit.model import Operation, Outcome, ProbeMethod, ProbeResult
from audit.results.files import (
    append_json_line,
    private_dir,
    private_text,
    write_csv,
    write_json_private,
    write_probes_csv,
)
from audit.results.redact import Redactor, fingerprint, secret_bearing, strip_controls

TOKEN = "a1b2c3d4e5f6a7b8c9d0token"  # an OAuth Bearer Token's name is its access token
CODE = "codeXYZ987654321"


def _sha(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def _row(doctype: str, target: str, message: str = "") -> ProbeResult:
    return ProbeResult(user="bot", doctype=doctype, op=Operation.READ, outcome=Outcome.ALLOWED,
                       method=ProbeMethod.REST, http_status=200, message=message, target=target)


@pytest.mark.parametrize(("dt", "secret"), [
    (DocTypeInfo(name="OAuth Bearer Token", autoname="field:access_token"), True),
    (DocTypeInfo(name="OAuth Authorization Code"), True),
    (DocTypeInfo(name="API Ticket", autoname="field:ticket_token"), True),
    (DocTypeInfo(name="Vault Entry", autoname="field:entry", fields=(
        FieldInfo(fieldname="entry", fieldtype="Password"),)), True),
    (DocTypeInfo(name="Customer", autoname="field:customer_name", fields=(
        FieldInfo(fieldname="customer_name", fieldtype="Data"),)), False),
    (DocTypeInfo(name="Sales Invoice", autoname="naming_series:"), False),
    # Frappe names these from field values too (format: placeholders, any case of prefix)
    (DocTypeInfo(name="API Token", autoname="format:{api_token}"), True),
    (DocTypeInfo(name="API Token", autoname="format:TOK-{secret_key}-{#####}"), True),
    (DocTypeInfo(name="API Token", autoname="Field:token"), True),
    (DocTypeInfo(name="API Token", autoname="FORMAT:{YYYY}-{access_token}"), True),
    (DocTypeInfo(name="API Token", autoname="TOK-.api_token.-.####"), True),
    (DocTypeInfo(name="Vault", autoname="format:{key_value}", fields=(
        FieldInfo(fieldname="key_value", fieldtype="Password"),)), True),
    (DocTypeInfo(name="Vault", autoname="format:V-{owner_ref}-{key_value}", fields=(
        FieldInfo(fieldname="owner_ref", fieldtype="Data"),
        FieldInfo(fieldname="key_value", fieldtype="Password"))), True),
    (DocTypeInfo(name="Vault", autoname="naming_series:", fields=(
        FieldInfo(fieldname="naming_series", fieldtype="Select", options="V-.key_value.-.###"),
        FieldInfo(fieldname="key_value", fieldtype="Password"))), True),
    (DocTypeInfo(name="Error Log", autoname="format:Log on {timestamp}"), False),
    (DocTypeInfo(name="Tracker", autoname="format:{document_type}-{track_field}-{#####}"),
     False),
    (DocTypeInfo(name="Counter", autoname="TOKEN-.YYYY.-.####"), False),
])
def test_secret_bearing_is_decided_from_the_meta(dt: DocTypeInfo, secret: bool) -> None:
    assert secret_bearing(dt) is secret


def test_fingerprint_is_sha256_prefix() -> None:
    assert fingerprint(TOKEN) == _sha(TOKEN)
    assert len(fingerprint(TOKEN)) == len("sha256:") + 12


def test_secret_names_are_fingerprinted_in_fields_and_messages() -> None:
    redactor = Redactor(SecretRegistry())
    row = _row("OAuth Bearer Token", TOKEN, f"OAuth Bearer Token {TOKEN} not found")
    out = redactor.row(row.as_row())
    assert out["target"] == _sha(TOKEN)
    assert out["message"] == f"OAuth Bearer Token {_sha(TOKEN)} not found"
    assert out["doctype"] == "OAuth Bearer Token"  # the DocType's own name is not a secret
    assert redactor.row(out) == out  # never redacted twice
    assert redactor.terminal(f"warning about {TOKEN}") == f"warning about {_sha(TOKEN)}"
    plain = redactor.row(_row("Customer", "Alpha Corp").as_row())
    assert plain["target"] == "Alpha Corp"


def test_a_secret_name_is_fingerprinted_url_encoded_too() -> None:
    redactor = Redactor(SecretRegistry())
    name = "tok/with space+plus"
    assert redactor.name("OAuth Bearer Token", name) == _sha(name)
    line = "GET /api/resource/OAuth%20Bearer%20Token/tok%2Fwith%20space%2Bplus -> 200"
    assert redactor.text(line) == f"GET /api/resource/OAuth%20Bearer%20Token/{_sha(name)} -> 200"
    lower = line.replace("%2F", "%2f").replace("%2B", "%2b")
    assert redactor.text(lower).endswith(f"/{_sha(name)} -> 200")


def test_inventory_targets_and_shares_of_secret_doctypes_are_fingerprinted() -> None:
    redactor = Redactor(SecretRegistry())
    inventory = Inventory(
        source="auditor",
        doctypes={"OAuth Bearer Token": DocTypeInfo(name="OAuth Bearer Token"),
                  "Ticket": DocTypeInfo(name="Ticket", autoname="field:ticket_token"),
                  "Pass": DocTypeInfo(name="Pass", autoname="Format:P-{pass_key}", fields=(
                      FieldInfo(fieldname="pass_key", fieldtype="Password"),))},
        targets={"OAuth Bearer Token": (TargetDoc(name=TOKEN, owner="a@b.c"),),
                 "Ticket": (TargetDoc(name="tkt-secret-0042"),),
                 "Pass": (TargetDoc(name="P-hunter2hunter2"),),
                 "Customer": (TargetDoc(name="Alpha Corp"),)},
        users={"a@b.c": UserFacts(frappe_user="a@b.c", shares=(
            ShareRow(doctype="OAuth Authorization Code", name=CODE),))},
    )
    redactor.learn_inventory(inventory)
    text = json.dumps(redactor.json(inventory.to_json()))
    for secret in (TOKEN, CODE, "tkt-secret-0042", "P-hunter2hunter2"):
        assert secret not in text
        assert _sha(secret) in text
    assert "Alpha Corp" in text and "OAuth Bearer Token" in text


def test_configured_secrets_are_masked_and_controls_stripped() -> None:
    registry = SecretRegistry()
    registry.register("api-secret-77aa")
    redactor = Redactor(registry)
    assert redactor.text("bad api-secret-77aa\x1b[2J\x07 here") == "bad *** here"
    assert redactor.terminal("a\rb\x1b]0;title\x07c\u202ed\nnext") == "abcd\nnext"


def test_strip_controls_keeps_newline_and_tab() -> None:
    assert strip_controls("a\tb\nc\x00\x1b[31mred\x1b[0m\x9b\r") == "a\tb\ncred\r"
    assert strip_controls("a\rb", terminal=True) == "ab"


def test_every_writer_redacts_and_writes_0600(tmp_path: Path) -> None:
    out = private_dir(tmp_path / "run")
    redactor = Redactor(SecretRegistry())
    rows = [_row("OAuth Bearer Token", TOKEN, f"cannot read {TOKEN}")]
    write_probes_csv(out / "probes.csv", rows, redactor)
    write_json_private(out / "results.json", {"probes": [r.as_json() for r in rows]}, redactor)
    append_json_line(out / "checkpoint.jsonl", {"kind": "probe", "row": rows[0].as_row()},
                     redactor)
    for name in ("probes.csv", "results.json", "checkpoint.jsonl"):
        path = out / name
        assert TOKEN not in path.read_text("utf-8"), name
        assert _sha(TOKEN) in path.read_text("utf-8"), name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


def test_any_text_file_is_redacted_as_a_whole(tmp_path: Path) -> None:
    """A page or a JSON dump written in pieces: a secret split between writes is found."""
    registry = SecretRegistry()
    registry.register("page-secret-0042")
    redactor = Redactor(registry)
    redactor.learn(TOKEN)
    out = private_dir(tmp_path / "run")
    with private_text(out / "report.html", redactor=redactor) as fh:
        fh.write("<td>page-sec")
        fh.write("ret-0042</td><td>")
        fh.write(f"{TOKEN[:5]}")
        fh.write(f"{TOKEN[5:]}</td>")
    text = (out / "report.html").read_text("utf-8")
    assert text == f"<td>***</td><td>{_sha(TOKEN)}</td>"
    assert stat.S_IMODE((out / "report.html").stat().st_mode) == 0o600


def test_checkpoint_file_is_private_and_redacted(tmp_path: Path) -> None:
    out = private_dir(tmp_path / "run")
    old = os.umask(0o022)
    try:
        checkpoint = Checkpoint(out / "checkpoint.jsonl")
        checkpoint.probe(_row("OAuth Bearer Token", TOKEN))
    finally:
        os.umask(old)
    path = out / "checkpoint.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert TOKEN not in path.read_text("utf-8")


def test_append_refuses_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    link = tmp_path / "checkpoint.jsonl"
    link.symlink_to(victim)
    with pytest.raises(OSError):
        append_json_line(link, {"kind": "probe"})
    assert victim.read_text() == "keep\n"


def test_csv_writer_neutralises_every_cell(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    write_csv(path, ["a", "b"], [{"a": "=HYPERLINK(\"http://x\")", "b": "@SUM(A1)"},
                                 {"a": "+1", "b": "-2"}, {"a": "\tx", "b": "\rcmd"}],
              Redactor(SecretRegistry()))
    with path.open(newline="") as fh:
        cells = [c for row in list(csv.reader(fh))[1:] for c in row]
    assert cells == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "'+1", "'-2", "'\tx", "'\rcmd"]


AUDIT = Path(__file__).resolve().parents[2] / "audit"
_WRITE_CALLS = {"write_text", "write_bytes", "open"}


def _writes_files(path: Path) -> list[str]:
    """Calls that open a file for writing, outside audit/results/files.py."""
    hits = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("write_text", "write_bytes", "fdopen"):
            hits.append(f"{path.name}:{node.lineno} {name}")
        elif name == "open":
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            modes += [k.value.value for k in node.keywords
                      if k.arg == "mode" and isinstance(k.value, ast.Constant)]
            if any(isinstance(m, str) and set(m) & set("wax+") for m in modes) or (
                    isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id == "os"):
                hits.append(f"{path.name}:{node.lineno} open")
    return hits


def test_no_file_is_written_outside_the_private_writers() -> None:
    """Every output passes the Redactor and gets 0600: only results/files.py writes files."""
    allowed = {AUDIT / "results" / "files.py"}
    hits = [h for p in sorted(AUDIT.rglob("*.py"))
            if p not in allowed and "sim" not in p.relative_to(AUDIT).parts
            for h in _writes_files(p)]
    assert hits == []
