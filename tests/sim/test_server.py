"""The public face of the simulator: SimServer, fixtures, the catalogue, secrets files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import requests

from audit.sim import fixtures
from audit.sim.catalogue import load_frappe_doctypes
from audit.sim.fixtures import reference
from audit.sim.server import SimServer, write_secrets


def test_fixture_registry() -> None:
    assert fixtures.FIXTURES == ("demo", "reference")
    site = fixtures.load("reference")
    assert site.name == "audit.localhost"
    try:
        fixtures.load("nope")
    except ValueError as exc:
        assert "nope" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("an unknown fixture must be refused")


def test_catalogue_is_stock_frappe() -> None:
    doctypes = load_frappe_doctypes()
    assert len(doctypes) == 263
    assert sum(d.istable for d in doctypes.values()) == 88
    assert sum(d.issingle for d in doctypes.values()) == 32
    assert sum(d.is_virtual for d in doctypes.values()) == 12
    assert not any(d.is_submittable for d in doctypes.values())
    assert doctypes["ToDo"].hook == "todo" and doctypes["Country"].autoname == "field:country_name"


def test_reference_fixture_matches_the_seed() -> None:
    site = reference.build()
    assert len(site.doctypes) == 266
    assert {n for n, d in site.doctypes.items() if d.custom} == {"Vendor", "Payment Voucher",
                                                                 "Memo"}
    assert site.users["clerk@example.com"].full_name == "Clerk"
    assert site.users["nokey@example.com"].api_key is None
    assert not site.users["disabled@example.com"].enabled
    assert site.users["website@example.com"].user_type == "Website User"
    assert set(site.custom_perms) == {"ToDo", "Note"}
    assert site.oauth_clients["see26bk3pc"].app_name == "Audit Test Client"
    token = site.oauth_tokens[site.secrets["<bearer:clerk>"]]
    assert token.user == "clerk@example.com" and token.scopes == "all"
    assert sorted(site.documents["Vendor"]) == ["Acme Corp", "Globex Ltd", "Initech GmbH"]
    assert site.documents["Payment Voucher"]["9lpd33hdpe"].docstatus == 1
    other = reference.build()
    assert other.secrets["<password>"] != site.secrets["<password>"]  # fresh every build


def test_simserver_public_attributes(tmp_path: Path) -> None:
    site = reference.build()
    with SimServer(fixture=site, port=0, site="renamed.localhost") as sim:
        assert sim.host == "renamed.localhost" and sim.site is site
        assert sim.url.startswith("http://127.0.0.1:")
        reply = requests.get(sim.url + "/api/method/ping", headers={"Host": sim.host},
                             timeout=10)
        assert reply.json() == {"message": "pong"}
        assert sim.engine.has_permission("clerk@example.com", "Vendor", "read")
        assert sim.secrets is site.secrets and sim.journal == []
        assert sim.controls.requests[0].path == "/api/method/ping"
    server = SimServer(fixture="reference")
    server.start()
    server.start()  # idempotent
    server.stop()
    server.stop()


def test_secrets_file_is_private(tmp_path: Path) -> None:
    target = tmp_path / "secrets.json"
    write_secrets(target, {"<password>": "x"})
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text()) == {"<password>": "x"}


def test_busy_port_is_an_oserror() -> None:
    with SimServer(fixture="reference") as first:
        try:
            SimServer(fixture="reference", port=first.port).start()
        except OSError as exc:
            assert "in use" in str(exc)
        else:  # pragma: no cover
            raise AssertionError("a busy port must raise OSError")
