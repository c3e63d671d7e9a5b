"""Drift: `permaudit diff` between two real runs, --baseline on run, suppressions files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audit.analysis.suppress import load_suppressions
from audit.cli import cli
from audit.sim.fixtures.demo_people import email
from audit.sim.server import SimServer
from audit.status import UsageError

from .conftest import crawl

SCOPE = ("Customer", "Sales Invoice", "Sales Order")


def invoke(args: list[str]) -> Result:
    result = CliRunner().invoke(cli, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """lean audited, then given Accounts User, then audited again (second with --baseline)."""
    old, new = tmp_path_factory.mktemp("old"), tmp_path_factory.mktemp("new")
    with SimServer(fixture="demo", port=0) as sim:
        crawl(sim, old, users=("lean",), doctypes=SCOPE)
        sim.site.users[email("lean")].roles.append("Accounts User")
        crawl(sim, new, users=("lean",), doctypes=SCOPE, baseline=old / "results.json")
    return old / "results.json", new / "results.json"


def allowed(path: Path) -> set[str]:
    rows = json.loads(path.read_text("utf-8"))["probes"]
    return {f"{r['user']}|{r['doctype']}|{r['op']}" for r in rows if r["outcome"] == "allowed"}


def test_diff_reports_exactly_the_added_role(two_runs: tuple[Path, Path]) -> None:
    old, new = two_runs
    result = invoke(["diff", str(old), str(new), "--format", "json"])
    assert result.exit_code == 1
    drift = json.loads(result.output)
    gained = allowed(new) - allowed(old)
    assert gained and all(c.startswith("lean|Sales Invoice|") for c in gained)
    assert drift["gained"] == sorted(gained) and drift["lost"] == []
    assert drift["users_added"] == drift["users_removed"] == []
    assert drift["findings_new"] and drift["findings_resolved"] == []


def test_diff_text_and_no_change(two_runs: tuple[Path, Path]) -> None:
    old, new = two_runs
    text = invoke(["diff", str(old), str(new)])
    assert "+ gained lean|Sales Invoice|read" in text.output and text.exit_code == 1
    same = invoke(["diff", str(new), str(new)])
    assert same.exit_code == 0 and "none" in same.output


def test_baseline_on_run_stores_the_drift(two_runs: tuple[Path, Path]) -> None:
    old, new = two_runs
    analysis = json.loads(new.read_text("utf-8"))["analysis"]
    assert analysis["drift"]["gained"] == sorted(allowed(new) - allowed(old))
    assert analysis["users"]["lean"]["changes"] == ["+" + c for c in analysis["drift"]["gained"]]


def test_diff_of_a_bad_file_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_text("{not json", "utf-8")
    result = invoke(["diff", str(bad), str(bad)])
    assert result.exit_code == 2 and "not valid JSON" in result.output


@pytest.mark.parametrize(("text", "words"), [
    ('[[suppress]]\nrule = "no-ip-restriction"\nexpires = 2026-01-01\n', "needs a reason"),
    ('[[suppress]]\nreason = "x"\n', "needs id"),
    ('[[suppress]]\nrule = "nope"\nreason = "x"\n', "unknown rule 'nope'"),
    ('[[suppress]]\nrule = "plain-http"\nreason = "x"\nexpires = "soon"\n', "TOML date"),
    ('[[suppress]]\nid = "a"\nreason = "x"\ncolour = 1\n', "colour: unknown key"),
    ("[[suppress]\n", "not valid TOML"),
])
def test_bad_suppressions_file_is_one_clear_line(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "accepted.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(UsageError) as err:
        load_suppressions(path)
    assert words in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_expired_suppression_is_reported_on_run(tmp_path: Path) -> None:
    accepted = tmp_path / "accepted.toml"
    accepted.write_text('[[suppress]]\nrule = "no-declared-need"\nuser = "former"\n'
                        'reason = "leaver, key revoked soon"\nexpires = 2020-01-31\n', "utf-8")
    from audit.analysis import AnalysisOptions

    options = AnalysisOptions(fail_on=None, suppressions=load_suppressions(accepted))
    with SimServer(fixture="demo", port=0) as sim:
        run = crawl(sim, tmp_path / "out", users=("former",), doctypes=("Note",),
                    analysis=options)
    assert run.results.analysis["expired_suppressions"] == [
        "no-declared-need for former (expired 2020-01-31: leaver, key revoked soon)"]
    assert any(f.rule == "no-declared-need" for f in run.results.findings)
    assert any("suppression expired" in w for w in run.warned)
    assert any("Expired suppression" in e for e in run.echoed)


def test_diff_of_runs_of_two_sites_says_so(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = two_runs
    document = json.loads(new.read_text("utf-8"))
    document["run"]["site_id"] = "https://other.example.com:443 host=other.example.com"
    other = tmp_path / "results.json"
    other.write_text(json.dumps(document), "utf-8")
    result = invoke(["diff", str(old), str(other)])
    assert "different sites" in result.stderr and "other.example.com" in result.stderr
    same = invoke(["diff", str(old), str(new)])
    assert "different sites" not in same.stderr
