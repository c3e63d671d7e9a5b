"""Without an [auditor] account: the configured DocTypes (or the shipped catalogue),
targets from what each user lists itself, and still no wrong verdict."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from audit.sim.server import SimServer
from audit.status import ExitCode

from .conftest import demo_config, mismatches, run

SCOPE = ("Customer", "Sales Order", "Sales Invoice", "ToDo", "Note", "No Such DocType")


def test_configured_doctypes_without_auditor(demo_sim: SimServer, tmp_path: Path) -> None:
    config = demo_config(demo_sim, doctypes=SCOPE)
    config = replace(config, auditor=None)
    # the demo's planted risks are findings; this test is about the cells
    result = run(config, tmp_path / "out", fail_on=None)
    assert result.code is ExitCode.OK
    assert result.data["run"]["discovery"] == "config"
    assert "No Such DocType" not in result.data["inventory"]["doctypes"]
    assert any("No Such DocType" in w for w in result.warned)
    assert set(result.data["inventory"]["doctypes"]) == set(SCOPE) - {"No Such DocType"}
    assert not mismatches(result, demo_sim, verdicts_only=True)
    assert demo_sim.journal == []
    # what users can list themselves still finds their documents: shares, own, restricted
    cells = {(r["user"], r["doctype"], r["op"]): r for r in result.rows}
    assert cells[("shared", "Sales Invoice", "read")]["outcome"] == "allowed"
    assert cells[("owner", "Sales Order", "write")]["outcome"] == "allowed"
    assert cells[("clerk", "Sales Order", "read")]["outcome"] == "allowed"


def test_catalogue_without_auditor_keeps_only_what_the_site_has(demo_sim: SimServer,
                                                                tmp_path: Path) -> None:
    config = demo_config(demo_sim)
    config = replace(config, auditor=None, users=config.users[:2])
    # the demo's planted risks are findings; this test is about the cells
    result = run(config, tmp_path / "out", fail_on=None)
    assert result.code is ExitCode.OK
    assert result.data["run"]["discovery"] == "catalogue"
    assert set(result.data["inventory"]["doctypes"]) <= set(demo_sim.site.doctypes)
    assert any("catalogue" in w for w in result.warned)
    assert not mismatches(result, demo_sim, verdicts_only=True)
