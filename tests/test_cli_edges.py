"""The edges of ``permaudit run``, against the demo site on loopback (in process, real HTTP).

Each refusal is one line on stderr, a documented exit code, no traceback, and leaves
OUTDIR exactly as it was. Ctrl-C at any stage saves what was done, and the printed
hint, pasted as shown, finishes the run like an uninterrupted one.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import audit.crawl.engine as engine
import audit.pipeline as pipeline
import audit.session as session
from audit.cli import cli
from audit.sim.fixtures.demo import demo_environment
from audit.sim.server import SimServer

CONFIG = """
[site]
url = "${{PERMAUDIT_DEMO_URL}}"
host = "{host}"

[crawl]
concurrency = 4
rate_limit = 5000
{crawl}

[auditor]
auth = "token"
api_key = "${{DEMO_AUDITOR_API_KEY}}"
api_secret = "${{DEMO_AUDITOR_API_SECRET}}"

[[users]]
name = "lean"
auth = "token"
api_key = "${{DEMO_LEAN_API_KEY}}"
api_secret = "${{DEMO_LEAN_API_SECRET}}"
expect = {{ "Customer" = ["read"], {expect} }}

[[users]]
name = "clerk"
auth = "password"
username = "clerk@demo.example"
password = "${{DEMO_CLERK_PASSWORD}}"
"""
SCOPE = ["--doctypes", "Customer,ToDo", "--quiet"]
COMPARED = ("user", "doctype", "op", "outcome", "method", "http_status", "exc_type", "target",
            "limits")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(fixture="demo", port=0) as server:
        yield server


@pytest.fixture
def env(sim: SimServer) -> dict[str, str]:
    # ERPNEXT_* set too: a command that forgot -c would audit this other identity
    return {**demo_environment(sim.site, sim.url), "ERPNEXT_URL": sim.url,
            "ERPNEXT_API_KEY": "other-key", "ERPNEXT_API_SECRET": "other-secret"}


@pytest.fixture
def config(tmp_path: Path, sim: SimServer) -> Callable[..., Path]:
    def write(name: str = "audit.toml", crawl: str = "", expect: str = '"ToDo" = ["read"]'
              ) -> Path:
        path = tmp_path / name
        path.write_text(CONFIG.format(host=sim.host, crawl=crawl, expect=expect), "utf-8")
        return path
    return write


def invoke(args: list[str], env: dict[str, str]) -> Result:
    """The CLI in process; any exception but SystemExit is a crash and fails the test."""
    result = CliRunner().invoke(cli, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*"))} if folder.exists() else {}


def table(outdir: Path) -> list[tuple[str, ...]]:
    data = json.loads((outdir / "results.json").read_text("utf-8"))
    return [tuple(str(r[k]) for k in COMPARED) for r in data["probes"]]


def one_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def done_run(config: Callable[..., Path], env: dict[str, str], tmp_path: Path) -> Path:
    out = tmp_path / "done"
    result = invoke(["run", "-c", str(config()), "-o", str(out), *SCOPE], env)
    assert result.exit_code == 0, result.stderr
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in out.iterdir()} == {
        name: "0o600" for name in ("checkpoint.jsonl", "discovery.json", "probes.csv",
                                   "results.json", "report.html", "matrix.csv",
                                   "findings.csv")}
    return out


# -- refusals: one line, exit 2, OUTDIR untouched --------------------------------------------
REFUSALS: dict[str, tuple[Callable[[Path, Path, Callable[..., Path], dict[str, str]],
                                   tuple[list[str], dict[str, str]]], str]] = {
    "outdir holds a run": (
        lambda out, cfg, make, env: (["run", "-c", str(cfg), "-o", str(out), *SCOPE], env),
        "already holds a run"),
    "resume with another config": (
        lambda out, cfg, make, env: (["run", "-c", str(make("other.toml", crawl='exclude = '
                                                            '["Note"]')),
                                      "-o", str(out), "--resume", *SCOPE], env),
        "another config"),
    "resume with another site": (
        lambda out, cfg, make, env: (["run", "-c", str(cfg), "-o", str(out), "--resume", *SCOPE],
                                     {**env, "PERMAUDIT_DEMO_URL": "http://127.0.0.1:9"}),
        "another site"),
    "resume with another mode": (
        lambda out, cfg, make, env: (["run", "-c", str(cfg), "-o", str(out), "--resume",
                                      "--mode", "passive", *SCOPE], env),
        "another mode"),
    "resume with the environment's user": (
        lambda out, cfg, make, env: (["run", "-o", str(out), "--resume", *SCOPE], env),
        "another site"),
    "resume and overwrite": (
        lambda out, cfg, make, env: (["run", "-c", str(cfg), "-o", str(out), "--resume",
                                      "--overwrite", *SCOPE], env),
        "--overwrite"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_leave_the_run_as_it_was(case: str, done_run: Path,
                                          config: Callable[..., Path],
                                          env: dict[str, str]) -> None:
    build, needle = REFUSALS[case]
    before = snapshot(done_run)
    args, case_env = build(done_run, config(), config, env)
    result = invoke(args, case_env)
    assert result.exit_code == 2, result.stderr
    assert needle in one_line(result)
    assert snapshot(done_run) == before


UNKNOWN_NAMES = {
    "doctypes": (["--doctypes", "Custmer,ToDo"], {}, "'Custmer'"),
    "users": (["--users", "lean,ghost", "--doctypes", "Customer"], {}, "'ghost'"),
    "expect": ([], {"expect": '"Custmer" = ["read"]'},
               "'Custmer'"),
}


@pytest.mark.parametrize("case", sorted(UNKNOWN_NAMES))
def test_unknown_names_are_usage_errors(case: str, config: Callable[..., Path],
                                        env: dict[str, str], tmp_path: Path) -> None:
    args, overrides, needle = UNKNOWN_NAMES[case]
    out = tmp_path / "out"
    result = invoke(["run", "-c", str(config(**overrides)), "-o", str(out), "--quiet", *args],
                    env)
    assert result.exit_code == 2, result.stderr
    assert needle in one_line(result)
    assert not out.exists()


# -- exit codes that follow the findings -------------------------------------------------------
FAIL_ON = {"default": ([], 1), "never": (["--fail-on", "never"], 0),
           "critical": (["--fail-on", "critical"], 0), "medium": (["--fail-on", "medium"], 1)}


@pytest.mark.parametrize("case", sorted(FAIL_ON))
def test_a_user_that_cannot_authenticate_fails_the_run(case: str, config: Callable[..., Path],
                                                       env: dict[str, str],
                                                       tmp_path: Path) -> None:
    flags, code = FAIL_ON[case]
    bad = {**env, "DEMO_LEAN_API_SECRET": "wrong"}
    result = invoke(["run", "-c", str(config()), "-o", str(tmp_path / "out"), *SCOPE, *flags],
                    bad)
    assert result.exit_code == code, result.stderr
    assert "Traceback" not in result.stderr
    assert "auth-failed" in result.stdout
    findings = json.loads((tmp_path / "out" / "results.json").read_text("utf-8"))["findings"]
    assert [f["rule"] for f in findings if f["user"] == "lean"] == ["auth-failed"]


def test_overwrite_replaces_the_run(done_run: Path, config: Callable[..., Path],
                                    env: dict[str, str]) -> None:
    before = json.loads((done_run / "results.json").read_text("utf-8"))["run"]["started"]
    (done_run / "checkpoint.jsonl").write_text("", "utf-8")  # would be reused by a resume
    result = invoke(["run", "-c", str(config()), "-o", str(done_run), "--overwrite",
                     "--users", "lean", *SCOPE], env)
    assert result.exit_code == 0, result.stderr
    data = json.loads((done_run / "results.json").read_text("utf-8"))
    assert {p["user"] for p in data["probes"]} == {"lean"}
    assert data["run"]["complete"] and data["run"]["started"] >= before


# -- Ctrl-C at every stage ---------------------------------------------------------------------
def _probe_lines(outdir: Path) -> int:
    path = outdir / "checkpoint.jsonl"
    text = path.read_text("utf-8") if path.exists() else ""
    return text.count('"kind": "probe"')


def _interrupt_at(stage: str, monkeypatch: pytest.MonkeyPatch, outdir: Path) -> None:
    """Raise KeyboardInterrupt in the main thread where a real Ctrl-C would land."""
    if stage == "login":
        real_connect = session.connect
        calls = []

        def connect(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 2:  # the auditor is in, the first user is logging in
                raise KeyboardInterrupt
            return real_connect(*args, **kwargs)
        monkeypatch.setattr(session, "connect", connect)
    elif stage == "discovery":
        def run(self: Any) -> Any:
            raise KeyboardInterrupt
        monkeypatch.setattr(pipeline.Discovery, "run", run)
    else:
        real_wait = engine.wait_for_room

        def wait(*args: Any, **kwargs: Any) -> Any:
            got = real_wait(*args, **kwargs)
            listing = stage == "listing" and _probe_lines(outdir) == 0
            if listing or (stage == "probing" and _probe_lines(outdir) > 0):
                raise KeyboardInterrupt
            return got
        monkeypatch.setattr(engine, "wait_for_room", wait)


@pytest.mark.parametrize("stage", ["login", "discovery", "listing", "probing"])
def test_ctrl_c_saves_and_the_printed_hint_resumes(stage: str, done_run: Path,
                                                   config: Callable[..., Path],
                                                   env: dict[str, str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "part"
    with monkeypatch.context() as patch:
        _interrupt_at(stage, patch, out)
        result = invoke(["run", "-c", str(config()), "-o", str(out), *SCOPE], env)
    assert result.exit_code == 130, result.stderr
    assert "Traceback" not in result.stderr
    saved = json.loads((out / "results.json").read_text("utf-8"))
    assert saved["run"]["complete"] is False
    assert len(saved["probes"]) == _probe_lines(out)
    assert (len(saved["probes"]) > 0) is (stage == "probing")  # stopped where it was meant to
    hint = result.stderr.split("continue with: ", 1)[1].strip().splitlines()[0]
    words = shlex.split(hint)
    assert words[:2] == ["permaudit", "run"] and "-c" in words
    resumed = invoke(words[1:], env)
    assert resumed.exit_code == 0, resumed.stderr
    assert table(out) == table(done_run)
