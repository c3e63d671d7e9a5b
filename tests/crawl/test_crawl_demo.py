"""The crawler against the demo site: every verdict equals the site's own engine."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from audit.model import Mode, Operation, Outcome
from audit.sim.server import SimServer
from audit.status import ExitCode

from .conftest import demo_config, mismatches, run

MUTATING_PATHS = ("/api/method/login", "/api/method/logout",
                  "/api/method/frappe.integrations.oauth2.get_token")


@pytest.mark.slow
def test_safe_audit_agrees_with_the_engine_on_every_cell(demo_sim: SimServer,
                                                         tmp_path: Path) -> None:
    # the demo's planted risks are findings; this test is about the cells
    result = run(demo_config(demo_sim), tmp_path / "out", fail_on=None)
    assert result.code is ExitCode.OK, result.warned
    users = result.data["users"]
    doctypes = result.data["inventory"]["doctypes"]
    # every cell accounted for: users x DocTypes x ops, each exactly once
    keys = Counter((r["user"], r["doctype"], r["op"]) for r in result.rows)
    assert len(keys) == len(users) * len(doctypes) * len(Operation)
    assert set(keys.values()) == {1}
    assert not mismatches(result, demo_sim)
    outcomes = Counter(r["outcome"] for r in result.rows)
    assert outcomes[Outcome.ALLOWED.value] and outcomes[Outcome.DENIED.value]
    assert not outcomes[Outcome.ERROR.value] and not outcomes[Outcome.UNTESTABLE.value]
    # safe mode really used REST probes for the mutating verbs, not only questions
    methods = Counter((r["op"], r["method"]) for r in result.rows)
    for op in ("write", "create", "delete", "submit"):
        assert methods[(op, "rest")], f"no REST probe for {op}"


@pytest.mark.slow
def test_safe_audit_changes_no_document(demo_sim: SimServer, tmp_path: Path) -> None:
    def snapshot() -> dict[str, list[tuple[str, int, str]]]:
        return {dt: sorted((d.name, d.docstatus, d.modified) for d in docs.values())
                for dt, docs in demo_sim.site.documents.items() if dt != "Activity Log"}

    def activity() -> list[object]:
        return list(demo_sim.site.docs("Activity Log").values())

    before, logged_before = snapshot(), len(activity())
    run(demo_config(demo_sim), tmp_path / "out")
    assert demo_sim.journal == []
    assert snapshot() == before
    # what a password login leaves behind, as the README says: Login / Logout rows only
    added = activity()[logged_before:]
    assert added and {d.values.get("operation") for d in added} <= {"Login", "Logout"}
    verbs = Counter(r.method for r in demo_sim.controls.requests)
    assert verbs["PUT"] and verbs["POST"] and verbs["DELETE"]  # the probes did run


@pytest.mark.slow
def test_passive_audit_only_reads_and_asks(demo_sim: SimServer, tmp_path: Path) -> None:
    # the demo's planted risks are findings; this test is about the cells
    result = run(demo_config(demo_sim, mode=Mode.PASSIVE), tmp_path / "out", fail_on=None)
    assert result.code is ExitCode.OK
    for record in demo_sim.controls.requests:
        assert record.method == "GET" or record.path.startswith(MUTATING_PATHS), record
    mutating = [r for r in result.rows if r["op"] != "read" and r["outcome"] in
                ("allowed", "denied")]
    assert mutating and all(r["method"] == "ask" for r in mutating)
    assert not mismatches(result, demo_sim)


@pytest.mark.slow
def test_active_audit_leaves_no_probe_document(demo_sim: SimServer, tmp_path: Path) -> None:
    config = demo_config(demo_sim, mode=Mode.ACTIVE, allow_active=True)
    # the demo's planted risks are findings; this test is about the cells
    result = run(config, tmp_path / "out", fail_on=None)
    assert result.code is ExitCode.OK, result.warned
    inserted = Counter((e.doctype, e.name) for e in demo_sim.journal if e.action == "insert")
    deleted = Counter((e.doctype, e.name) for e in demo_sim.journal if e.action == "delete")
    assert inserted, "active mode created no probe document"
    assert inserted == deleted
    marker = re.compile("permaudit-probe")
    # Frappe's own history of the lifecycle (Deleted Document, Version, Comment rows) stays.
    history = {"Deleted Document", "Version", "Comment", "Activity Log"}
    for doctype, docs in demo_sim.site.documents.items():
        if doctype in history:
            continue
        for doc in docs.values():
            assert not marker.search(doc.name)
            assert not any(marker.search(str(v)) for v in doc.values.values())
    creates = [r for r in result.rows if r["op"] == "create" and r["method"] == "rest"
               and r["http_status"] == 200]
    assert creates, "no create went through for real"
    assert (tmp_path / "out" / "probe-documents.jsonl").stat().st_mode & 0o777 == 0o600


def test_output_order_does_not_depend_on_thread_timing(demo_sim: SimServer,
                                                       tmp_path: Path) -> None:
    subset = ("Customer", "Sales Invoice", "ToDo", "User", "Payment Entry")
    one = run(demo_config(demo_sim, concurrency=1, doctypes=subset), tmp_path / "one")
    eight = run(demo_config(demo_sim, concurrency=8, doctypes=subset), tmp_path / "eight")
    keep = ("user", "doctype", "op", "outcome", "method", "http_status", "target", "limits")
    assert [[r[k] for k in keep] for r in one.rows] == [[r[k] for k in keep] for r in eight.rows]
    assert (tmp_path / "one" / "probes.csv").read_text().count("\n") == len(one.rows) + 1
