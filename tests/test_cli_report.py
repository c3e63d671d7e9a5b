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


SOD = ('[[rule]]\nid = "typo"\ntitle = "misspelt"\na = ["Paymnet Entry|submit"]\n'
       'b = ["Customer|create"]\n'
       '[[rule]]\nid = "fine"\ntitle = "both audited"\na = ["Customer|create"]\n'
       'b = ["ToDo|write"]\n'
       '[[rule]]\nid = "unscoped"\ntitle = "outside"\na = ["Sales Invoice|submit"]\n'
       'b = ["Customer|create"]\n')


def test_sod_rules_naming_doctypes_the_run_did_not_audit_are_warned_about(
        saved: tuple[Path, Result], tmp_path: Path) -> None:
    rules = tmp_path / "mine.toml"
    rules.write_text(SOD, "utf-8")
    result = invoke(["report", str(saved[0]), "--sod-rules", str(rules), "--fail-on", "never"])
    assert result.exit_code == 0
    warned = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warned) == 2, result.stderr
    assert f"{rules}: rule 'typo' names 'Paymnet Entry', which this run did not audit" \
        in warned[0]
    assert "'unscoped' names 'Sales Invoice'" in warned[1]
    assert "'fine'" not in result.stderr


def test_a_run_warns_of_sod_doctypes_outside_its_scope(tmp_path: Path) -> None:
    rules = tmp_path / "mine.toml"
    rules.write_text(SOD, "utf-8")
    with SimServer(fixture="demo", port=0) as sim:
        config = tmp_path / "audit.toml"
        config.write_text(CONFIG.format(host=sim.host, crawl="", expect='"ToDo" = ["read"]'),
                          "utf-8")
        result = invoke(["run", "-c", str(config), "-o", str(tmp_path / "out"), "--sod-rules",
                         str(rules), "--fail-on", "never", *SCOPE],
                        demo_environment(sim.site, sim.url))
    assert result.exit_code == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "mine.toml" in line]
    assert len(warned) == 2, result.stderr
    assert "rule 'typo' names 'Paymnet Entry', outside the crawl's scope" in warned[0]
    assert "rule 'unscoped' names 'Sales Invoice', outside the crawl's scope" in warned[1]


def test_a_sod_doctype_in_scope_that_the_site_lacks_is_named_so(tmp_path: Path) -> None:
    from audit.analysis.sod import absent_doctypes

    rules = tmp_path / "mine.toml"
    rules.write_text(SOD, "utf-8")
    known = {"Customer", "ToDo"}
    warned = absent_doctypes(rules, known, lambda name: name != "Sales Invoice")
    assert warned == [
        f"{rules}: rule 'typo' names 'Paymnet Entry', which the site does not have (names "
        "are case-sensitive): no cell of it is held",
        f"{rules}: rule 'unscoped' names 'Sales Invoice', outside the crawl's scope ([crawl] "
        "doctypes / exclude, --doctypes) or absent from the site: not judged"]
    assert absent_doctypes(None, known) == [] and absent_doctypes(rules, set()) == []
