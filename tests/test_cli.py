"""Every user mistake on the command line: one line naming what is wrong, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audit.cli import cli

GOOD = """
[site]
url = "http://127.0.0.1:9"
[[users]]
name = "bot"
auth = "token"
api_key = "${K}"
api_secret = "${S}"
"""


def invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    """Run the CLI; any exception other than SystemExit is a crash and fails the test."""
    result = CliRunner().invoke(cli, args, env={"K": "key123", "S": "secret456", **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "audit.toml"
    path.write_text(GOOD, encoding="utf-8")
    return path


CASES = {
    "missing config": (["run", "-c", "{tmp}/nope.toml"], "nope.toml"),
    "active not allowed": (["run", "-c", "{good}", "--mode", "active"], "allow_active"),
    "resume without a run": (["run", "-c", "{good}", "--resume", "-o", "{tmp}/empty"],
                             "--resume"),
    "unknown user": (["run", "-c", "{good}", "--users", "ghost"], "ghost"),
    "unknown mode": (["run", "-c", "{good}", "--mode", "loud"], "loud"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_usage_errors(case: str, good: Path, tmp_path: Path) -> None:
    args, needle = CASES[case]
    args = [a.format(tmp=tmp_path, good=good) for a in args]
    result = invoke(args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert any(needle in line for line in lines), result.stderr
    if case != "unknown mode":  # click's own usage text for a bad choice is longer
        assert len(lines) == 1, lines


def test_insecure_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "remote.toml"
    path.write_text(GOOD.replace("127.0.0.1:9", "erp.example.invalid"), encoding="utf-8")
    result = invoke(["check-auth", "-c", str(path)])
    assert result.exit_code == 2
    assert "--allow-insecure" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unreachable_site_is_exit_3(good: Path, tmp_path: Path) -> None:
    result = invoke(["run", "-c", str(good), "-o", str(tmp_path / "out"), "--quiet",
                     "--doctypes", "Customer"])
    assert result.exit_code == 3
    assert "could not be reached" in result.stderr or "could not connect" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()  # nothing written, no cell rows


def test_secrets_never_printed(good: Path, tmp_path: Path) -> None:
    # --debug prints the expected error's traceback too (and keeps its exit code)
    result = CliRunner().invoke(cli, ["--debug", "run", "-c", str(good), "-o",
                                      str(tmp_path / "out"), "--quiet", "--doctypes", "Customer"],
                                env={"K": "key123", "S": "secret456"})
    assert result.exit_code == 3 and "SiteUnreachable" in result.stderr
    everything = result.output + result.stderr
    for out_file in (tmp_path / "out").glob("*"):
        everything += out_file.read_text("utf-8")
    assert "secret456" not in everything and "key123" not in everything


def test_a_site_that_never_answers_is_given_up_after_two_accounts(tmp_path: Path) -> None:
    """Every connection reset: the run stops after the first two accounts got no reply at
    all (each with its retries), not after every configured one (with timeouts, that is
    minutes per account)."""
    from helpers_http import RESET, raw_server

    users = "".join(f'[[users]]\nname = "u{i}"\nauth = "token"\napi_key = "${{K}}"\n'
                    f'api_secret = "${{S}}"\n' for i in range(6))
    with raw_server(lambda _request, _n: RESET) as (url, server):
        path = tmp_path / "audit.toml"
        path.write_text(f'[site]\nurl = "{url}"\n[crawl]\nconcurrency = 1\n{users}',
                        encoding="utf-8")
        result = invoke(["run", "-c", str(path), "-o", str(tmp_path / "out"), "--quiet"])
        tried = server.count
    assert result.exit_code == 3, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert 2 <= tried <= 2 * 4, tried  # two accounts, each sent once and retried three times
