"""A ``safe`` audit of every hazard leaves the simulator's journal empty, guard by guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.http.pacing import RateLimiter
from audit.sim.fixtures import hazards
from audit.sim.model import Document
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
