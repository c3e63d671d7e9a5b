"""Per-request work that does not grow with the run: the pool and the Session set-up."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from audit.auth.identities import LoginBudget, make_identity
from audit.config.loader import UserConfig
from audit.config.secrets import Secret
from audit.crawl.engine import Interrupted, run_pool
from audit.http.client import ClientOptions, FrappeClient
from audit.model import AuthMethod


def test_pool_runs_every_item_with_bounded_concurrency() -> None:
    seen: list[int] = []
    running = [0, 0]  # now, most
    lock = threading.Lock()

    def work(i: int) -> None:
        with lock:
            running[0] += 1
            running[1] = max(running)
        with lock:
            seen.append(i)
            running[0] -= 1

    run_pool(list(range(500)), work, 3, threading.Event())
    assert sorted(seen) == list(range(500))
    assert running[1] <= 3


def test_pool_surfaces_the_first_worker_error_and_stops_taking_work() -> None:
    done: list[int] = []

    def work(i: int) -> None:
        if i == 5:
            raise ValueError("boom")
        done.append(i)

    with pytest.raises(ValueError, match="boom"):
        run_pool(list(range(10_000)), work, 2, threading.Event())
    assert len(done) < 10_000


def test_ctrl_c_in_a_worker_is_an_interruption() -> None:
    def work(i: int) -> None:
        if i == 3:
            raise KeyboardInterrupt

    stop = threading.Event()
    with pytest.raises(Interrupted):
        run_pool(list(range(100)), work, 2, stop)
    assert stop.is_set()


def _client(url: str) -> FrappeClient:
    user = UserConfig(name="u", auth=AuthMethod.TOKEN, api_key=Secret("k"),
                      api_secret=Secret("s"))
    return FrappeClient(url, ClientOptions(), make_identity(user, LoginBudget()))


def test_environment_is_read_once_per_session_and_still_honoured(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "intranet.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with _client("https://erp.example.com") as client:
        session = client.session
        assert session.trust_env is False  # no environment scan per request
        assert session.proxies.get("https") == "http://proxy.example:3128"
        assert session.verify == str(bundle)
    with _client("https://erp.intranet.example") as client:
        assert not client.session.proxies  # no_proxy honoured
