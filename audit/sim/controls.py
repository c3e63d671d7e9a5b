"""Knobs a test turns on a running simulator, and what the simulator saw.

All methods are thread-safe. ``reset()`` returns every knob to its default and clears the
request log.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from audit.sim.model import SiteData


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    user: str
    status: int
    authorization_kind: str  # "token" | "basic" | "bearer" | "session" | "none" | "other"


@dataclass(frozen=True)
class Throttle:
    method: str
    path: str
    action: Callable[[SiteData], object] | None = None


@dataclass
class RateLimiter:
    """Frappe's site-wide limiter: server time (µs) spent per fixed window (SPEC.md §8.1)."""

    limit_us: int
    window: int
    counters: dict[int, int] = field(default_factory=dict)

    def window_number(self, now: float) -> tuple[int, int]:
        number, spent = divmod(int(now), self.window)
        return number, self.window - spent

    def used(self, now: float) -> int:
        return self.counters.get(self.window_number(now)[0], 0)

    def add(self, now: float, micros: int) -> None:
        number = self.window_number(now)[0]
        self.counters = {number: self.counters.get(number, 0) + micros}


class Controls:
    """Fault injection, rate limiting, token expiry and the request log of a SimServer."""

    def __init__(self, site: SiteData | None = None) -> None:
        self._lock = threading.Lock()
        self._site = site
        self.requests: list[RequestRecord] = []
        self.login_attempts: list[tuple[str, bool]] = []
        self.reset()

    def bind(self, site: SiteData) -> None:
        self._site = site

    def reset(self) -> None:
        with self._lock:
            self.latency_s: float = 0.0
            self.error_rate: float = 0.0
            self.drop_rate: float = 0.0
            self.session_expiry_s: float | None = None
            self._fail_next: list[int] = []
            self._rng = random.Random(0)
            self.rate_limiter: RateLimiter | None = None
            self._throttles: list[Throttle] = []
            self._token_budget: dict[str, int] = {}
            self.requests.clear()
            self.login_attempts.clear()

    # ---- fault injection -------------------------------------------------------------------
    def seed(self, n: int) -> None:
        with self._lock:
            self._rng = random.Random(n)

    def fail_next(self, n: int, status: int = 500) -> None:
        with self._lock:
            self._fail_next.extend([status] * n)

    def take_failure(self) -> int | None:
        """The status to fail this request with, if any (fail_next first, then error_rate)."""
        with self._lock:
            if self._fail_next:
                return self._fail_next.pop(0)
            if self.error_rate and self._rng.random() < self.error_rate:
                return 500
        return None

    def should_drop(self) -> bool:
        with self._lock:
            return bool(self.drop_rate) and self._rng.random() < self.drop_rate

    # ---- tokens ----------------------------------------------------------------------------
    def expire_token(self, access_token: str) -> None:
        """Move a bearer token's expiry into the past (the token stays 'Active')."""
        if self._site is None:
            raise RuntimeError("controls are not bound to a site")
        token = self._site.oauth_tokens[access_token]
        token.expiration_time = time.time() - 60

    def expire_token_after(self, access_token: str, uses: int) -> None:
        """The bearer token expires once it has authenticated ``uses`` requests (mid-run)."""
        with self._lock:
            self._token_budget[access_token] = uses

    def bearer_used(self, access_token: str) -> None:
        """Called for every request carrying a bearer token, before it is checked."""
        with self._lock:
            left = self._token_budget.get(access_token)
            if left is None:
                return
            if left > 0:
                self._token_budget[access_token] = left - 1
                return
            del self._token_budget[access_token]
        self.expire_token(access_token)

    # ---- rate limit ------------------------------------------------------------------------
    def throttle_next(self, method: str, path: str,
                      action: Callable[[SiteData], object] | None = None) -> None:
        """Frappe's limiter refuses the next ``method path`` with 429 (``Retry-After: 0``),
        *after* session resume and login, as the real one does; ``action`` runs on the site
        first (someone else changing data meanwhile)."""
        with self._lock:
            self._throttles.append(Throttle(method.upper(), path, action))

    def take_throttle(self, method: str, path: str) -> Throttle | None:
        with self._lock:
            for i, throttle in enumerate(self._throttles):
                if throttle.method == method.upper() and throttle.path == path:
                    return self._throttles.pop(i)
        return None

    def set_rate_limit(self, limit_seconds: float, window_seconds: int) -> None:
        with self._lock:
            self.rate_limiter = RateLimiter(int(limit_seconds * 1_000_000), int(window_seconds))

    def rate_limit_off(self) -> None:
        with self._lock:
            self.rate_limiter = None

    def exhaust_rate_limit(self, min_left: float = 0.5) -> None:
        """Spend the current window's budget, as 75 quick requests did on the recording.

        With less than ``min_left`` seconds left in the window, it waits for the next one
        first: the request a caller sends next must still fall in the spent window (on a
        busy machine it otherwise lands in a fresh one and is served).
        """
        with self._lock:
            if self.rate_limiter is None:
                raise RuntimeError("the rate limit is off")
            left = self.rate_limiter.window - time.time() % self.rate_limiter.window
        if left < min_left:
            time.sleep(left)
        with self._lock:
            if self.rate_limiter is None:
                raise RuntimeError("the rate limit is off")
            now = time.time()
            number = self.rate_limiter.window_number(now)[0]
            self.rate_limiter.counters = {number: self.rate_limiter.limit_us + 1}

    # ---- log -------------------------------------------------------------------------------
    def record(self, rec: RequestRecord) -> None:
        with self._lock:
            self.requests.append(rec)

    def record_login(self, usr: str, succeeded: bool) -> None:
        with self._lock:
            self.login_attempts.append((usr, succeeded))
