"""Analysis tests: one real crawl of the demo site per session (simulator over loopback HTTP).

The crawl runs the real runner, which collects usage evidence with the auditor and
analyses; tests read the ``RunResults`` it wrote. Expectations are written from the
demo's planted risks (audit/sim/fixtures/demo_people.py), not from analysis code.
"""

from __future__ import annotations

from collections.abc import Iterator
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
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    with SimServer(fixture="demo", port=0) as sim:
        yield crawl(sim, tmp_path_factory.mktemp("demo-run"))
