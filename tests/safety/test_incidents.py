"""A 2xx to a probe is an incident: recorded, said, never ``allowed``; the DocType stops;
only a document provably made by the probe is deleted."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audit.crawl.incidents import not_ours, server_time
from audit.results.record import RunResults
from audit.sim.fixtures import hazards
from audit.sim.server import SimServer
from tests.helpers_http import call_wsgi

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


class Gateway:
    """What may stand in front of a site: it answers the requests ``match`` picks itself
    (``status`` and ``body``, never passing them on) and rewrites the successful
    mutating replies of the site into its own envelope when ``envelope`` is set."""

    def __init__(self, app: Callable[..., Any], *, match: Callable[[dict[str, Any]], bool],
                 status: str = "", body: bytes = b"", headers: tuple[tuple[str, str], ...] = (),
                 envelope: bool = False) -> None:
        self.app, self.match, self.status, self.body = app, match, status, body
        self.headers, self.envelope = headers, envelope

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.status and self.match(environ):
            start_response(self.status, [*self.headers,
                                         ("Content-Length", str(len(self.body)))])
            return [self.body]
        status, headers, payload = call_wsgi(self.app, environ)
        if self.envelope and self.match(environ) and status.startswith("2"):
            payload = json.dumps({"result": json.loads(payload or b"null"),
                                  "gateway": "ok"}).encode()
        start_response(status, [*headers, ("Content-Length", str(len(payload)))])
        return [payload]


def _mutating(doctype: str, *methods: str) -> Callable[[dict[str, Any]], bool]:
    prefix = f"/api/resource/{doctype}"
    return lambda environ: (environ["REQUEST_METHOD"] in methods
                            and environ.get("PATH_INFO", "").startswith(prefix))


def _gated(gateway: Callable[[Callable[..., Any]], Gateway]) -> SimServer:
    sim = SimServer(fixture=hazards.build(), port=0)
    sim.app = gateway(sim.app)  # type: ignore[assignment]
    return sim


def test_a_2xx_in_a_foreign_envelope_is_an_incident_and_stops_the_doctype(
        tmp_path: Path) -> None:
    # the site really inserts the probe document; a gateway wraps the reply in its own shape
    with _gated(lambda app: Gateway(app, match=_mutating("Hazard Coerce", "POST", "PUT",
                                                         "DELETE"), envelope=True)) as sim:
        result = audit(sim, tmp_path, users=("hazard", "clerk"),
                       doctypes=("Hazard Coerce",), concurrency=1)
        inserts = [c for c in changes(sim) if c.startswith("insert Hazard Coerce")]
        assert len(inserts) == 1, changes(sim)  # hazard's probe; clerk's is never sent
        [incident] = _incident_lines(result.outdir)
        assert (incident["user"], incident["op"], incident["http_status"]) == (
            "hazard", "create", 200), incident
        row = result.row("hazard", "Hazard Coerce", "create")
        assert (row["outcome"], row["method"]) == ("error", "rest"), row
        assert row["reason"].startswith("incident: the probe changed data"), row
        for op in ("write", "create", "delete"):
            row = result.row("clerk", "Hazard Coerce", op)
            assert row["method"] == "ask" and "incident" in row["reason"], row
        assert len([w for w in result.warned if w.startswith("INCIDENT")]) == 1


def test_a_bodiless_2xx_to_a_put_is_an_incident_and_nothing_more_is_sent(
        tmp_path: Path) -> None:
    with _gated(lambda app: Gateway(app, match=_mutating("Hazard Invoice", "PUT"),
                                    status="204 No Content")) as sim:
        result = audit(sim, tmp_path, doctypes=("Hazard Invoice",), concurrency=1)
        mutating = [(r.method, r.path) for r in sim.controls.requests
                    if r.method in ("PUT", "POST", "DELETE")]
        # the write probe's one PUT went to the gateway (write runs first); no mutating
        # request of Hazard Invoice reached the site after it
        assert mutating == [], mutating
        [incident] = _incident_lines(result.outdir)
        assert (incident["op"], incident["http_status"]) == ("write", 204), incident
        row = result.row("hazard", "Hazard Invoice", "write")
        assert (row["outcome"], row["http_status"]) == ("error", 204), row
        for op in ("create", "delete", "submit"):
            row = result.row("hazard", "Hazard Invoice", op)
            assert row["method"] == "ask" and "incident" in row["reason"], row
        assert changes(sim) == []


def test_a_redirect_to_a_delete_is_an_incident(tmp_path: Path) -> None:
    with _gated(lambda app: Gateway(app, match=_mutating("Hazard Invoice", "DELETE"),
                                    status="302 Found",
                                    headers=(("Location", "https://sso.example/"),))) as sim:
        result = audit(sim, tmp_path, doctypes=("Hazard Invoice",), concurrency=1)
        [incident] = _incident_lines(result.outdir)
        assert (incident["op"], incident["http_status"]) == ("delete", 302), incident
        row = result.row("hazard", "Hazard Invoice", "delete")
        assert (row["outcome"], row["method"], row["http_status"]) == ("error", "rest", 302), row
        assert result.row("hazard", "Hazard Invoice", "submit")["method"] == "ask"
        assert changes(sim) == []
