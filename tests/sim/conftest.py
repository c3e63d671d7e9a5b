"""Shared fixtures of the simulator tests: a running reference site and its clients."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from audit.sim.server import SimServer  # noqa: E402

from .helpers import Client  # noqa: E402

TRANSCRIPTS = ROOT / "tests" / "transcripts"


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback requests must never go through a proxy."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(fixture="reference", port=0) as server:
        yield server


@pytest.fixture
def client(sim: SimServer) -> Client:
    return Client(sim)
