"""``permaudit report OUTDIR``: the run's summary again, from results.json alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_cli_edges import CONFIG, SCOPE

from audit.cli import cli
from audit.sim.fixtures.demo import demo_environment
from audit.sim.server import SimServer


def invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """A finished run (one user with a wrong secret) whose site is gone afterwards."""
    folder = tmp_path_factory.mktemp("report")
    with SimServer(fixture="demo", port=0) as sim:
        config = folder / "audit.toml"
        config.write_text(CONFIG.format(host=sim.host, crawl="", expect='"ToDo" = ["read"]'),
                          "utf-8")
        env = {**demo_environment(sim.site, sim.url), "DEMO_LEAN_API_SECRET": "wrong"}
        result = invoke(["run", "-c", str(config), "-o", str(folder / "out"), *SCOPE], env)
    assert result.exit_code == 1, result.stderr
    return folder / "out", result


def test_report_prints_the_same_summary_with_the_site_down(saved: tuple[Path, Result]) -> None:
    outdir, run = saved
    result = invoke(["report", str(outdir)])
    assert result.exit_code == run.exit_code == 1
    summary = run.stdout.split("\nWritten to ", 1)[0].rstrip("\n")
    assert "auth-failed" in summary and "allowed" in summary
    assert result.stdout.split("\nWritten to ", 1)[0].rstrip("\n") == summary
    assert invoke(["report", str(outdir), "--fail-on", "never"]).exit_code == 0


@pytest.mark.parametrize(("case", "needle"), [("newer schema", "newer permaudit"),
                                               ("not json", "not valid JSON"),
                                               ("missing", "no such file")])
def test_unreadable_results_are_one_line_and_exit_2(case: str, needle: str,
                                                    saved: tuple[Path, Result],
                                                    tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    outdir.mkdir()
    data = json.loads((saved[0] / "results.json").read_text("utf-8"))
    if case == "newer schema":
        data["schema_version"] = 99
        (outdir / "results.json").write_text(json.dumps(data), "utf-8")
    elif case == "not json":
        (outdir / "results.json").write_text("{", "utf-8")
    result = invoke(["report", str(outdir)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
