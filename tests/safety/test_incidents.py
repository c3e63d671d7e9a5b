"""A 2xx to a probe is an incident: recorded, said, never ``allowed``; the DocType stops;
only a document provably made by the probe is deleted."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from audit.crawl.incidents import not_ours, server_time
from audit.results.record import RunResults
from audit.sim.server import SimServer

from .conftest import audit, changes


def _incident_lines(outdir: Path) -> list[dict[str, object]]:
    path = outdir / "incidents.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_an_accepted_create_probe_is_an_incident_and_its_document_removed(
        sim: SimServer, tmp_path: Path) -> None:
    result = audit(sim, tmp_path, doctypes=("Hazard Coerce",))
    row = result.row("hazard", "Hazard Coerce", "create")
    assert (row["outcome"], row["method"]) == ("error", "rest"), row
    assert row["reason"].startswith("incident: the probe changed data"), row
    [incident] = _incident_lines(result.outdir)
    assert incident["doctype"] == "Hazard Coerce" and incident["removed"] is True, incident
    name = str(incident["document"])
    # made by the probe, then deleted by the tool: nothing of it is left
    assert [c.split(" by ")[0] for c in changes(sim)] == [f"insert Hazard Coerce {name}",
                                                         f"delete Hazard Coerce {name}"]
    assert list(sim.site.docs("Hazard Coerce")) == ["HC-1"]
    assert RunResults.load(result.outdir / "results.json").incidents[0].document == name
    assert len([w for w in result.warned if w.startswith("INCIDENT")]) == 1
    assert stat.S_IMODE((result.outdir / "incidents.jsonl").stat().st_mode) == 0o600


def test_an_incident_stops_every_later_mutating_probe_on_that_doctype(
        sim: SimServer, tmp_path: Path) -> None:
    # one worker: every cell of "hazard" runs before any of "clerk"
    result = audit(sim, tmp_path, users=("hazard", "clerk"), doctypes=("Hazard Coerce",),
                   concurrency=1)
    assert result.row("hazard", "Hazard Coerce", "create")["outcome"] == "error"
    for op in ("write", "create", "delete"):
        row = result.row("clerk", "Hazard Coerce", op)
        assert row["method"] == "ask" and "incident" in row["reason"], row
    probes = [r.method for r in sim.controls.requests if r.method in ("POST", "PUT")
              and r.path.startswith("/api/resource/")]
    assert probes == ["PUT", "POST"]  # hazard's write and create probes; nothing of clerk's
    assert len(result.data["incidents"]) == 1


def test_an_old_document_of_the_probing_user_is_never_deleted(sim: SimServer,
                                                              tmp_path: Path) -> None:
    # the reply names HUO-1: owned by the probing user, but created long before the probe
    result = audit(sim, tmp_path, doctypes=("Hazard Upsert Old",))
    [incident] = _incident_lines(result.outdir)
    assert (incident["document"], incident["removed"]) == ("HUO-1", None), incident
    assert "created before the probe" in str(incident["detail"])
    assert "HUO-1" in sim.site.docs("Hazard Upsert Old")
    assert changes(sim) == []
    assert result.row("hazard", "Hazard Upsert Old", "create")["outcome"] == "error"


def test_a_document_of_another_user_is_never_deleted(sim: SimServer, tmp_path: Path) -> None:
    # the reply names HUF-1: dated after the probe, but owned by Administrator
    result = audit(sim, tmp_path, doctypes=("Hazard Upsert Foreign",))
    [incident] = _incident_lines(result.outdir)
    assert (incident["document"], incident["removed"]) == ("HUF-1", None), incident
    assert "owner is 'Administrator'" in str(incident["detail"])
    assert "HUF-1" in sim.site.docs("Hazard Upsert Foreign")
    assert changes(sim) == []


def test_creation_is_read_in_the_site_time_zone() -> None:
    # Frappe writes creation in the site's time zone; the Date header is UTC
    sent = server_time({"Date": "Wed, 02 Dec 2026 10:00:00 GMT"})
    assert sent is not None
    doc = {"name": "X-1", "owner": "u@example.com"}
    after = {**doc, "creation": "2026-12-02 15:30:01.000000"}  # 10:00:01 UTC in Kolkata
    before = {**doc, "creation": "2026-12-02 10:00:01.000000"}  # 04:30:01 UTC in Kolkata
    kwargs = {"name": "X-1", "user": "u@example.com", "sent_at": sent,
              "time_zone": "Asia/Kolkata"}
    assert not_ours(after, **kwargs) == ""  # type: ignore[arg-type]
    assert "created before the probe" in not_ours(before, **kwargs)  # type: ignore[arg-type]
    assert "Date header" in not_ours(after, name="X-1", user="u@example.com", sent_at=None,
                                     time_zone="UTC")
