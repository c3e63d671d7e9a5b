"""``permaudit run --plan-only``: discovery runs, each cell's plan is printed, no probe is sent."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from audit.cli import cli
from audit.sim.fixtures import hard
from audit.sim.server import SimServer

from .test_hard import DOCTYPES


def test_plan_only_prints_every_cell_and_sends_no_probe(tmp_path: Path) -> None:
    with SimServer(fixture=hard.build(), port=0) as sim:
        config = tmp_path / "audit.toml"
        config.write_text(hard.config_toml(DOCTYPES), encoding="utf-8")
        result = CliRunner().invoke(
            cli, ["run", "-c", str(config), "-o", str(tmp_path / "out"), "--plan-only",
                  "--quiet"], env=hard.environment(sim.site, sim.url))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        requests = list(sim.controls.requests)
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if " | " in x]
    users = len(hard.USERS) - 1
    assert len(lines) == users * len(DOCTYPES) * 6
    write = next(x for x in lines if x.startswith("multi | Hard Order | write:"))
    assert "rest PUT" in write and "(user_permission)" in write
    assert "body {'modified': '2000-01-01 00:00:00'}" in write
    assert any(x.startswith("viewer | Hard Order | delete:") and "first refusal stands" in x
               for x in lines)
    # only reads: discovery, the surveys, and each user's one identity check
    assert {r.method for r in requests} == {"GET"}
    assert not [r for r in requests if "has_permission" in r.path]
    assert not (tmp_path / "out" / "results.json").exists()
