"""Configured vs observed on a real crawl: a hook that denies what DocPerm grants, and a
share that grants what DocPerm does not, each come out as rule-mismatch with its cause."""

from __future__ import annotations

from pathlib import Path

from audit.sim.fixtures.demo import build
from audit.sim.server import SimServer

from .conftest import crawl


def test_hook_denial_and_share_grant_are_rule_mismatches(tmp_path: Path) -> None:
    site = build()
    site.doctypes["Customer"].hook = "deny"  # an installed app's has_permission hook
    with SimServer(fixture=site, port=0) as sim:
        run = crawl(sim, tmp_path, users=("clerk", "shared"),
                    doctypes=("Customer", "Sales Invoice"))
    found = [f for f in run.results.findings if f.rule == "rule-mismatch"]
    hook = [f for f in found if f.user == "clerk" and f.doctype == "Customer"]
    assert hook and all("permission hook" in f.detail for f in hook), [f.detail for f in found]
    assert "clerk|Customer|read" in {e for f in hook for e in f.evidence}
    share = [f for f in found if f.user == "shared" and f.doctype == "Sales Invoice"]
    assert len(share) == 1 and "a share" in share[0].detail
    assert set(share[0].evidence) == {"shared|Sales Invoice|read", "shared|Sales Invoice|write"}


def test_without_the_hook_nothing_disagrees_on_customer(tmp_path: Path) -> None:
    with SimServer(fixture="demo", port=0) as sim:
        run = crawl(sim, tmp_path, users=("clerk",), doctypes=("Customer",))
    assert [f.detail for f in run.results.findings if f.rule == "rule-mismatch"] == []
