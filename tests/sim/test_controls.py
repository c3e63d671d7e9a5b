"""Fault injection, rate limiting and the request log of a running simulator."""

from __future__ import annotations

import time

import pytest
import requests

from audit.sim.server import SimServer

from .helpers import Client


def test_latency_is_added_to_every_reply(sim: SimServer, client: Client) -> None:
    sim.controls.latency_s = 0.25
    started = time.monotonic()
    assert client.get("/api/method/ping").status_code == 200
    assert time.monotonic() - started >= 0.25


def test_error_rate_is_seeded(sim: SimServer, client: Client) -> None:
    def statuses() -> list[int]:
        sim.controls.seed(7)
        sim.controls.error_rate = 0.5
        out = [client.get("/api/method/ping").status_code for _ in range(20)]
        sim.controls.error_rate = 0.0
        return out

    first, second = statuses(), statuses()
    assert first == second and set(first) == {200, 500}


def test_fail_next_then_normal(sim: SimServer, client: Client) -> None:
    sim.controls.fail_next(2, 503)
    sim.controls.fail_next(1)
    replies = [client.get("/api/method/ping", "clerk") for _ in range(4)]
    assert [r.status_code for r in replies] == [503, 503, 500, 200]
    assert replies[2].json()["exc_type"] == "Exception"
    assert [r.status for r in sim.controls.requests] == [503, 503, 500, 200]
    assert {r.authorization_kind for r in sim.controls.requests} == {"token"}


def test_dropped_connections(sim: SimServer, client: Client) -> None:
    sim.controls.drop_rate = 1.0
    with pytest.raises(requests.ConnectionError):
        client.get("/api/method/ping")
    sim.controls.drop_rate = 0.0
    assert client.get("/api/method/ping").status_code == 200


def test_rate_limit_headers_429_and_off(sim: SimServer, client: Client) -> None:
    assert "X-RateLimit-Limit" not in client.get("/api/resource/ToDo", "clerk").headers
    sim.controls.set_rate_limit(0.3, 60)
    ok = client.get("/api/resource/ToDo", "clerk")
    assert ok.headers["X-RateLimit-Limit"] == "300000"
    assert int(ok.headers["X-RateLimit-Used"]) > 0
    sim.controls.exhaust_rate_limit()
    refused = client.get("/api/method/frappe.auth.get_logged_user", "manager")
    assert refused.status_code == 429 and refused.json()["exc_type"] == "TooManyRequestsError"
    assert refused.headers["X-RateLimit-Remaining"] == "0" and "Retry-After" in refused.headers
    sim.controls.rate_limit_off()
    assert client.get("/api/resource/ToDo", "clerk").status_code == 200


def test_server_time_spends_the_budget(sim: SimServer, client: Client) -> None:
    sim.controls.set_rate_limit(0.000001, 60)  # one microsecond per minute
    client.get("/api/method/ping")
    assert client.get("/api/method/ping").status_code == 429


def test_request_log_and_reset(sim: SimServer, client: Client) -> None:
    client.get("/api/resource/Vendor", "clerk")
    session = client.login("nokey")
    session.get(sim.url + "/api/resource/Vendor", headers={"Host": sim.host})
    records = sim.controls.requests
    assert [(r.method, r.path, r.user, r.status, r.authorization_kind) for r in records] == [
        ("GET", "/api/resource/Vendor", "clerk@example.com", 200, "token"),
        ("POST", "/api/method/login", "nokey@example.com", 200, "session"),
        ("GET", "/api/resource/Vendor", "nokey@example.com", 200, "session"),
    ]
    assert sim.controls.login_attempts == [("nokey@example.com", True)]
    sim.controls.latency_s = 1.0
    sim.controls.reset()
    assert sim.controls.requests == [] and sim.controls.latency_s == 0.0
