"""Pacing: one limiter per crawl, shared by every thread and user.

It bounds how many requests are in flight and how fast they start, pauses everyone
for a ``Retry-After`` or while the site's own limiter (SPEC.md §8.1) is nearly spent,
and slows down while the site struggles.

Two modes. A number (``rate_limit = 20``) fixes the pace at that many requests per
second with ``concurrency`` requests in flight; a 5xx, 429 or dropped connection
widens the interval (down to 1/16 of the rate) and healthy replies narrow it back.

``"auto"`` paces to the site (:class:`AimdController`): it first measures the
site's latency for each kind of request at one request in flight (the baseline),
then, one epoch of replies at a time, adds one request in flight (up to
``concurrency``) while the median latency stays within ``budget`` times the
baseline and no 429 / 5xx / dropped connection appears; it cuts the level by a
quarter when the latency goes beyond the budget (down to one request in flight) and
halves it on a 429 / 5xx / dropped connection, as TCP does with its window. Below one
request in flight the level becomes a gap between requests (level 0.5: each request
waits as long as the last ones took), down to 1/16.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import unquote, urlsplit

__all__ = [
    "AUTO", "MAX_SLOWDOWN", "RECOVERY", "AimdController", "Decision", "RateLimiter",
    "RateSetting", "describe_pace", "request_kind",
]

AUTO: Final = "auto"
RateSetting = float | Literal["auto"]

MAX_SLOWDOWN = 16.0  # adaptive back-off never slows the crawl more than this
RECOVERY = 0.9  # each healthy reply narrows the widened interval by 10 %
BUDGET = 1.5  # auto: median latency may grow to this many times the baseline
BASELINE_REPLIES = 20  # auto: healthy replies at one in flight before the first raise
KIND_SAMPLES = 5  # auto: replies of a kind whose median is that kind's baseline
MIN_EPOCH = 16  # auto: replies per decision, at least (else four times the requests in flight)
LATENCY_CUT = 0.75  # auto: slow replies cut the level by a quarter (trouble halves it)
FLOOR = 1 / MAX_SLOWDOWN  # auto: the lowest level (one request, then 15 times its time idle)
RECENT = 64  # replies kept for the current pace (requests/s) and typical latency
SITE_LIMIT_MARGIN = 2  # pause when the site's limiter has less left than this many rounds


def _trouble(status: int | None) -> str:
    """The cause a reply gives to slow down, or ``""``."""
    if status is None:
        return "dropped"
    if status == 429:
        return "429"
    if status >= 500:
        return "5xx"
    return ""


@dataclass(frozen=True)
class Decision:
    """One change of the auto pace: what, why, and the level after it."""

    action: Literal["baseline", "raise", "cut"]
    cause: str  # "measured", "healthy", "latency", "429", "5xx", "dropped"
    level: float
    ratio: float | None = None  # median latency / baseline in the epoch behind it


class AimdController:
    """The decisions of ``auto`` pacing, free of threads and clocks (tests drive it).

    ``observe`` takes each reply (its kind, latency in seconds, status; ``None`` for a
    dropped connection) and returns a :class:`Decision` when the level changes.
    ``level`` >= 1 is the number of requests allowed in flight; below 1 it is the
    share of time the one request in flight may occupy the site.
    """

    def __init__(self, max_concurrency: int, budget: float = BUDGET,
                 baseline_replies: int = BASELINE_REPLIES) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.max_level = float(max_concurrency)
        self.budget = budget
        self.baseline_replies = baseline_replies
        self.level = 1.0
        self.baseline_s: float | None = None  # all kinds, from the first healthy replies
        self._samples: dict[str, list[float]] = {}  # first KIND_SAMPLES latencies per kind
        self._kind_base: dict[str, float] = {}
        self._warmup: list[float] = []
        self._epoch: list[float] = []  # latency / baseline of this epoch's replies
        self._epoch_troubled = False
        self._grace = 0  # replies sent before the last cut, whose trouble is not counted again
        self.counts: dict[str, int] = {}  # decisions by action:cause

    @property
    def slots(self) -> int:
        return max(1, int(self.level))

    def _epoch_size(self) -> int:
        return max(MIN_EPOCH, 4 * self.slots)

    def _baseline_for(self, kind: str, latency: float) -> float | None:
        seen = self._samples.setdefault(kind, [])
        base = self._kind_base.get(kind)
        if base is None and len(seen) < KIND_SAMPLES:
            seen.append(latency)
            if len(seen) == KIND_SAMPLES:
                base = self._kind_base[kind] = max(statistics.median(seen), 1e-4)
                self._samples[kind] = []
        return base if base is not None else self.baseline_s

    def _decide(self, action: Literal["baseline", "raise", "cut"], cause: str,
                ratio: float | None = None) -> Decision:
        key = f"{action}:{cause}"
        self.counts[key] = self.counts.get(key, 0) + 1
        return Decision(action, cause, self.level, ratio)

    def _cut(self, cause: str, ratio: float | None = None,
             in_flight: int | None = None) -> Decision | None:
        """Latency alone cuts by a quarter down to one request in flight; a 429, 5xx
        or dropped connection halves the level, down to the gaps below one."""
        # the replies still to come from requests sent before the cut
        self._grace = self.slots - 1 if in_flight is None else in_flight
        self._new_epoch()
        slow = cause == "latency"
        floor = 1.0 if slow else FLOOR
        if self.level <= floor:
            return None  # as slow as this cause goes: hold
        self.level = max(floor, self.level * (LATENCY_CUT if slow else 0.5))
        return self._decide("cut", cause, ratio)

    def _raise(self, ratio: float) -> Decision | None:
        if self.level >= self.max_level:
            return None
        self.level = min(self.max_level, self.level + 1 if self.level >= 1 else self.level * 2)
        return self._decide("raise", "healthy", ratio)

    def _new_epoch(self) -> None:
        self._epoch = []
        self._epoch_troubled = False

    def observe(self, kind: str, latency_s: float | None, status: int | None,
                in_flight: int | None = None) -> Decision | None:
        """One reply; ``in_flight``: how many other requests are out (default: all slots)."""
        cause = _trouble(status)
        in_grace = self._grace > 0
        if in_grace:
            self._grace -= 1
        if cause:
            self._epoch_troubled = True  # no raise at the end of this epoch
            if in_grace:
                return None  # sent before the last cut: that cut already answered it
            if self.baseline_s is None:
                self._warmup = []  # measure the baseline again once the site is well
            return self._cut(cause, in_flight=in_flight)
        if latency_s is None:
            return None
        base = self._baseline_for(kind, latency_s)
        if self.baseline_s is None:
            self._warmup.append(latency_s)
            if len(self._warmup) < self.baseline_replies:
                return None
            self.baseline_s = max(statistics.median(self._warmup), 1e-4)
            self._warmup = []
            self._new_epoch()
            return self._decide("baseline", "measured")
        assert base is not None
        self._epoch.append(latency_s / base)
        if len(self._epoch) < self._epoch_size():
            return None
        ratio = statistics.median(self._epoch)
        troubled = self._epoch_troubled
        self._new_epoch()
        if ratio > self.budget:
            return self._cut("latency", ratio, in_flight)
        return None if troubled else self._raise(ratio)


def request_kind(method: str, url: str) -> str:
    """What a request is, for per-kind latency: verb + REST family or method name."""
    parts = [unquote(p) for p in urlsplit(url).path.split("/") if p]
    if parts[:2] == ["api", "resource"]:
        return f"{method} resource/{'list' if len(parts) <= 3 else 'doc'}"
    if parts[:2] == ["api", "method"] and len(parts) > 2:
        return f"{method} method/{parts[2]}"
    return f"{method} /{'/'.join(parts[:2])}"


class RateLimiter:
    """One per crawl, shared by every thread and user: a global pace and concurrency.

    ``rate_per_s`` is a number of requests per second (fixed) or ``"auto"``.
    """

    def __init__(self, rate_per_s: RateSetting, max_concurrency: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.auto: AimdController | None = None
        if rate_per_s == AUTO:
            self.auto = AimdController(max_concurrency)
            self.base_interval = 0.0
        else:
            rate = float(rate_per_s)
            if rate <= 0:
                raise ValueError("rate_per_s must be more than 0")
            self.base_interval = 1.0 / rate
        self.setting: RateSetting = rate_per_s
        self.interval = self.base_interval  # widened by feedback() while the site struggles
        self.max_concurrency = max_concurrency
        self._clock = clock
        self._lock = threading.Lock()
        self._free = threading.Condition(self._lock)
        self._in_flight = 0
        self._next = 0.0
        self._paused_until = 0.0
        self._held = threading.local()
        self._recent: deque[tuple[float, float]] = deque(maxlen=RECENT)  # (at, latency)
        self.decisions: deque[Decision] = deque(maxlen=1000)
        self.requests = 0
        self.pauses: dict[str, int] = {}

    # -- admission ---------------------------------------------------------------
    @property
    def slots(self) -> int:
        """Requests allowed in flight now."""
        if self.auto is None:
            return self.max_concurrency
        return min(self.max_concurrency, self.auto.slots)

    def _gap(self) -> float:
        """Seconds between request starts now."""
        if self.auto is None:
            return self.interval
        if self.auto.level >= 1 or not self._recent:
            return 0.0
        typical = statistics.median(lat for _, lat in self._recent)
        return typical / self.auto.level

    def acquire(self) -> None:
        """Block until this thread may send one request at the global pace."""
        while True:
            with self._lock:
                now = self._clock()
                start = max(now, self._next, self._paused_until)
                self._next = start + self._gap()
            if start > now:
                time.sleep(start - now)
            with self._lock:  # a pause may have begun while this thread slept
                wait = self._paused_until - self._clock()
            if wait <= 0:
                return

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the slots in flight and take one pace step (re-entrant)."""
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                self.acquire()
                yield
            finally:
                self._held.depth -= 1
            return
        with self._free:
            while self._in_flight >= self.slots:
                self._free.wait()
            self._in_flight += 1
        self._held.depth = 1
        try:
            self.acquire()
            yield
        finally:
            self._held.depth = 0
            with self._free:
                self._in_flight -= 1
                self._free.notify_all()

    def pause_for(self, seconds: float, cause: str = "retry-after") -> None:
        """Everyone waits (Retry-After, the site's limiter, adaptive back-off)."""
        if seconds <= 0:
            return
        with self._lock:
            self.pauses[cause] = self.pauses.get(cause, 0) + 1
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        with self._lock:
            return max(0.0, self._paused_until - self._clock())

    # -- feedback ----------------------------------------------------------------
    def feedback(self, status: int) -> None:
        """A reply's status alone (no latency known)."""
        self.record(status, None)

    def record(self, status: int | None, latency_s: float | None, kind: str = "",
               headers: Mapping[str, str] | None = None) -> None:
        """One attempt's outcome: its status (``None``: the connection dropped), latency
        in seconds, kind (:func:`request_kind`) and reply headers."""
        with self._free:
            self.requests += 1
            if latency_s is not None:
                self._recent.append((self._clock(), latency_s))
            if self.auto is not None:
                decision = self.auto.observe(kind, latency_s, status, self._in_flight)
                if decision is not None:
                    self.decisions.append(decision)
                    self._free.notify_all()  # a raise frees slots
            elif _trouble(status):
                self.interval = min(self.interval * 2, self.base_interval * MAX_SLOWDOWN)
            elif self.interval > self.base_interval:
                self.interval = max(self.base_interval, self.interval * RECOVERY)
        if headers is not None:
            self._site_limiter(headers)

    def _site_limiter(self, headers: Mapping[str, str]) -> None:
        """Frappe's own limiter (SPEC.md §8.1): wait for its window when nearly spent."""
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        used = _number(headers.get("X-RateLimit-Used"))
        reset = _number(headers.get("X-RateLimit-Reset"))
        if remaining is None or used is None or reset is None:
            return
        if remaining <= used * self.slots * SITE_LIMIT_MARGIN:
            self.pause_for(reset, "site limiter")

    # -- reporting ---------------------------------------------------------------
    @property
    def slowdown(self) -> float:
        """How many times slower than configured the crawl runs right now."""
        with self._lock:
            if self.auto is not None:
                return max(1.0, 1.0 / self.auto.level)
            return self.interval / self.base_interval

    def current_rate(self) -> float | None:
        """Replies per second over the last few dozen, or None before there are two."""
        with self._lock:
            if len(self._recent) < 2:
                return None
            span = self._recent[-1][0] - self._recent[0][0]
            return (len(self._recent) - 1) / span if span > 0 else None

    def describe(self) -> str:
        """The pace for the progress bar: ``auto 180 req/s, 4 in flight``."""
        rate = self.current_rate()
        shown = f"{rate:.0f} req/s" if rate is not None else "- req/s"
        if self.auto is None:
            return f"fixed {float(self.setting):g}/s: {shown}"
        level = self.auto.level
        flight = f"{int(level)} in flight" if level >= 1 else f"1 in flight, {level:.2f} duty"
        phase = "" if self.auto.baseline_s is not None else ", measuring"
        return f"auto {shown}, {flight}{phase}"

    def summary(self) -> dict[str, Any]:
        """The final pace, for ``results.json`` (``run.pace``) and the terminal summary."""
        rate = self.current_rate()
        with self._lock:
            out: dict[str, Any] = {
                "mode": "fixed" if self.auto is None else AUTO,
                "rate_limit": self.setting, "concurrency": self.max_concurrency,
                "requests": self.requests,
                "final_rate": None if rate is None else round(rate, 1),
                "pauses": dict(self.pauses),
            }
            if self.auto is None:
                out["slowdown"] = round(self.interval / self.base_interval, 2)
                return out
            auto = self.auto
            out.update({
                "level": round(auto.level, 3), "in_flight": auto.slots,
                "budget": auto.budget,
                "baseline_ms": None if auto.baseline_s is None
                else round(auto.baseline_s * 1000, 2),
                "decisions": dict(sorted(auto.counts.items())),
            })
            return out


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def describe_pace(pace: Mapping[str, Any]) -> str:
    """One line for the terminal summary from :meth:`RateLimiter.summary`."""
    rate = pace.get("final_rate")
    shown = f"{rate:g} requests/s" if isinstance(rate, int | float) else "no rate measured"
    pauses = sum((pace.get("pauses") or {}).values())
    waited = f", {pauses} pause(s) for the site's limits" if pauses else ""
    if pace.get("mode") != AUTO:
        return (f"Pace: fixed at {pace.get('rate_limit')} requests/s, "
                f"{pace.get('concurrency')} in flight; last {shown}{waited}")
    cuts = sum(n for k, n in (pace.get("decisions") or {}).items() if k.startswith("cut:"))
    base = pace.get("baseline_ms")
    baseline = f"baseline {base:g} ms" if isinstance(base, int | float) else "no baseline"
    level = float(pace.get("level") or 1)
    flight = f"{int(level)} of {pace.get('concurrency')} in flight" if level >= 1 else \
        f"1 in flight at {level:.2f} duty"
    return (f"Pace: auto, ended at {shown} with {flight} ({baseline}, {cuts} back-off(s)"
            f"{waited})")
