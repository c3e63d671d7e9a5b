"""The shared rate limiter slows the whole crawl while the site struggles (AIMD)."""

from __future__ import annotations

import threading
import time

import pytest

from audit.http.pacing import MAX_SLOWDOWN, RateLimiter


def test_errors_halve_the_rate_and_successes_win_it_back() -> None:
    limiter = RateLimiter(rate_per_s=100, max_concurrency=4)
    assert limiter.slowdown == pytest.approx(1.0)
    limiter.feedback(500)
    assert limiter.slowdown == pytest.approx(2.0)
    limiter.feedback(429)
    limiter.feedback(503)
    assert limiter.slowdown == pytest.approx(8.0)
    for _ in range(10):
        limiter.feedback(500)
    assert limiter.slowdown == pytest.approx(MAX_SLOWDOWN)
    for _ in range(200):
        limiter.feedback(200)
    assert limiter.slowdown == pytest.approx(1.0)
    limiter.feedback(403)  # a refusal is an answer, not a struggle
    limiter.feedback(417)
    assert limiter.slowdown == pytest.approx(1.0)


def test_slowdown_spaces_requests_out() -> None:
    limiter = RateLimiter(rate_per_s=200, max_concurrency=4)
    for _ in range(4):
        limiter.feedback(500)  # 16x: one request per 80 ms
    stamps: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        with limiter.slot(), lock:
            stamps.append(time.monotonic())

    threads = [threading.Thread(target=take) for _ in range(4)]
    before = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    # The k-th request may not start before k intervals of 80 ms have passed: each thread
    # sleeps until the start it was given, and the starts are 80 ms apart. (The gap
    # between two stamps is no such bound: a thread that wakes late on a busy machine
    # brings its stamp closer to the next one, which wakes on time.)
    for k, stamp in enumerate(stamps):
        assert stamp - before >= k * 0.08 - 0.001, (k, [round(s - before, 3) for s in stamps])
