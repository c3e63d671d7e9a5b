"""A test-only WSGI middleware in front of the simulator: what a WAF, a proxy or a flaky
network does to replies (SPEC.md §4 says what Frappe's own look like)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

WAF_BODY = json.dumps({"message": "Request blocked"}).encode()
Selector = Callable[[dict[str, Any]], bool]


@dataclass
class Rates:
    waf: float = 0.0  # 403 {"message": "Request blocked"}
    fake_ok: float = 0.0  # 200 without Frappe's shape
    empty: float = 0.0  # an empty body (200 or 403)
    timeout: float = 0.0  # held longer than the client waits


@dataclass
class FaultyProxy:
    app: Callable[..., Iterable[bytes]]
    rates: Rates
    seed: int = 0
    delay_s: float = 2.5
    only: Selector = field(default=lambda _environ: True)
    seen: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def _pick(self) -> str:
        with self._lock:
            roll = self._rng.random()
        edge = 0.0
        for kind in ("waf", "fake_ok", "empty", "timeout"):
            edge += getattr(self.rates, kind)
            if roll < edge:
                return kind
        return ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        kind = self._pick() if self.only(environ) else ""
        if kind:
            with self._lock:
                self.seen[kind] += 1
        json_type = ("Content-Type", "application/json")
        if kind == "waf":
            start_response("403 Forbidden", [json_type])
            return [WAF_BODY]
        if kind == "fake_ok":
            with self._lock:
                html = self._rng.random() < 0.5
            if html:
                start_response("200 OK", [("Content-Type", "text/html")])
                return [b"<html><body>Please wait</body></html>"]
            start_response("200 OK", [json_type])
            return [json.dumps({"message": "Request accepted"}).encode()]
        if kind == "empty":
            start_response("403 Forbidden" if environ.get("REQUEST_METHOD") != "GET"
                           else "200 OK", [json_type])
            return [b""]
        if kind == "timeout":
            time.sleep(self.delay_s)
        return self.app(environ, start_response)


IDENTITY_CHECK = "/api/method/frappe.auth.get_logged_user"


def not_from(key: str) -> Selector:
    """Probe-stage requests that do not carry the API key ``key`` (every user but the
    auditor; each user's one authentication is left alone: it is not a probe)."""
    return lambda environ: (key not in environ.get("HTTP_AUTHORIZATION", "")
                            and environ.get("PATH_INFO") != IDENTITY_CHECK)


def matching(key: str, path: str, query: str = "") -> Selector:
    """Requests carrying ``key`` to ``path`` whose query string holds ``query``."""
    def select(environ: dict[str, Any]) -> bool:
        from urllib.parse import unquote

        return (key in environ.get("HTTP_AUTHORIZATION", "")
                and unquote(environ.get("PATH_INFO", "")) == path
                and query in unquote(environ.get("QUERY_STRING", "")))
    return select
