"""``make bench``: the crawler against a generated site, several settings side by side.

The simulated site runs in a process of its own (so it does not share the crawler's
interpreter lock) and each crawl runs in a fresh child process, which reports its
wall time and peak RSS. All settings are measured in one run of this script, on the
same site, so the ratios compare like with like. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from tabulate import tabulate


@dataclass(frozen=True)
class Figure:
    label: str
    seconds: float
    requests: int
    cells: int
    peak_mib: float


def serve_site(conn: Connection, n_doctypes: int, n_users: int, latency: float) -> None:
    """Child process: the synthetic site; answers 'count' and 'stop' over the pipe."""
    from audit.sim.fixtures import synthetic
    from audit.sim.server import SimServer

    site = synthetic.build(n_doctypes, n_users)
    with SimServer(fixture=site, port=0) as sim:
        sim.controls.latency_s = latency
        conn.send({"url": sim.url, "host": sim.host, "config": synthetic.config_toml(sim.site),
                   "env": synthetic.environment(sim.site, sim.url)})
        while True:
            message = conn.recv()
            if message == "count":
                conn.send(len(sim.controls.requests))
            else:
                return


def crawl_once(config: Path, outdir: Path, concurrency: int) -> None:
    """Child process: one crawl; prints its wall time and peak RSS as JSON."""
    import resource
    import time
    from dataclasses import replace

    from audit.config.loader import load_config
    from audit.runner import RunRequest, run_audit

    loaded = load_config(config, warn=lambda _m: None)
    loaded = replace(loaded, crawl=replace(loaded.crawl, concurrency=concurrency,
                                           rate_limit=1e6))
    start = time.perf_counter()
    run_audit(RunRequest(config=loaded, outdir=outdir, quiet=True), echo=lambda _m: None,
              warn=lambda _m: None)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cells = len(json.loads((outdir / "results.json").read_text("utf-8"))["probes"])
    print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024, "cells": cells}))


def measure(args: argparse.Namespace) -> list[Figure]:
    ours, theirs = mp.Pipe()
    site = mp.Process(target=serve_site, daemon=True,
                      args=(theirs, args.doctypes, args.users, args.latency_ms / 1000))
    site.start()
    info = ours.recv()
    figures = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "bench.toml"
            config.write_text(info["config"], encoding="utf-8")
            env = {**os.environ, **info["env"]}
            for level in (int(x) for x in args.concurrency.split(",")):
                ours.send("count")
                before = ours.recv()
                done = subprocess.run(
                    [sys.executable, "-m", "benchmarks", "--crawl-once", str(config),
                     str(Path(tmp) / f"out-{level}"), str(level)],
                    env=env, capture_output=True, text=True, check=True)
                ours.send("count")
                sent = ours.recv() - before
                got = json.loads(done.stdout.strip().splitlines()[-1])
                figures.append(Figure(f"concurrency {level}", got["seconds"], sent,
                                      got["cells"], got["peak_mib"]))
    finally:
        ours.send("stop")
        site.join(timeout=30)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--doctypes", type=int, default=40)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="added to every reply, like a real site's round trip")
    parser.add_argument("--concurrency", default="1,4,8")
    parser.add_argument("--crawl-once", nargs=3, metavar=("CONFIG", "OUTDIR", "CONCURRENCY"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.crawl_once:
        config, outdir, level = args.crawl_once
        crawl_once(Path(config), Path(outdir), int(level))
        return
    figures = measure(args)
    base = figures[0]
    rows = [[f.label, f"{f.seconds:.2f}", f.requests, f"{f.requests / f.seconds:.0f}",
             f"{f.cells / f.seconds:.0f}", f"{base.seconds / f.seconds:.2f}x",
             f"{f.peak_mib:.0f}"] for f in figures]
    print(f"synthetic site: {args.doctypes} DocTypes x {args.users} users, "
          f"{args.latency_ms:g} ms added per reply; site and crawler in separate processes")
    print(tabulate(rows, headers=["setting", "seconds", "requests", "req/s", "cells/s",
                                  "speed-up vs first", "crawler peak RSS MiB"]))


if __name__ == "__main__":
    main()
