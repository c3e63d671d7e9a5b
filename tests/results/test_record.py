"""RunResults round-trips through results.json and refuses what it cannot read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.crawl.inventory import (
    DocTypeInfo,
    FieldInfo,
    Inventory,
    RuleRow,
    ShareRow,
    TargetDoc,
    UserFacts,
    UserPermRow,
)
from audit.model import Attempt, Finding, Operation, Outcome, ProbeMethod, ProbeResult, Severity
from audit.results.record import (
    SCHEMA_VERSION,
    Incident,
    RunInfo,
    RunResults,
    SchemaError,
    UserRecord,
)


def sample() -> RunResults:
    inventory = Inventory(
        source="auditor",
        doctypes={"Customer": DocTypeInfo(name="Customer", module="Selling", fields=(
            FieldInfo("customer_name", "Data", reqd=True),))},
        targets={"Customer": (TargetDoc("CUST-1", owner="a@x", links=(("territory", "EU"),)),)},
        rules={"Customer": (RuleRow("Customer", "Sales User", rights=frozenset({"read"})),)},
        users={"a@x": UserFacts("a@x", roles=("Sales User",), user_type="System User",
                                enabled=True, has_api_key=True,
                                user_permissions=(UserPermRow("Company", "Alpha"),),
                                shares=(ShareRow("Customer", "CUST-1", write=True),))},
        listed=frozenset({"Customer"}))
    row = ProbeResult(user="bot", doctype="Customer", op=Operation.WRITE,
                      outcome=Outcome.ALLOWED, method=ProbeMethod.REST, http_status=417,
                      exc_type="TimestampMismatchError", target="CUST-1", limits=("share",),
                      latency_ms=12.5, at="2026-01-01T00:00:00Z", attempts=(
                          Attempt("CUST-9", ProbeMethod.REST, 404, "DoesNotExistError", "",
                                  "missing: next target"),
                          Attempt("CUST-1", ProbeMethod.REST, 417, "TimestampMismatchError")))
    return RunResults(
        run=RunInfo(site="http://127.0.0.1:1", host="demo.localhost", mode="safe",
                    started="s", finished="f", complete=True, discovery="auditor",
                    tool_version="0.1.0", config_digest="sha256:ab", site_id="x",
                    notes=("n",), pace={"final_rps": 30.0}),
        users=(UserRecord("bot", "token", "a@x", roles=("Sales User",), enabled=True,
                          expect={"Customer": ("read",)}),
               UserRecord("gone", "password", None, auth_failure="wrong password")),
        inventory=inventory, probes=(row,),
        incidents=(Incident("bot", "Note", "create", "t", 200, "sha256:0123456789ab"),),
        findings=(Finding("auth-failed:1", Severity.HIGH, "auth-failed", user="gone",
                          evidence=("user:gone",)),),
        analysis={"outcomes": {"allowed": 1}}, usage={"bot": {"Customer|write": 3}},
        usage_days=90)


def test_round_trip_through_json_text() -> None:
    original = sample()
    loaded = RunResults.from_json(json.loads(json.dumps(original.to_json())))
    assert loaded == original


def test_write_and_load_are_private(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    sample().write(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert RunResults.load(path) == sample()


@pytest.mark.parametrize(("content", "fragment"), [
    ("{", "not valid JSON"),
    ("[]", "not a permaudit results.json"),
    (json.dumps({"run": {}, "probes": []}), "schema_version"),
    (json.dumps({"schema_version": SCHEMA_VERSION + 1, "run": {}, "probes": []}), "newer"),
    (json.dumps({"schema_version": SCHEMA_VERSION, "run": {}, "probes": [{"user": "u"}]}),
     "malformed"),
])
def test_unreadable_files_are_one_sentence(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        RunResults.load(path)
    assert fragment in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_keys_of_the_same_schema_are_ignored() -> None:
    data = sample().to_json()
    data["something_later"] = {"x": 1}
    data["run"]["also_later"] = True
    assert RunResults.from_json(data) == sample()


def _sample_json() -> dict[str, Any]:
    path_free = sample().to_json()
    return json.loads(json.dumps(path_free, default=str))


def _last_probe(d: dict[str, Any]) -> str:
    d["probes"][-1]["op"] = "fly"
    return f"probes[{len(d['probes']) - 1}]"


def _first_probe(d: dict[str, Any]) -> str:
    d["probes"][0]["outcome"] = "maybe"
    return "probes[0]"


def _finding(d: dict[str, Any]) -> str:
    d.setdefault("findings", []).append({"id": "x", "severity": "dire", "rule": "r"})
    return f"findings[{len(d['findings']) - 1}]"


def _user(d: dict[str, Any]) -> str:
    users = d["users"]
    first = next(iter(users))
    users[first]["roles"] = 5
    return "users[0]"


@pytest.mark.parametrize(("damage"), [
    _last_probe, _first_probe, _finding, _user,
    lambda d: d.update(run=7) or "run",
    lambda d: d["inventory"].update(doctypes=7) or "inventory",
    lambda d: d.update(usage={"bot": 7}) or "usage",
])
def test_a_malformed_file_says_where(tmp_path: Path, damage: Any) -> None:
    data = _sample_json()
    where = damage(data)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        RunResults.load(path)
    message = str(info.value)
    assert f"malformed {where} (" in message and str(path) in message, message
    assert "\n" not in message
