"""``rate_limit = "auto"``: the pace follows the site, backs off and recovers.

The controller's decisions are driven by replies fed in directly (no clock), and the
whole limiter by a simulated site over real HTTP whose latency and 429s a test turns.
No test asserts a duration: each asserts what the limiter decided.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.auth.identities import LoginBudget, make_identity
from audit.config.loader import UserConfig, load_config
from audit.config.secrets import Secret
from audit.http.client import ClientOptions, FrappeClient
from audit.http.pacing import (
    AUTO,
    BASELINE_REPLIES,
    FLOOR,
    AimdController,
    RateLimiter,
    describe_pace,
    request_kind,
)
from audit.model import AuthMethod
from audit.sim.server import SimServer

GET_LIST = "GET resource/list"
PUT_DOC = "PUT resource/doc"


def _feed(ctl: AimdController, n: int, latency: float, status: int | None = 200,
          kind: str = GET_LIST) -> list[str]:
    out = []
    for _ in range(n):
        decision = ctl.observe(kind, latency, status)
        if decision is not None:
            out.append(f"{decision.action}:{decision.cause}")
    return out


def _measured(max_concurrency: int = 4) -> AimdController:
    ctl = AimdController(max_concurrency)
    assert _feed(ctl, BASELINE_REPLIES - 1, 0.010) == []
    assert ctl.level == 1 and ctl.baseline_s is None  # one in flight while measuring
    assert _feed(ctl, 1, 0.010) == ["baseline:measured"]
    assert ctl.baseline_s == pytest.approx(0.010)
    return ctl


def test_raises_one_step_per_healthy_epoch_up_to_the_concurrency() -> None:
    ctl = _measured(4)
    decisions = _feed(ctl, 200, 0.012)  # 1.2x the baseline: within the budget
    assert decisions == ["raise:healthy"] * 3
    assert ctl.level == 4 and ctl.slots == 4


def test_latency_beyond_the_budget_cuts_the_level_then_it_recovers() -> None:
    ctl = _measured(8)
    _feed(ctl, 400, 0.010)
    assert ctl.level == 8
    slow = _feed(ctl, 400, 0.030)  # a competing load triples the latency
    assert slow[0] == "cut:latency"
    assert set(slow) == {"cut:latency"}
    assert ctl.level == 1  # a quarter off each epoch, down to one request in flight
    recovered = _feed(ctl, 800, 0.010)  # (an epoch that straddles the change may cut once more)
    assert recovered.count("raise:healthy") >= 7 and recovered[-1] == "raise:healthy"
    assert ctl.level == 8


def test_only_trouble_goes_below_one_request_in_flight() -> None:
    ctl = _measured(2)
    _feed(ctl, 400, 0.050)
    assert ctl.level == 1
    assert _feed(ctl, 1, None, status=503) == ["cut:5xx"]
    assert ctl.level == 0.5
    assert _feed(ctl, 200, None, status=503)[-1] == "cut:5xx"
    assert ctl.level == FLOOR


def test_429_cuts_once_for_the_requests_already_in_flight() -> None:
    ctl = _measured(8)
    _feed(ctl, 400, 0.010)
    assert ctl.level == 8
    # every request in flight at the time comes back 429: one cut, not eight
    assert _feed(ctl, 8, 0.010, status=429) == ["cut:429"]
    assert ctl.level == 4
    assert _feed(ctl, 1, 0.010, status=429) == ["cut:429"]  # a new one cuts again
    assert ctl.level == 2
    assert set(_feed(ctl, 200, 0.010)) == {"raise:healthy"}
    assert ctl.level == 8


@pytest.mark.parametrize("status", [500, 502, 503, None])
def test_5xx_and_dropped_connections_cut(status: int | None) -> None:
    ctl = _measured(4)
    _feed(ctl, 100, 0.010)
    before = ctl.level
    cause = "dropped" if status is None else "5xx"
    assert _feed(ctl, 1, None, status=status) == [f"cut:{cause}"]
    assert ctl.level == before / 2


def test_refusals_are_answers_not_trouble() -> None:
    ctl = _measured(4)
    for status in (403, 404, 417, 401, 409):
        _feed(ctl, 20, 0.010, status=status)
    assert ctl.level == 4
    assert not any(k.startswith("cut:") for k in ctl.counts)


def test_each_kind_of_request_is_judged_against_its_own_baseline() -> None:
    ctl = AimdController(4)
    for _ in range(BASELINE_REPLIES):  # lists take 10 ms, PUT probes 40 ms
        ctl.observe(GET_LIST, 0.010, 200)
        ctl.observe(PUT_DOC, 0.040, 417)
    for _ in range(100):
        ctl.observe(GET_LIST, 0.011, 200)
        ctl.observe(PUT_DOC, 0.044, 417)
    assert ctl.level == 4, ctl.counts
    _feed(ctl, 40, 0.040, kind=GET_LIST)  # now the lists take as long as the PUTs
    assert ctl.counts.get("cut:latency")


def test_trouble_while_measuring_restarts_the_baseline() -> None:
    ctl = AimdController(4)
    _feed(ctl, 10, 0.010)
    assert _feed(ctl, 1, None, status=503) == ["cut:5xx"]
    assert ctl.level == 0.5
    assert _feed(ctl, BASELINE_REPLIES - 1, 0.010) == []
    assert _feed(ctl, 1, 0.010) == ["baseline:measured"]


def test_below_one_in_flight_the_level_is_a_gap_between_requests() -> None:
    clock = [100.0]
    limiter = RateLimiter(AUTO, 4, clock=lambda: clock[0])
    assert limiter.auto is not None
    for _ in range(BASELINE_REPLIES):
        limiter.record(200, 0.020, GET_LIST)
        clock[0] += 0.02
    assert limiter._gap() == 0.0  # one in flight, sent back to back
    limiter.record(503, None, GET_LIST)
    limiter.record(503, None, GET_LIST)  # grace of one slot, then a second cut
    assert limiter.auto.level == 0.25
    assert limiter._gap() == pytest.approx(0.020 / 0.25)  # a request every 80 ms
    assert limiter.slots == 1


def test_fixed_rate_keeps_its_interval_and_concurrency() -> None:
    limiter = RateLimiter(50, 3)
    assert limiter.auto is None and limiter.slots == 3
    assert limiter._gap() == pytest.approx(0.02)
    assert limiter.summary()["mode"] == "fixed"


def test_the_sites_own_limiter_is_waited_for_before_it_refuses() -> None:
    clock = [0.0]
    limiter = RateLimiter(AUTO, 4, clock=lambda: clock[0])
    roomy = {"X-RateLimit-Remaining": "900000", "X-RateLimit-Used": "2000",
             "X-RateLimit-Reset": "30"}
    limiter.record(200, 0.002, GET_LIST, roomy)
    assert limiter.paused_for == 0
    nearly_spent = {**roomy, "X-RateLimit-Remaining": "3000"}
    limiter.record(200, 0.002, GET_LIST, nearly_spent)
    assert limiter.paused_for == pytest.approx(30)
    assert limiter.summary()["pauses"] == {"site limiter": 1}


@pytest.mark.parametrize(("method", "url", "kind"), [
    ("GET", "http://h/api/resource/Sales%20Invoice", "GET resource/list"),
    ("PUT", "http://h/api/resource/Sales%20Invoice/SI-1", "PUT resource/doc"),
    ("GET", "http://h/api/method/frappe.client.has_permission?doctype=X",
     "GET method/frappe.client.has_permission"),
    ("POST", "http://h/api/method/login", "POST method/login"),
])
def test_request_kinds(method: str, url: str, kind: str) -> None:
    assert request_kind(method, url) == kind


def test_config_says_auto_or_a_number(tmp_path: Path) -> None:
    site = '[site]\nurl = "https://erp.example.com"\n'
    user = '[[users]]\nname = "u"\nauth = "token"\napi_key = "${K}"\napi_secret = "${S}"\n'
    env = {"K": "k", "S": "s"}
    for crawl, expected in (("", AUTO), ('rate_limit = "auto"\n', AUTO),
                            ("rate_limit = 12\n", 12.0)):
        path = tmp_path / "audit.toml"
        path.write_text(site + "[crawl]\n" + crawl + user, encoding="utf-8")
        assert load_config(path, env=env, warn=lambda _m: None).crawl.rate_limit == expected


def test_summary_line_names_the_final_pace() -> None:
    limiter = RateLimiter(AUTO, 4)
    for _ in range(BASELINE_REPLIES):
        limiter.record(200, 0.005, GET_LIST)
    pace = limiter.summary()
    assert pace["mode"] == "auto" and pace["baseline_ms"] == pytest.approx(5.0)
    line = describe_pace(pace)
    assert line.startswith("Pace: auto") and "baseline 5 ms" in line


# -- the whole limiter against a simulated site over real HTTP -----------------------------
@pytest.fixture
def site() -> Iterator[SimServer]:
    with SimServer(fixture="reference", port=0) as sim:
        yield sim


def _client(sim: SimServer, limiter: RateLimiter) -> FrappeClient:
    user = UserConfig(name="clerk", auth=AuthMethod.TOKEN,
                      api_key=Secret(sim.secrets["<api_key:clerk>"]),
                      api_secret=Secret(sim.secrets["<api_secret:clerk>"]))
    options = ClientOptions(connect_timeout=5, read_timeout=10, host_header=sim.host,
                            backoff=0.01, pool_size=8)
    return FrappeClient(sim.url, options, make_identity(user, LoginBudget()), limiter)


def _load(client: FrappeClient, requests: int, threads: int = 4) -> None:
    """``requests`` requests of a small mix, from ``threads`` threads at once."""
    paths = ["/api/resource/Vendor", "/api/method/frappe.auth.get_logged_user",
             "/api/resource/ToDo"]
    counter = iter(range(requests))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            client.get(paths[i % len(paths)])

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def _since(limiter: RateLimiter, mark: int) -> list[str]:
    return [f"{d.action}:{d.cause}" for d in list(limiter.decisions)[mark:]]


@pytest.mark.slow
def test_auto_backs_off_when_the_site_slows_or_answers_429_and_recovers(
        site: SimServer) -> None:
    limiter = RateLimiter(AUTO, 4)
    assert limiter.auto is not None
    # a site whose replies take 20 ms (sleeping outside its lock, so they overlap)
    site.controls.latency_s = 0.020
    with _client(site, limiter) as client:
        _load(client, 120)
        idle = _since(limiter, 0)
        assert idle[0] == "baseline:measured"
        assert "raise:healthy" in idle
        peak = max(d.level for d in limiter.decisions)
        assert peak > 1

        mark = len(limiter.decisions)
        site.controls.latency_s = 0.120  # the site slows six-fold
        _load(client, 40)
        slowed = _since(limiter, mark)
        assert "cut:latency" in slowed
        low = limiter.auto.level
        assert low < peak

        mark = len(limiter.decisions)
        site.controls.latency_s = 0.020  # and recovers
        _load(client, 200)
        assert "raise:healthy" in _since(limiter, mark)
        assert max(d.level for d in list(limiter.decisions)[mark:]) > low

        _load(client, 8, threads=1)  # whatever was in flight at the last change is back
        mark = len(limiter.decisions)
        before = limiter.auto.level
        site.controls.fail_next(1, 429)  # with Retry-After: 1
        _load(client, 1, threads=1)
        assert _since(limiter, mark) == ["cut:429"]
        assert limiter.pauses.get("retry-after") == 1  # everyone waited
        after_cut = limiter.auto.level
        assert after_cut < before
        mark = len(limiter.decisions)
        _load(client, 120)
        assert "raise:healthy" in _since(limiter, mark)
        assert max(d.level for d in list(limiter.decisions)[mark:]) > after_cut
    statuses = [r.status for r in site.controls.requests]
    assert statuses.count(429) == 1  # the 429 was waited out and the request sent again
