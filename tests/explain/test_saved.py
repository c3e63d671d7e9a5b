"""``permaudit explain --from-results``: a cell of a finished run, from results.json alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from audit.config.loader import load_config
from audit.runner import RunRequest, run_audit
from audit.sim.server import SimServer
from tests.explain.helpers import env_of, user_toml, write_config


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("saved")
    with SimServer(fixture="reference") as sim:
        users = "\n".join(user_toml(u) for u in ("clerk", "restricted", "memo"))
        path = write_config(sim, tmp, users)
        path.write_text(path.read_text().replace(
            "[auditor]", '[crawl]\ndoctypes = ["Vendor", "Memo"]\n\n[auditor]'))
        config = load_config(path, env=env_of(sim), warn=lambda _m: None)
        run_audit(RunRequest(config=config, outdir=tmp / "out", quiet=True),
                  echo=lambda _m: None, warn=lambda _m: None)
    return tmp / "out" / "results.json"


def invoke(args: list[str]) -> Result:
    result = CliRunner().invoke(cli, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.mark.parametrize(("user", "doctype", "op", "cause"), [
    ("clerk", "Vendor", "delete", "no-role"),
    ("memo", "Vendor", "read", "no-role"),
])
def test_saved_cell_names_the_cause(results: Path, user: str, doctype: str, op: str,
                                    cause: str) -> None:
    got = invoke(["explain", "--from-results", str(results), "--user", user, "--doctype",
                  doctype, "--op", op, "--format", "json"])
    assert got.exit_code == 0, got.output
    out = json.loads(got.stdout)
    assert out["mode"] == "saved" and out["cause"]["cause"] == cause, out


def test_saved_allowed_cell_and_bad_input(results: Path) -> None:
    ok = invoke(["explain", "--from-results", str(results), "--user", "restricted",
                 "--doctype", "Vendor", "--op", "read"])
    assert ok.stdout.startswith("restricted CAN read Vendor")
    assert "user_permission:Vendor=Acme Corp" in ok.stdout
    missing = invoke(["explain", "--from-results", str(results), "--user", "ghost",
                      "--doctype", "Vendor", "--op", "read"])
    assert missing.exit_code == 2 and "'ghost'" in missing.stderr
    nofile = invoke(["explain", "--from-results", str(results.parent / "nope.json"), "--user",
                     "clerk", "--doctype", "Vendor", "--op", "read"])
    assert nofile.exit_code == 2 and "nope.json" in nofile.stderr
