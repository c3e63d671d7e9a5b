"""A ``safe`` audit of the hazard site (audit.sim.fixtures.hazards) over real loopback HTTP.

Each test watches the simulator's journal (every document change that was committed) and
its request log; the oracle of a verdict is the simulator's own permission engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from audit.config.loader import load_config
from audit.model import Operation
from audit.runner import RunRequest, run_audit
from audit.sim.fixtures import hazards
from audit.sim.server import SimServer
from audit.status import ExitCode
from tests.crawl.truth import truth

SAFE_DOCTYPES = tuple(n for n, dt in hazards.build().doctypes.items()
                      if dt.module == "Hazards" and n not in hazards.INCIDENT_DOCTYPES)


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(fixture=hazards.build(), port=0) as server:
        yield server


@dataclass
class Audit:
    code: ExitCode
    data: dict[str, Any]
    warned: list[str]
    outdir: Path
    rows: list[dict[str, Any]] = field(default_factory=list)

    def row(self, user: str, doctype: str, op: str) -> dict[str, Any]:
        found = [r for r in self.rows if (r["user"], r["doctype"], r["op"]) == (user, doctype, op)]
        assert len(found) == 1, (user, doctype, op)
        return found[0]


def audit(sim: SimServer, tmp_path: Path, *, mode: str = "safe",
          users: tuple[str, ...] = ("hazard",), doctypes: tuple[str, ...] = (),
          concurrency: int = 4) -> Audit:
    config_file = tmp_path / "audit.toml"
    text = hazards.config_toml(mode, users).replace("concurrency = 4",
                                                   f"concurrency = {concurrency}")
    config_file.write_text(text, encoding="utf-8")
    config = load_config(config_file, env=hazards.environment(sim.site, sim.url),
                         warn=lambda _m: None)
    outdir = tmp_path / "out"
    warned: list[str] = []
    code = run_audit(RunRequest(config=config, outdir=outdir, quiet=True, doctypes=doctypes),
                     echo=lambda _m: None, warn=warned.append)
    data = json.loads((outdir / "results.json").read_text("utf-8"))
    return Audit(code, data, warned, outdir, rows=data["probes"])


def expected(sim: SimServer, result: Audit, row: dict[str, Any]) -> str:
    user = str(result.data["users"][row["user"]]["frappe_user"])
    return truth(sim.site, sim.engine, user, row["doctype"], Operation(row["op"])).value


def wrong_verdicts(sim: SimServer, result: Audit) -> list[str]:
    return [f"{r['user']} {r['doctype']} {r['op']}: {r['outcome']} ({r['method']} "
            f"{r['http_status']} {r['reason']!r}), engine says {expected(sim, result, r)}"
            for r in result.rows if r["outcome"] in ("allowed", "denied")
            and r["outcome"] != expected(sim, result, r)]


def changes(sim: SimServer) -> list[str]:
    return [f"{e.action} {e.doctype} {e.name} by {e.user}" for e in sim.journal.changes()]
