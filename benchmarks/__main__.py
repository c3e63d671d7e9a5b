"""``make bench``: how close the crawler comes to the server's own capacity.

Synthetic (default): a generated site (``--doctypes`` x ``--users``) behind gunicorn
with ``--workers`` processes, so the server and not one interpreter is the limit.
In one run, on the same site and machine:

1. ``fixed``: ``permaudit run`` (safe) at concurrency ``c`` with a fixed rate too high
   to bind; then, in the same process, the server's capacity for exactly that
   request log, replayed by a minimal keep-alive client loop (:mod:`benchmarks.load`)
   at the same ``c``;
2. ``auto``: the same crawl with ``rate_limit = "auto"``;
3. ``auto under load``: a competing load (other clients listing documents) that
   multiplies the server's latency, measured by a one-at-a-time probe, while an
   ``auto`` crawl of part of the site runs: its pace and decisions show the back-off.

Against a real site (``--url URL --config FILE``, safe mode only): steps 1 and 2 with
the config's users, no competing load. Each crawl runs in a fresh child process.
Figures go to stdout as a table and to ``reports/bench/bench.json``; nothing here
asserts a speed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tabulate import tabulate

from benchmarks.load import LoadResult, Prepared, replay

FIXED_RATE = 100_000.0  # requests/s: never the limit, so concurrency alone paces "fixed"
OUT = Path("reports/bench/bench.json")


def run_child(spec: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
    try:
        done = subprocess.run([sys.executable, "-m", "benchmarks", "--crawl-once", fh.name],
                              env=dict(env), capture_output=True, text=True, check=False)
    finally:
        os.unlink(fh.name)
    if done.returncode != 0:
        raise SystemExit(f"bench crawl failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _rate(crawl: Mapping[str, Any]) -> float:
    return float(crawl["requests"]) / float(crawl["span_s"]) if crawl["span_s"] else 0.0


def _cells(crawl: Mapping[str, Any]) -> dict[str, Any]:
    phases = crawl["by_phase"]
    probing = phases.get("lists", 0) + phases.get("probes", 0)
    probed = max(1, int(crawl["probed"]))
    return {
        "probed_cells": crawl["probed"], "cells": crawl["cells"],
        "requests_total": crawl["requests"], "requests_by_phase": phases,
        "requests_per_cell": round(crawl["requests"] / probed, 3),
        "crawl_requests_per_cell": round(probing / probed, 3),
        "identity_checks_per_user": round(phases.get("identity", 0) / max(1, crawl["users"]), 2),
        "not_applicable_requests": crawl["not_applicable_requests"],
    }


def _competing_load(site: Any, host: str) -> list[Prepared]:
    """Other clients: every generated user listing every generated DocType, in a loop."""
    from audit.sim.fixtures import synthetic

    out = []
    users = [n for n in site.users if n.endswith(f"@{synthetic.DOMAIN}")]
    doctypes = [d.name for d in site.doctypes.values()
                if d.module == "Bench" and not (d.istable or d.issingle)]
    for i, doctype in enumerate(doctypes):
        user = site.users[users[i % len(users)]]
        headers = {"Host": host, "Accept": "application/json",
                   "Authorization": f"token {user.api_key}:{user.api_secret}"}
        out.append(Prepared("GET", f"/api/resource/{doctype.replace(' ', '%20')}", None,
                            headers))
    return out


def _probe_latency(url: str, mix: list[Prepared], seconds: float) -> LoadResult:
    return replay(url, mix, 1, seconds=seconds)


def synthetic_bench(args: argparse.Namespace) -> dict[str, Any]:
    from audit.sim.fixtures import synthetic
    from benchmarks.site import GunicornSite

    built = time.perf_counter()
    site = synthetic.build(args.doctypes, args.users)
    build_s = time.perf_counter() - built
    c = args.concurrency
    figures: dict[str, Any] = {"site": {"doctypes": args.doctypes, "users": args.users,
                                        "build_s": round(build_s, 2),
                                        "server": f"gunicorn gthread, {args.workers} workers"}}
    gunicorn = GunicornSite(site, args.workers)
    with tempfile.TemporaryDirectory() as tmp, gunicorn as url:
        config = Path(tmp) / "bench.toml"
        config.write_text(synthetic.config_toml(site), encoding="utf-8")
        env = {**os.environ, **synthetic.environment(site, url)}
        spec = {"config": str(config), "concurrency": c}
        log(f"fixed-rate crawl at concurrency {c}, then its log replayed ...")
        server = gunicorn.cpu_seconds()
        fixed = run_child({**spec, "rate": FIXED_RATE, "outdir": f"{tmp}/fixed",
                           "replay": True}, env)
        figures["server_cpu_ms_per_request"] = round(
            (gunicorn.cpu_seconds() - server) * 1000
            / max(1, fixed["requests"] + fixed["capacity"]["requests"]), 3)
        log("auto crawl ...")
        auto = run_child({**spec, "rate": "auto", "outdir": f"{tmp}/auto"}, env)

        load_mix = _competing_load(site, synthetic.SITE_NAME)
        idle = _probe_latency(url, load_mix, 3)
        load_c = args.load_concurrency or args.workers
        part = [d.name for d in site.doctypes.values() if d.module == "Bench"][:args.doctypes // 4]
        log(f"auto crawl of {len(part)} DocTypes; after {args.load_after:g} s a competing load "
            f"of {load_c} clients ...")
        load = CompetingLoad(url, load_mix, load_c, args.load_after)
        with load:
            under = run_child({**spec, "rate": "auto", "outdir": f"{tmp}/under-load",
                               "doctypes": part}, env)
    figures.update(_summarise(fixed, auto, c))
    before, after = _split(under["timeline"], load.started_at)
    level_before, level_after = _split(under["levels"], load.started_at, gaps_are_zero=False)
    figures["auto_under_load"] = {
        "competing_clients": load_c, "load_started_after_s": args.load_after,
        "latency_idle_ms": round(idle.median_ms, 2),
        "latency_loaded_ms": round(load.busy.median_ms, 2) if load.busy else None,
        "latency_factor": round(load.busy.median_ms / idle.median_ms, 2)
        if load.busy and idle.median_ms else None,
        "crawl_rate_before_load": before, "crawl_rate_under_load": after,
        "rate_ratio": round(after / before, 3) if before else None,
        "level_before_load": level_before, "level_under_load": level_after,
        "back_off": round(level_after / level_before, 3) if level_before else None,
        "pace": under["pace"],
        "competing_load_rate": round(load.result.rate, 1) if load.result else None,
    }
    return figures


class CompetingLoad:
    """Other clients on the site, from ``delay`` seconds after the start until the end."""

    def __init__(self, url: str, mix: list[Prepared], clients: int, delay: float) -> None:
        self.url, self.mix, self.clients, self.delay = url, mix, clients, delay
        self.stop = threading.Event()
        self.started_at = 0.0
        self.busy: LoadResult | None = None
        self.result: LoadResult | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if self.stop.wait(self.delay):
            return
        self.started_at = time.time()
        worker = threading.Thread(target=self._load, daemon=True)
        worker.start()
        self.busy = _probe_latency(self.url, self.mix, 3)  # the site's latency under it
        worker.join()

    def _load(self) -> None:
        self.result = replay(self.url, self.mix, self.clients, stop=self.stop)

    def __enter__(self) -> CompetingLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join()


def _split(timeline: list[list[float]], at: float, *,
           gaps_are_zero: bool = True) -> tuple[float, float]:
    """Mean of a per-second series in the 10 s before ``at`` and after it (whole
    seconds; the load's first two seconds are left out while it settles in)."""
    counts = {int(s): n for s, n in timeline}
    if not counts or not at:
        return 0.0, 0.0
    last = max(counts)
    before = [counts.get(s, 0) for s in range(int(at) - 10, int(at))
              if gaps_are_zero or s in counts]
    after = [counts.get(s, 0) for s in range(int(at) + 2, last)
             if gaps_are_zero or s in counts]
    return _mean(before), _mean(after)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 2) if values else 0.0


def _summarise(fixed: Mapping[str, Any], auto: Mapping[str, Any], c: int) -> dict[str, Any]:
    capacity = float(fixed["capacity"]["rate"])
    return {
        "concurrency": c,
        "capacity": {**fixed["capacity"],
                     "how": "the fixed crawl's own request log replayed by a keep-alive "
                            "http.client loop (benchmarks/load.py), c threads"},
        "fixed": {"requests_per_s": round(_rate(fixed), 1), "seconds": fixed["seconds"],
                  "of_capacity": round(_rate(fixed) / capacity, 3) if capacity else None,
                  "peak_mib": fixed["peak_mib"], "pace": fixed["pace"]},
        "auto": {"requests_per_s": round(_rate(auto), 1), "seconds": auto["seconds"],
                 "of_capacity": round(_rate(auto) / capacity, 3) if capacity else None,
                 "peak_mib": auto["peak_mib"], "pace": auto["pace"]},
        "client_cpu_ms_per_request": {"crawler": fixed["client_cpu_ms_per_request"],
                                      "replay": fixed["capacity"]["client_cpu_ms_per_request"]},
        "cells": {**_cells(fixed), "by_op": fixed["by_op"]},
        "outcomes": fixed["outcomes"],
    }


def real_bench(args: argparse.Namespace) -> dict[str, Any]:
    """The same figures against the site in ``--url`` (safe mode; no synthetic data)."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = {"config": args.config, "url": args.url, "concurrency": args.concurrency}
        log(f"fixed-rate crawl of {args.url} at concurrency {args.concurrency} ...")
        fixed = run_child({**spec, "rate": FIXED_RATE, "outdir": f"{tmp}/fixed",
                           "replay": True}, os.environ)
        log("auto crawl ...")
        auto = run_child({**spec, "rate": "auto", "outdir": f"{tmp}/auto"}, os.environ)
    return {"site": {"url": args.url}, **_summarise(fixed, auto, args.concurrency)}


def extras(figures: dict[str, Any]) -> None:
    """Figures of the analysis, reading and report benches, where those modules exist."""
    for key, name, func in (("analysis", "analysis", "bench_analysis"),
                            ("reading", "analysis", "bench_reading"),
                            ("report", "report", "bench_report")):
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError:
            continue
        log(f"{key} bench ...")
        figures[key] = getattr(module, func)()


def table(figures: Mapping[str, Any]) -> str:
    cap = figures["capacity"]
    rows = [["capacity (replayed log)", f"{cap['rate']:.0f}", "1.00", f"{cap['seconds']:.1f}",
             f"median {cap['median_ms']:.1f} ms"]]
    for label in ("fixed", "auto"):
        f = figures[label]
        pace = f["pace"]
        note = f"{pace.get('in_flight', pace.get('concurrency'))} in flight at the end"
        rows.append([f"permaudit run, {label}", f"{f['requests_per_s']:.0f}",
                     f"{f['of_capacity']:.2f}", f"{f['seconds']:.1f}", note])
    loaded = figures.get("auto_under_load")
    if loaded and loaded["back_off"] is not None:
        cuts = sum(n for k, n in loaded["pace"].get("decisions", {}).items()
                   if k.startswith("cut"))
        rows.append([f"auto, then a load: latency x{loaded['latency_factor']}",
                     f"{loaded['crawl_rate_before_load']:.0f} -> "
                     f"{loaded['crawl_rate_under_load']:.0f}",
                     f"{loaded['rate_ratio']:.2f} of before", "",
                     f"in flight {loaded['level_before_load']:.2f} -> "
                     f"{loaded['level_under_load']:.2f} ({cuts} back-offs)"])
    cells = figures["cells"]
    out = tabulate(rows, headers=["", "req/s", "ratio", "seconds", ""])
    out += (f"\n\nrequests per probed cell: {cells['requests_per_cell']} in all, "
            f"{cells['crawl_requests_per_cell']} for lists and probes; identity checks per "
            f"user: {cells['identity_checks_per_user']}; requests on not-applicable cells: "
            f"{cells['not_applicable_requests']}")
    cpu = figures["client_cpu_ms_per_request"]
    out += (f"\nclient CPU per request: crawler {cpu['crawler']} ms, replay loop {cpu['replay']} ms"
            + (f"; server CPU per request: {figures['server_cpu_ms_per_request']} ms"
               if "server_cpu_ms_per_request" in figures else ""))
    return out


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--doctypes", type=int, default=400)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--load-concurrency", type=int, default=0,
                        help="clients of the competing load (default: one per worker)")
    parser.add_argument("--url", help="a real site to measure instead (needs --config)")
    parser.add_argument("--config", help="permaudit config for --url")
    parser.add_argument("--load-after", type=float, default=20.0,
                        help="seconds into the loaded crawl before the competing load starts")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--crawl-once", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.crawl_once:
        from benchmarks.crawl import crawl_once

        spec = json.loads(Path(args.crawl_once).read_text("utf-8"))
        print(json.dumps(crawl_once(spec)))
        return
    if bool(args.url) != bool(args.config):
        parser.error("--url and --config go together")
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    figures = real_bench(args) if args.url else synthetic_bench(args)
    extras(figures)
    figures["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(), "processor": platform.processor(),
                          "load_average_at_start": round(load_before, 2),
                          "load_average_at_end": round(os.getloadavg()[0], 2)}
    figures["bench_seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(table(figures))
    print(f"\nbench took {figures['bench_seconds']:.0f} s; figures in {args.out}")


if __name__ == "__main__":
    main()
