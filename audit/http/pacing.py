"""Pacing: one limiter per crawl, shared by every thread and user.

It bounds how many requests are in flight and how fast they start, pauses everyone
for a ``Retry-After``, and slows down while the site struggles.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

__all__ = ["MAX_SLOWDOWN", "RECOVERY", "RateLimiter"]

MAX_SLOWDOWN = 16.0  # adaptive back-off never slows the crawl more than this
RECOVERY = 0.9  # each healthy reply narrows the widened interval by 10 %


class RateLimiter:
    """One per crawl, shared by every thread and user: a global pace and concurrency."""

    def __init__(self, rate_per_s: float, max_concurrency: int) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be more than 0")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.base_interval = 1.0 / rate_per_s
        self.interval = self.base_interval  # widened by feedback() while the site struggles
        self.max_concurrency = max_concurrency
        self._lock = threading.Lock()
        self._next = 0.0
        self._paused_until = 0.0
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._held = threading.local()

    def acquire(self) -> None:
        """Block until this thread may send one request at the global pace."""
        while True:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next, self._paused_until)
                self._next = start + self.interval
            if start > now:
                time.sleep(start - now)
            with self._lock:  # a pause may have begun while this thread slept
                wait = self._paused_until - time.monotonic()
            if wait <= 0:
                return

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of ``max_concurrency`` slots and take one pace step (re-entrant)."""
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                self.acquire()
                yield
            finally:
                self._held.depth -= 1
            return
        self._slots.acquire()
        self._held.depth = 1
        try:
            self.acquire()
            yield
        finally:
            self._held.depth = 0
            self._slots.release()

    def pause_for(self, seconds: float) -> None:
        """Everyone waits (Retry-After, adaptive back-off)."""
        if seconds <= 0:
            return
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    @property
    def paused_for(self) -> float:
        with self._lock:
            return max(0.0, self._paused_until - time.monotonic())

    def feedback(self, status: int) -> None:
        """Adaptive pace (AIMD): a 5xx or 429 halves the rate, down to 1/16 of the
        configured one; each other reply wins back a little of it."""
        with self._lock:
            if status >= 500 or status == 429:
                self.interval = min(self.interval * 2, self.base_interval * MAX_SLOWDOWN)
            elif self.interval > self.base_interval:
                self.interval = max(self.base_interval, self.interval * RECOVERY)

    @property
    def slowdown(self) -> float:
        """How many times slower than configured the crawl runs right now."""
        with self._lock:
            return self.interval / self.base_interval
