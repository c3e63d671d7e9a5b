"""Analysis tests: one real crawl of the demo site per session (simulator over loopback HTTP).

The crawl runs the real runner, which collects usage evidence with the auditor and
analyses; tests read the ``RunResults`` it wrote. Expectations are written from the
demo's planted risks (audit/sim/fixtures/demo_people.py), not from analysis code.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from audit.results.record import RunResults
from audit.runner import RunRequest, run_audit
from audit.sim.server import SimServer
from audit.status import ExitCode
from tests.conftest import PROXY_VARS
from tests.crawl.conftest import demo_config


@dataclass
class Crawl:
    code: ExitCode
    results: RunResults
    outdir: Path
    warned: list[str]
    echoed: list[str]


def crawl(sim: SimServer, outdir: Path, **request: Any) -> Crawl:
    echoed: list[str] = []
    warned: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        for name in PROXY_VARS:
            mp.delenv(name, raising=False)
        settings = {"fail_on": None, **request}  # the demo's planted risks are findings
        code = run_audit(RunRequest(config=demo_config(sim), outdir=outdir, quiet=True,
                                    **settings), echo=echoed.append, warn=warned.append)
    return Crawl(code, RunResults.load(outdir / "results.json"), outdir, warned, echoed)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """The crawl, made once per test run: under pytest-xdist the first worker that needs it
    crawls into the folder the workers of this run share, the others wait on the lock and
    read what it wrote (the tests only read the run's files)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # pytest-of-<user>/pytest-<n>/: one per run, shared by its workers
    outdir = root / "analysis-demo-run"
    done = root / "analysis-demo-run.json"  # written last: the crawl is complete
    with (root / "analysis-demo-run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            with SimServer(fixture="demo", port=0) as sim:
                made = crawl(sim, outdir)
            done.write_text(json.dumps({"code": int(made.code), "warned": made.warned,
                                        "echoed": made.echoed}), "utf-8")
    told = json.loads(done.read_text("utf-8"))
    return Crawl(ExitCode(told["code"]), RunResults.load(outdir / "results.json"), outdir,
                 told["warned"], told["echoed"])
