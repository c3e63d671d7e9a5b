"""Without an [auditor] account: the configured DocTypes (or the shipped catalogue),
targets from what each user lists itself, and still no wrong verdict."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from audit.auth.identities import LoginBudget, connect
from audit.crawl.discovery import Discovery, Scope
from audit.crawl.probes import GETDOCTYPE
from audit.http.client import ClientOptions
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


def test_catalogue_meta_answered_500_is_asked_again(demo_sim: SimServer) -> None:
    # Without an auditor the catalogue is a guess that each DocType's meta confirms; a meta
    # answered 5xx is asked again, or the DocType stays in scope unconfirmed and every
    # probe of it fails against a DocType the site does not have.
    config = demo_config(demo_sim)
    options = ClientOptions(host_header=demo_sim.host, retries=1, backoff=0.01)
    with connect(config.users[0], config.site.url, options, None, LoginBudget()) as client:
        demo_sim.controls.seed(3)
        demo_sim.controls.error_rate = 0.05
        inventory = Discovery(None, client, Scope(), workers=1).run()
        demo_sim.controls.error_rate = 0.0
    metas = [r.status for r in demo_sim.controls.requests if r.path.endswith(GETDOCTYPE)]
    assert metas.count(500) >= 5, "the faults never reached a meta"
    assert inventory.source == "catalogue"
    assert set(inventory.doctypes) <= set(demo_sim.site.doctypes)
