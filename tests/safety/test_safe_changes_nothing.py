"""A ``safe`` audit of every hazard leaves the simulator's journal empty, guard by guard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.config.loader import load_config
from audit.crawl.discovery import Discovery
from audit.crawl.inventory import Inventory
from audit.http.pacing import RateLimiter
from audit.runner import RunRequest, run_audit
from audit.sim.fixtures import hazards
from audit.sim.fixtures.kit import doctype as doctype_def
from audit.sim.model import Document, SiteData
from audit.sim.server import SimServer

from .conftest import SAFE_DOCTYPES, audit, changes, wrong_verdicts


def test_a_safe_audit_of_every_hazard_changes_nothing(sim: SimServer, tmp_path: Path) -> None:
    result = audit(sim, tmp_path, users=("hazard", "clerk", "partner"), doctypes=SAFE_DOCTYPES)
    assert changes(sim) == []
    assert result.data["incidents"] == []
    assert not wrong_verdicts(sim, result)
    assert {r["user"] for r in result.rows} == {"hazard", "clerk", "partner"}


def test_create_without_a_field_the_site_must_reject_is_asked(sim: SimServer,
                                                              tmp_path: Path) -> None:
    # no field at all, or only a read-only / virtual / permlevel-1 one: {} or a value that
    # vanishes before validation would be accepted (Address Template, Document Share Key)
    result = audit(sim, tmp_path, doctypes=hazards.CREATE_HAZARDS)
    assert changes(sim) == []
    for doctype in hazards.CREATE_HAZARDS:
        row = result.row("hazard", doctype, "create")
        assert (row["method"], row["outcome"]) == ("ask", "allowed"), row
    assert not [r for r in sim.controls.requests if r.method == "POST"]


def test_create_answered_500_is_asked_not_an_error(sim: SimServer, tmp_path: Path) -> None:
    # Submission Queue's controller fails before the create check: the 500 proves nothing
    result = audit(sim, tmp_path, doctypes=("Hazard Queue",))
    row = result.row("hazard", "Hazard Queue", "create")
    assert (row["method"], row["outcome"]) == ("ask", "allowed"), row
    assert "500" in row["reason"]
    assert changes(sim) == []


def test_write_probe_skips_a_document_whose_modified_is_empty(sim: SimServer,
                                                              tmp_path: Path) -> None:
    result = audit(sim, tmp_path, doctypes=("Hazard Note",))
    row = result.row("hazard", "Hazard Note", "write")
    assert (row["method"], row["outcome"], row["target"]) == ("ask", "allowed", "HN-EMPTY"), row
    assert not [r for r in sim.controls.requests if r.method == "PUT"]
    assert changes(sim) == []


def test_submit_probe_is_asked_under_a_user_permission_on_its_link_target(
        sim: SimServer, tmp_path: Path) -> None:
    # the bogus amended_from would fail the write check on the User Permission: a false 403
    result = audit(sim, tmp_path, doctypes=("Hazard Order",))
    row = result.row("hazard", "Hazard Order", "submit")
    assert (row["method"], row["outcome"]) == ("ask", "allowed"), row
    assert not wrong_verdicts(sim, result)
    assert changes(sim) == []


def test_delete_is_never_resent_to_a_document_cancelled_after_a_429(sim: SimServer,
                                                                     tmp_path: Path) -> None:
    path = "/api/resource/Hazard Invoice/HINV-SUB"

    def cancel(site: object) -> None:  # someone cancels it while the DELETE waits out a 429
        sim.site.docs("Hazard Invoice")["HINV-SUB"].docstatus = 2

    sim.controls.throttle_next("DELETE", path, action=cancel)
    result = audit(sim, tmp_path, doctypes=("Hazard Invoice",))
    deletes = [r for r in sim.controls.requests if r.method == "DELETE"]
    assert [(r.path, r.status) for r in deletes] == [(path, 429)]
    assert changes(sim) == []
    assert "HINV-SUB" in sim.site.docs("Hazard Invoice")
    row = result.row("hazard", "Hazard Invoice", "delete")
    assert row["method"] == "ask" and row["outcome"] == "allowed", row


def test_delete_probe_waits_out_a_429_while_the_document_stays_submitted(
        sim: SimServer, tmp_path: Path) -> None:
    path = "/api/resource/Hazard Invoice/HINV-SUB"
    sim.controls.throttle_next("DELETE", path)
    result = audit(sim, tmp_path, doctypes=("Hazard Invoice",))
    deletes = [(r.path, r.status) for r in sim.controls.requests if r.method == "DELETE"]
    assert deletes == [(path, 429), (path, 417)]
    row = result.row("hazard", "Hazard Invoice", "delete")
    assert (row["method"], row["outcome"]) == ("rest", "allowed"), row
    assert changes(sim) == []


def test_delete_probe_needs_the_doctype_submittable_now(sim: SimServer, tmp_path: Path) -> None:
    # discovery saw Hazard Invoice submittable; by the time its cells run it no longer is,
    # and Frappe deletes a docstatus-1 document of a DocType that is not submittable
    def not_submittable(site: object) -> None:
        sim.site.doctypes["Hazard Invoice"].is_submittable = False

    sim.controls.throttle_next("GET", "/api/resource/Hazard Invoice", action=not_submittable)
    result = audit(sim, tmp_path, doctypes=("Hazard Invoice",))
    assert not [r for r in sim.controls.requests if r.method == "DELETE"]
    assert changes(sim) == []
    assert result.row("hazard", "Hazard Invoice", "delete")["method"] == "ask"


def test_a_create_probe_runs_hooks_whose_outside_effects_stay(sim: SimServer,
                                                              tmp_path: Path) -> None:
    # the README's residue: the insert is rolled back, a mail a hook sent at once is not
    result = audit(sim, tmp_path, doctypes=("Hazard Mailer",))
    row = result.row("hazard", "Hazard Mailer", "create")
    assert (row["method"], row["outcome"], row["http_status"]) == ("rest", "allowed", 417), row
    assert changes(sim) == []
    assert sim.site.outbox == [f"hazard@{hazards.DOMAIN}: a new Hazard Mailer is being created"]


def _bogus_value(row: dict[str, object]) -> str:
    """The link value the site says it could not find (its 417 LinkValidationError)."""
    message = str(row["message"])
    assert "Could not find" in message, row
    return message.rsplit(":", 1)[1].strip()


def test_the_submit_probe_link_value_cannot_be_planted(tmp_path: Path) -> None:
    # a document named like a fixed "nonexistent" value (planted, or imported) would make
    # the bad link valid and the draft would really be submitted
    seen = []
    for run in ("one", "two"):
        site = hazards.build()
        for name in ("__permaudit_nonexistent__", "__audit_nonexistent__"):
            site.docs("Hazard Invoice")[name] = Document(
                "Hazard Invoice", name, owner="Administrator", docstatus=2,
                creation=hazards.STAMP, modified=hazards.STAMP, modified_by="Administrator",
                values={"title": "planted"})
        (tmp_path / run).mkdir()
        with SimServer(fixture=site, port=0) as sim:
            result = audit(sim, tmp_path / run, doctypes=("Hazard Invoice",))
            assert changes(sim) == []
            assert sim.site.docs("Hazard Invoice")["HINV-DRAFT"].docstatus == 0
            row = result.row("hazard", "Hazard Invoice", "submit")
            assert (row["method"], row["outcome"], row["http_status"]) == ("rest", "allowed",
                                                                           417), row
            seen.append(_bogus_value(row))
    assert seen[0] != seen[1] and len(seen[0]) >= 32, seen


def test_write_probe_never_sends_the_modified_a_document_holds(tmp_path: Path) -> None:
    # Frappe's timestamp check passes when the stored modified equals the one sent, and the
    # PUT really saves: a legacy import stamped with the probe's usual stale value
    site = hazards.build()
    del site.docs("Hazard Note")["HN-EMPTY"]
    stamp = "2000-01-01 00:00:00"
    site.docs("Hazard Note")["HN-2000"] = Document(
        "Hazard Note", "HN-2000", owner=f"hazard@{hazards.DOMAIN}", creation=stamp,
        modified=stamp, modified_by=f"hazard@{hazards.DOMAIN}", values={"title": "legacy"})
    with SimServer(fixture=site, port=0) as sim:
        result = audit(sim, tmp_path, users=("hazard", "clerk"), doctypes=("Hazard Note",))
        assert changes(sim) == []
        assert result.data["incidents"] == []
        for user in ("hazard", "clerk"):
            row = result.row(user, "Hazard Note", "write")
            assert (row["method"], row["outcome"], row["http_status"], row["target"]) == (
                "rest", "allowed", 417, "HN-2000"), row
        assert sim.site.docs("Hazard Note")["HN-2000"].modified == stamp


def test_no_limiter_wait_comes_between_the_docstatus_read_and_the_delete(
        sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Once the delete cell runs (one worker: after the create probe's POST), another user
    # cancels HINV-SUB when a request of the crawl waits for the limiter right after the
    # site answered a read of HINV-SUB: a DELETE that waits there (up to 120 s after a
    # 429) would hit a cancelled document, and Frappe would delete it.
    path = "/api/resource/Hazard Invoice/HINV-SUB"
    acquire = RateLimiter.acquire

    def acquire_and_race(limiter: RateLimiter) -> None:
        seen = [(r.method, r.path) for r in sim.controls.requests]
        if "POST" in {m for m, _p in seen} and seen[-1] == ("GET", path):
            sim.site.docs("Hazard Invoice")["HINV-SUB"].docstatus = 2
        acquire(limiter)

    monkeypatch.setattr(RateLimiter, "acquire", acquire_and_race)
    result = audit(sim, tmp_path, doctypes=("Hazard Invoice",), concurrency=1)
    assert changes(sim) == []
    assert "HINV-SUB" in sim.site.docs("Hazard Invoice")
    sent = [(r.method, r.path) for r in sim.controls.requests]
    delete = sent.index(("DELETE", path))
    assert sent[delete - 1] == ("GET", path), sent  # read, then at once the DELETE
    row = result.row("hazard", "Hazard Invoice", "delete")
    assert (row["method"], row["outcome"], row["http_status"]) == ("rest", "allowed", 417), row


def _raise_permlevel(site: SiteData, doctype: str, fieldname: str) -> None:
    """What Customize Form does between discovery and a probe (a Property Setter)."""
    for f in site.doctypes[doctype].fields:
        if f.fieldname == fieldname:
            f.permlevel = 1


def test_a_resumed_run_plans_its_submit_probe_from_the_meta_of_now(tmp_path: Path) -> None:
    # run 1 is cut short before the submit cell; between the runs amended_from moves to
    # permlevel 1, where the bogus value is reset silently and the submit would go through
    with SimServer(fixture=hazards.build(), port=0) as sim:
        config_file = tmp_path / "audit.toml"
        config_file.write_text(hazards.config_toml("safe", ("hazard",)), encoding="utf-8")
        config = load_config(config_file, env=hazards.environment(sim.site, sim.url),
                             warn=lambda _m: None)
        out = tmp_path / "out"
        quiet: dict[str, Any] = {"echo": lambda _m: None, "warn": lambda _m: None}
        run_audit(RunRequest(config=config, outdir=out, quiet=True,
                             doctypes=("Hazard Invoice",)), **quiet)
        checkpoint = out / "checkpoint.jsonl"
        kept = [line for line in checkpoint.read_text("utf-8").splitlines()
                if json.loads(line).get("kind") != "probe"
                or json.loads(line)["row"]["op"] != "submit"]
        checkpoint.write_text("\n".join(kept) + "\n", encoding="utf-8")
        (out / "results.json").unlink()
        _raise_permlevel(sim.site, "Hazard Invoice", "amended_from")
        sim.controls.requests.clear()
        run_audit(RunRequest(config=config, outdir=out, quiet=True, resume=True,
                             doctypes=("Hazard Invoice",)), **quiet)
        assert not [r for r in sim.controls.requests if r.method == "PUT"]
        assert changes(sim) == []
        assert sim.site.docs("Hazard Invoice")["HINV-DRAFT"].docstatus == 0
        data = json.loads((out / "results.json").read_text("utf-8"))
        [row] = [r for r in data["probes"] if (r["doctype"], r["op"]) == ("Hazard Invoice",
                                                                          "submit")]
        assert row["method"] == "ask", row


def test_a_create_probe_is_planned_from_the_meta_of_now(
        sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # right after discovery, the create probe's only field moves to permlevel 1: the list
    # value would be reset, the default fill the mandatory link, and the insert succeed
    site = sim.site
    site.doctypes["Hazard Template"] = doctype_def(
        "Hazard Template", "Hazards", "hazards",
        ["country:Link:Country:R =United Kingdom", "notes:Data::"],
        ["System Manager: read write create delete", "Hazard Role: read write create delete"])
    discover = Discovery.run

    def then_customize(self: Discovery) -> Inventory:
        inventory = discover(self)
        _raise_permlevel(site, "Hazard Template", "notes")
        return inventory

    monkeypatch.setattr(Discovery, "run", then_customize)
    result = audit(sim, tmp_path, doctypes=("Hazard Template",))
    assert not [r for r in sim.controls.requests if r.method == "POST"]
    assert changes(sim) == []
    row = result.row("hazard", "Hazard Template", "create")
    assert (row["method"], row["outcome"]) == ("ask", "allowed"), row


def test_without_a_readable_meta_no_mutating_probe_is_sent(tmp_path: Path) -> None:
    # no auditor, and the site refuses getdoctype: is_virtual, the fields, the naming are
    # unknown, so nothing says a PUT, POST or DELETE would fail before storing anything
    def refuse_meta(app: Any) -> Any:
        def gateway(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("PATH_INFO", "").endswith("frappe.desk.form.load.getdoctype"):
                body = json.dumps({"exc_type": "PermissionError"}).encode()
                start_response("403 FORBIDDEN", [("Content-Type", "application/json"),
                                                  ("Content-Length", str(len(body)))])
                return [body]
            return app(environ, start_response)
        return gateway

    sim = SimServer(fixture=hazards.build(), port=0)
    sim.app = refuse_meta(sim.app)  # type: ignore[assignment]
    with sim:
        text = hazards.config_toml("safe", ("hazard",))
        text = text.replace(text[text.index("[auditor]"):text.index("[[users]]")], "")
        text = text.replace("[crawl]", '[crawl]\ndoctypes = ["Hazard Note", "Hazard Invoice"]')
        config_file = tmp_path / "audit.toml"
        config_file.write_text(text, encoding="utf-8")
        config = load_config(config_file, env=hazards.environment(sim.site, sim.url),
                             warn=lambda _m: None)
        out = tmp_path / "out"
        run_audit(RunRequest(config=config, outdir=out, quiet=True),
                  echo=lambda _m: None, warn=lambda _m: None)
        assert not [r for r in sim.controls.requests if r.method in ("PUT", "POST", "DELETE")]
        assert changes(sim) == []
        data = json.loads((out / "results.json").read_text("utf-8"))
        mutating = [r for r in data["probes"] if r["op"] != "read"
                    and r["outcome"] != "not_applicable"]
        assert mutating and all(r["method"] in ("ask", "") for r in mutating), mutating
