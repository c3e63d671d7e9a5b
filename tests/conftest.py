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
    """Secrets one test registers (a password ``nope``) do not mask another test's text.

    Module-scoped fixtures run before this one, so what they register is forgotten too:
    every test starts with no secret and no learned secret name, as every command does.
    """
    from audit.results.redact import REDACTOR

    REDACTOR.reset()
    yield
    REDACTOR.reset()
