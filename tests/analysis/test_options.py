"""[findings] severity in the config, --sod-rules files, minimal role sets, usage reading."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.analysis import AnalysisOptions, analyse
from audit.analysis.sod import load_rules, parse_rules
from audit.cli import cli
from audit.config.loader import ConfigError, load_config
from audit.crawl.usage import version_op
from audit.model import Severity
from audit.status import UsageError

from .conftest import Crawl
from .synthetic import probe, record, rules, user

SITE = '[site]\nurl = "https://erp.example"\n[[users]]\nname = "a"\nauth = "token"\n' \
       'api_key = "${K}"\napi_secret = "${S}"\n'
ENV = {"K": "key123", "S": "secret456"}


def config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "audit.toml"
    path.write_text(SITE + extra, "utf-8")
    return path


def test_findings_severity_lowers_a_rule(tmp_path: Path) -> None:
    loaded = load_config(config(tmp_path, '[findings]\nseverity = { "no-ip-restriction" = '
                                          '"info", "plain-http" = "medium" }\n'), env=ENV)
    assert dict(loaded.severity) == {"no-ip-restriction": Severity.INFO,
                                     "plain-http": Severity.MEDIUM}


@pytest.mark.parametrize(("extra", "words"), [
    ('[findings]\nseverity = { "plain-http" = "critical" }\n', "can only be lowered"),
    ('[findings]\nseverity = { "no-such-rule" = "low" }\n', "unknown key"),
    ('[findings]\nseverity = { "plain-http" = "urgent" }\n', "unknown severity 'urgent'"),
    ('[findings]\nhide = ["plain-http"]\n', "findings.hide: unknown key"),
])
def test_bad_findings_section_is_one_line(tmp_path: Path, extra: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(config(tmp_path, extra), env=ENV)
    assert words in str(err.value) and "audit.toml" in str(err.value)


def test_shipped_sod_pack_has_the_erpnext_defaults() -> None:
    ids = {r.id for r in load_rules()}
    assert {"vendor-master-and-payment", "vendor-invoice-and-payment",
            "customer-master-and-invoice", "journal-create-and-submit"} <= ids


def test_extra_sod_rules_add_and_replace(tmp_path: Path) -> None:
    extra = tmp_path / "sod.toml"
    extra.write_text('[[rule]]\nid = "journal-create-and-submit"\ntitle = "x"\n'
                     'a = ["Journal Entry|write"]\nb = ["Journal Entry|submit"]\n'
                     '[[rule]]\nid = "mine"\na = ["Item|create"]\nb = ["Price List|write"]\n',
                     "utf-8")
    rules_ = {r.id: r for r in load_rules(extra)}
    assert rules_["journal-create-and-submit"].a == (("Journal Entry", "write"),)
    assert rules_["mine"].b == (("Price List", "write"),)
    out = analyse(record([probe("u", "Item", "create", "allowed"),
                          probe("u", "Price List", "write", "allowed")]),
                  AnalysisOptions(sod_rules=extra))
    conflict = [f for f in out.findings if f.rule == "sod-conflict"]
    assert [set(f.evidence) for f in conflict] == [{"u|Item|create", "u|Price List|write"}]


@pytest.mark.parametrize(("text", "words"), [
    ('[[rule]]\nid = "x"\na = ["Item"]\nb = ["Item|read"]\n', "rule[0].a[0]"),
    ('[[rule]]\nid = "x"\na = []\nb = ["Item|read"]\n', "non-empty list"),
    ('[[rule]]\na = ["Item|read"]\nb = ["Item|read"]\n', "rule[0].id"),
    ('[rules]\n', "unknown key"),
])
def test_bad_sod_file_is_one_line(text: str, words: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_rules(text, "mine.toml")
    assert words in str(err.value) and str(err.value).startswith("mine.toml: ")


def test_bad_sod_file_on_the_command_line_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "sod.toml"
    bad.write_text('[[rule]]\nid = "x"\na = ["Item|fly"]\nb = ["Item|read"]\n', "utf-8")
    result = CliRunner().invoke(cli, ["run", "-c", str(config(tmp_path, "")), "--sod-rules",
                                      str(bad), "-o", str(tmp_path / "out")], env=ENV)
    assert result.exit_code == 2, result.output
    assert "Item|fly" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # refused before anything was probed


def test_minimal_roles_greedy_cover_and_what_it_removes() -> None:
    grant = rules("Customer: Sales: read write create", "Customer: Admin_Helper: read write create",
                  "Item: Admin_Helper: read write", "Item: Stock: read",
                  "Role: Admin_Helper: read write")
    u = user(roles=("Admin Helper",), expect={"Customer": ("read", "create"), "Item": ("read",)})
    cells = [probe("u", dt, op, "allowed") for dt, op in (
        ("Customer", "read"), ("Customer", "create"), ("Customer", "write"), ("Item", "read"),
        ("Item", "write"), ("Role", "write"))]
    out = analyse(record(cells, users=[u], rule_rows=grant), AnalysisOptions())
    summary = out.analysis["users"]["u"]
    # Admin Helper covers all three needed cells alone: greedy takes it over Sales + Stock
    assert summary["minimal_roles"] == ["Admin Helper"]
    assert summary["minimal_roles_method"] == "greedy set cover"
    assert summary["minimal_roles_removes"] == []
    # same coverage of the need, fewer rights: Sales wins the tie; then Stock for Item
    lean = rules("Customer: Sales: read create", "Item: Stock: read",
                 "Customer: Admin_Helper: read write create", "Role: Admin_Helper: read write")
    out = analyse(record(cells, users=[u], rule_rows=lean), AnalysisOptions())
    summary = out.analysis["users"]["u"]
    assert summary["minimal_roles"] == ["Sales", "Stock"]
    assert summary["minimal_roles_removes"] == ["u|Customer|write", "u|Item|write",
                                                "u|Role|write"]


@pytest.mark.parametrize(("data", "op"), [
    ('{"changed": [["docstatus", 0, 1]]}', "submit"),
    ('{"changed": [["docstatus", 1, 2]]}', "cancel"),
    ('{"changed": [["notes", null, "x"]]}', "write"),
    ("not json", "write"),
])
def test_version_rows_read_as_ops(data: str, op: str) -> None:
    assert version_op(data) == op


def test_usage_is_read_from_the_sites_records(demo_run: Crawl) -> None:
    usage = demo_run.results.usage or {}
    assert usage["clerk"]["Sales Order|delete"] == 1  # a Deleted Document row
    assert usage["clerk"]["Customer|write"] >= 1  # a Version row
    assert usage["former"] == {}
    assert not any(k.endswith("|read") for counts in usage.values() for k in counts)
