"""A minimal keep-alive load generator: replays a recorded request log.

``c`` threads, each with one ``http.client`` connection kept alive, send the logged
requests (verb, path and query, body, the same user's credentials) round-robin
from a shared cursor, as fast as the server answers. It parses nothing, so it costs
the client far less CPU than the crawler: its rate is the server's capacity for
this request mix at concurrency ``c``.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Prepared:
    method: str
    target: str
    body: bytes | None
    headers: Mapping[str, str]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    median_ms: float
    statuses: Mapping[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def prepare(log: Sequence[Mapping[str, Any]], credentials: Mapping[str, str],
            host: str) -> list[Prepared]:
    """The logged requests with each user's ``Authorization`` header put back."""
    out = []
    for row in log:
        headers = {"Host": host, "Accept": "application/json",
                   "User-Agent": "permaudit-bench-replay"}
        if row.get("u") in credentials:
            headers["Authorization"] = credentials[row["u"]]
        body = row.get("b") or None
        if body is not None:
            headers["Content-Type"] = row.get("ct") or "application/json"
        target = row["p"] + (f"?{row['q']}" if row.get("q") else "")
        out.append(Prepared(row["m"], target, body.encode("utf-8") if body else None, headers))
    return out


def replay(url: str, requests: Sequence[Prepared], concurrency: int, *,
           seconds: float | None = None, stop: threading.Event | None = None) -> LoadResult:
    """Send ``requests`` once (or in a loop for ``seconds`` / until ``stop``)."""
    parts = urlsplit(url)
    lock = threading.Lock()
    cursor = [0]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    looping = seconds is not None or stop is not None
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else None

    def take() -> Prepared | None:
        with lock:
            i = cursor[0]
            cursor[0] += 1
        if not looping and i >= len(requests):
            return None
        if (deadline is not None and time.perf_counter() >= deadline) or \
                (stop is not None and stop.is_set()):
            return None
        return requests[i % len(requests)]

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        mine: list[float] = []
        seen: dict[int, int] = {}
        while (req := take()) is not None:
            t0 = time.perf_counter()
            try:
                conn.request(req.method, req.target, body=req.body, headers=dict(req.headers))
                reply = conn.getresponse()
                reply.read()
                status = reply.status
                if reply.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                status = 0
            mine.append(time.perf_counter() - t0)
            seen[status] = seen.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for k, v in seen.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    median = statistics.median(latencies) * 1000 if latencies else 0.0
    return LoadResult(len(latencies), elapsed, median, statuses)
