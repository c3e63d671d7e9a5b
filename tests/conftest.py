"""Suite-wide fixtures: loopback tests never go through a proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _secret_registry_per_test() -> Iterator[None]:
    """Secrets one test registers (a password ``nope``) do not mask another test's text."""
    from audit.config.secrets import REGISTRY

    before = REGISTRY.snapshot()
    yield
    REGISTRY.restore(before)
