"""``make bench``: the crawler on a generated site, several settings side by side.

Every figure comes from one process and one run of this script, so the ratios
(against concurrency 1) compare like with like on the same machine. Nothing here
asserts a speed: it measures and prints.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, replace
from pathlib import Path

from tabulate import tabulate

from audit.config import load_config
from audit.runner import RunRequest, run_audit
from audit.sim.fixtures import synthetic
from audit.sim.server import SimServer


@dataclass(frozen=True)
class Figure:
    label: str
    seconds: float
    requests: int
    cells: int
    peak_mib: float


def one_run(n_doctypes: int, n_users: int, concurrency: int, latency: float) -> Figure:
    site = synthetic.build(n_doctypes, n_users)
    with SimServer(fixture=site, port=0) as sim, tempfile.TemporaryDirectory() as tmp:
        sim.controls.latency_s = latency
        cfg_path = Path(tmp) / "bench.toml"
        cfg_path.write_text(synthetic.config_toml(sim.site), encoding="utf-8")
        env = {**os.environ, **synthetic.environment(sim.site, sim.url)}
        config = load_config(cfg_path, env=env, warn=lambda _m: None)
        config = replace(config, site=replace(config.site, host=sim.host),
                         crawl=replace(config.crawl, concurrency=concurrency, rate_limit=1e6))
        tracemalloc.start()
        start = time.perf_counter()
        run_audit(RunRequest(config=config, outdir=Path(tmp) / "out", quiet=True),
                  echo=lambda _m: None, warn=lambda _m: None)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        cells = len(config.users) * len(sim.site.doctypes) * 6
        return Figure(f"concurrency {concurrency}", seconds, len(sim.controls.requests), cells,
                      peak)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--doctypes", type=int, default=40)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=5.0,
                        help="added to every reply, like a real site's round trip")
    parser.add_argument("--concurrency", default="1,4,8")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    figures = [one_run(args.doctypes, args.users, c, args.latency_ms / 1000) for c in levels]
    base = figures[0]
    rows = [[f.label, f"{f.seconds:.2f}", f.requests, f"{f.requests / f.seconds:.0f}",
             f"{f.cells / f.seconds:.0f}", f"{base.seconds / f.seconds:.2f}x",
             f"{f.peak_mib:.1f}"] for f in figures]
    print(f"synthetic site: {args.doctypes} DocTypes x {args.users} users, "
          f"{args.latency_ms:g} ms added per reply")
    print(tabulate(rows, headers=["setting", "seconds", "requests", "req/s", "cells/s",
                                  "speed-up vs first", "peak MiB (tracemalloc)"]))


if __name__ == "__main__":
    main()
