"""One crawl in a fresh process, with the crawler's own request log kept in memory.

``python -m benchmarks --crawl-once SPEC.json`` runs ``permaudit run`` once and prints
one JSON line: wall time, peak RSS, cells by outcome, the final pace, the requests
it sent by phase, those spent on not-applicable cells, and (with ``replay``) the
server's capacity for exactly that request mix, measured by replaying the log with
the keep-alive loop of :mod:`benchmarks.load` right after the crawl. The log holds
credentials (the request headers) and never leaves this process.
"""

from __future__ import annotations

import contextlib
import json
import resource
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from audit.config.loader import AuditConfig, load_config
from audit.crawl.inventory import DocTypeInfo
from audit.results.record import RunResults
from audit.runner import RunRequest, run_audit
from benchmarks.load import Prepared, replay

UNPROBED = frozenset({"not_applicable", "skipped", "auth_failed"})
IDENTITY = "/api/method/frappe.auth.get_logged_user"
REPLAY_MAX = 25_000


@dataclass(frozen=True)
class Sent:
    started: float
    ended: float
    method: str
    url: str
    body: bytes | None
    headers: Mapping[str, str]
    wall: float  # time.time() at the reply


def record_requests() -> list[Sent]:
    """Every request any Session of this process sends, from now on."""
    log: list[Sent] = []
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest,
             **kwargs: Any) -> requests.Response:
        started = time.perf_counter()
        try:
            return original(self, request, **kwargs)
        finally:
            body = request.body.encode() if isinstance(request.body, str) else request.body
            log.append(Sent(started, time.perf_counter(), request.method or "GET",
                            request.url or "", body, dict(request.headers), time.time()))

    requests.Session.send = send  # type: ignore[method-assign]
    return log


def record_levels() -> list[tuple[float, float]]:
    """(time, auto level) after every reply the shared limiter hears of."""
    from audit.http.pacing import RateLimiter

    levels: list[tuple[float, float]] = []
    original = RateLimiter.record

    def record(self: RateLimiter, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.auto is not None:
            levels.append((time.time(), self.auto.level))

    RateLimiter.record = record  # type: ignore[method-assign]
    return levels


def _per_second(levels: list[tuple[float, float]]) -> list[tuple[int, float]]:
    sums: dict[int, list[float]] = {}
    for at, level in levels:
        sums.setdefault(int(at), []).append(level)
    return [(t, round(sum(v) / len(v), 3)) for t, v in sorted(sums.items())]


def _users_by_header(config: AuditConfig) -> dict[str, str]:
    """``Authorization`` value -> config user name, for token and basic users."""
    import base64

    out: dict[str, str] = {}
    everyone = [*config.users, *([config.auditor] if config.auditor else [])]
    for user in everyone:
        if user.api_key and user.api_secret:
            pair = f"{user.api_key.reveal()}:{user.api_secret.reveal()}"
            out[f"token {pair}"] = user.name
            out[f"Basic {base64.b64encode(pair.encode()).decode()}"] = user.name
    return out


def _doctype_of(sent: Sent) -> tuple[str | None, str | None]:
    """The DocType a request is about and the permission it asks (``ptype``), if any."""
    parts = urlsplit(sent.url)
    segments = [unquote(p) for p in parts.path.split("/") if p]
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if segments[:2] == ["api", "resource"] and len(segments) > 2:
        return segments[2], None
    return query.get("doctype"), query.get("perm_type") or query.get("ptype")


def not_applicable(sent: Sent, doctypes: Mapping[str, DocTypeInfo]) -> bool:
    """A request spent on a cell the crawler knows is not applicable."""
    name, ptype = _doctype_of(sent)
    dt = doctypes.get(name or "")
    if dt is None:
        return False
    if dt.istable:
        return True
    if ptype in ("submit", "cancel") and not dt.is_submittable:
        return True
    if dt.issingle and (ptype in ("create", "delete") or sent.method in ("POST", "DELETE")):
        return True
    if sent.method == "PUT" and sent.body and not dt.is_submittable:
        try:
            body = json.loads(sent.body)
        except ValueError:
            return False
        return isinstance(body, dict) and int(body.get("docstatus") or 0) > 0
    return False


def _phase(sent: Sent, user: str, auditor: str | None) -> str:
    path = urlsplit(sent.url).path
    if path.endswith(IDENTITY):
        return "identity"
    if path.endswith("/api/method/login") or path.endswith("/api/method/logout"):
        return "login"
    if auditor is not None and user == auditor:
        return "auditor"
    segments = [p for p in path.split("/") if p]
    if sent.method == "GET" and segments[:2] == ["api", "resource"] and len(segments) == 3:
        return "lists"
    return "probes"


def crawl_once(spec: Mapping[str, Any]) -> dict[str, Any]:
    config = load_config(Path(spec["config"]), warn=lambda _m: None)
    rate = spec["rate"]
    config = replace(config, crawl=replace(config.crawl, concurrency=int(spec["concurrency"]),
                                           rate_limit=rate if rate == "auto" else float(rate)))
    if spec.get("url"):
        config = replace(config, site=replace(config.site, url=spec["url"]))
    log = record_requests()
    levels = record_levels()
    outdir = Path(spec["outdir"])
    cpu = _cpu()
    start = time.perf_counter()
    run_audit(RunRequest(config=config, outdir=outdir, mode="safe", quiet=True,
                         doctypes=tuple(spec.get("doctypes") or ())),
              echo=lambda _m: None, warn=lambda _m: None)
    seconds = time.perf_counter() - start
    crawl_cpu = _cpu() - cpu
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = RunResults.load(outdir / "results.json")
    outcomes = Counter(r.outcome.value for r in results.probes)
    users = _users_by_header(config)
    auditor = config.auditor.name if config.auditor else None
    phases: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    wasted = 0
    for sent in log:
        user = users.get(sent.headers.get("Authorization", ""), "")
        phase = _phase(sent, user, auditor)
        phases[phase] += 1
        if phase == "probes":
            ops[op_of(sent)] += 1
        if phase in ("lists", "probes") and not_applicable(sent, results.doctypes):
            wasted += 1
    span = (log[-1].ended - log[0].started) if log else 0.0
    out: dict[str, Any] = {
        "seconds": round(seconds, 2), "peak_mib": round(peak_kib / 1024, 1),
        "cells": len(results.probes), "probed": sum(n for o, n in outcomes.items()
                                                  if o not in UNPROBED),
        "outcomes": dict(outcomes), "pace": dict(results.run.pace),
        "requests": len(log), "span_s": round(span, 3), "by_phase": dict(phases),
        "not_applicable_requests": wasted,
        "users": len(config.users),
        "client_cpu_ms_per_request": round(crawl_cpu * 1000 / max(1, len(log)), 3),
        "by_op": _by_op(results, ops),
        "timeline": sorted(Counter(int(s.wall) for s in log).items()),  # replies per second
        "levels": _per_second(levels),  # mean auto level per second
    }
    if spec.get("replay"):
        skip = {"Content-Length", "Connection", "Accept-Encoding"}
        mix = [Prepared(s.method, _target(s.url), s.body,
                        {k: v for k, v in s.headers.items() if k not in skip})
               for s in log if not urlsplit(s.url).path.endswith(("/login", "/logout"))]
        step = max(1, len(mix) // REPLAY_MAX)
        mix = mix[::step]  # an even sample keeps the mix and bounds the bench's time
        cpu = _cpu()
        got = replay(config.site.url, mix, int(spec["concurrency"]))
        replay_cpu = _cpu() - cpu
        out["capacity"] = {"requests": got.requests, "seconds": round(got.seconds, 3),
                           "rate": round(got.rate, 1), "median_ms": round(got.median_ms, 2),
                           "statuses": {str(k): v for k, v in sorted(got.statuses.items())},
                           "client_cpu_ms_per_request":
                               round(replay_cpu * 1000 / max(1, got.requests), 3)}
    return out


def _target(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def op_of(sent: Sent) -> str:
    """Which op a probe-phase request serves, read off the request itself."""
    parts = urlsplit(sent.url)
    segments = [unquote(p) for p in parts.path.split("/") if p]
    if segments[:2] == ["api", "method"]:
        ptype = _doctype_of(sent)[1] or ""
        if not ptype and sent.body:
            with contextlib.suppress(ValueError, AttributeError):
                ptype = str(json.loads(sent.body).get("perm_type") or "")
        return f"ask {ptype}" if ptype else f"method {segments[-1] if segments else ''}"
    if segments[:2] == ["api", "resource"]:
        if sent.method == "PUT":
            with contextlib.suppress(ValueError, AttributeError):
                if int(json.loads(sent.body or b"{}").get("docstatus") or 0) == 1:
                    return "rest submit"
            return "rest write"
        return {"GET": "rest read", "POST": "rest create", "DELETE": "rest delete"}.get(
            sent.method, sent.method)
    return "other"


def _by_op(results: RunResults, ops: Counter[str]) -> dict[str, Any]:
    """Probed cells per op beside the probe requests of each kind."""
    cells = Counter(r.op.value for r in results.probes if r.outcome.value not in UNPROBED)
    return {"probed_cells": dict(sorted(cells.items())), "requests": dict(sorted(ops.items()))}
