"""Crawler tests run the real crawler against the simulator over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from audit.config.loader import AuditConfig, load_config
from audit.http.client import ClientOptions
from audit.model import Operation, Outcome
from audit.runner import RunRequest, run_audit
from audit.sim.fixtures.demo import demo_environment
from audit.sim.server import SimServer
from audit.status import ExitCode

from .truth import truth

DEMO_TOML = Path(str(resources.files("audit").joinpath("data/demo.toml")))


@pytest.fixture
def demo_sim() -> Iterator[SimServer]:
    with SimServer(fixture="demo", port=0) as sim:
        yield sim


def quick_demo_toml(folder: Path) -> Path:
    """The demo config at the pace :func:`demo_config` gives in-process crawls (2000
    requests/s instead of 200), for tests that run the CLI; pacing is not part of the
    config digest, so such a run resumes and compares like one of the shipped file."""
    text = DEMO_TOML.read_text("utf-8")
    assert text.count("\nrate_limit = 200\n") == 1
    path = folder / "demo.toml"
    path.write_text(text.replace("\nrate_limit = 200\n", "\nrate_limit = 2000\n"), "utf-8")
    return path


def demo_config(sim: SimServer, **crawl: Any) -> AuditConfig:
    env = demo_environment(sim.site, sim.url)
    config = load_config(DEMO_TOML, env=env, warn=lambda _m: None)
    settings = {"rate_limit": 2000.0, "concurrency": 8, **crawl}
    return replace(config, site=replace(config.site, host=sim.host),
                   crawl=replace(config.crawl, **settings))


@dataclass
class Run:
    code: ExitCode
    data: dict[str, Any]
    echoed: list[str]
    warned: list[str]
    outdir: Path

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.data["probes"]

    def frappe_user(self, name: str) -> str:
        return str(self.data["users"][name]["frappe_user"])


def run(config: AuditConfig, outdir: Path, **request: Any) -> Run:
    echoed: list[str] = []
    warned: list[str] = []
    code = run_audit(RunRequest(config=config, outdir=outdir, quiet=True, **request),
                     echo=echoed.append, warn=warned.append)
    data = json.loads((outdir / "results.json").read_text("utf-8"))
    return Run(code, data, echoed, warned, outdir)


def compare(result: Run, sim: SimServer) -> list[tuple[dict[str, Any], Outcome]]:
    """Each row with the outcome the simulator's own engine gives the same cell."""
    out = []
    for row in result.rows:
        user = result.frappe_user(row["user"])
        out.append((row, truth(sim.site, sim.engine, user, row["doctype"], Operation(row["op"]))))
    return out


def describe(row: dict[str, Any], expected: Outcome) -> str:
    return (f"{row['user']} {row['doctype']} {row['op']}: got {row['outcome']} "
            f"({row['method']} {row['http_status']} {row['exc_type']} target={row['target']!r} "
            f"reason={row['reason']!r}), engine says {expected.value}")


def mismatches(result: Run, sim: SimServer, *, verdicts_only: bool = False) -> list[str]:
    """Rows whose outcome differs from the engine (only allowed/denied rows if asked)."""
    verdicts = (Outcome.ALLOWED.value, Outcome.DENIED.value)
    return [describe(row, expected) for row, expected in compare(result, sim)
            if row["outcome"] != expected.value
            and (not verdicts_only or row["outcome"] in verdicts)]


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> float:
    """Retries after a dropped connection or a 5xx wait 0.05 s, 0.1 s, 0.2 s instead of ten
    times that: every retry is still made, the test just does not sleep through them.
    Pacing, Retry-After and the site's limiter are untouched."""
    backoff = 0.05
    original = ClientOptions.from_config.__func__  # type: ignore[attr-defined]

    def from_config(cls: type[ClientOptions], *args: Any, **kwargs: Any) -> ClientOptions:
        return replace(original(cls, *args, **kwargs), backoff=backoff)

    monkeypatch.setattr(ClientOptions, "from_config", classmethod(from_config))
    return backoff
