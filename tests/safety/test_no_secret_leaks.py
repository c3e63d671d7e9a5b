"""No secret is ever written: every command, at ``--debug``, against a site that echoes
every credential back, leaves no form of any secret in stdout, stderr or any file.

Each command runs as a real process (its real stderr, logging included) against the
demo site with OAuth tokens of users nobody configured, behind a middleware that puts
the request's credentials into every error reply (raw, URL-encoded, JSON-escaped) with
terminal escape sequences. The forms searched for are computed here, independently of
the masking code. Adding a command to the CLI fails :func:`test_every_command_is_covered`
until it gets its line in :data:`COMMANDS`.
"""

from __future__ import annotations

import base64
import html
import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from audit.cli import cli
from audit.sim.fixtures.demo import demo_environment
from tests.crawl.conftest import quick_demo_toml

from .echo_site import IDENTITY_ECHO, SECRETS_OUT, EchoingSim

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BOOTSTRAP = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
import audit.sim.server
from tests.safety.echo_site import EchoingSim
audit.sim.server.SimServer = EchoingSim  # `permaudit demo` serves the echoing site too
from audit.cli import main
sys.argv[0] = "permaudit"
main()
"""


@dataclass
class Scenario:
    tmp: Path
    outdir: Path
    env: dict[str, str]
    config: Path  # the demo config, at the pace of in-process crawls (quick_demo_toml)


@dataclass(frozen=True)
class Command:
    args: Callable[[Scenario], list[str]]
    own_site: bool = False  # the command serves its own (echoing) site
    identity_echo: bool = False  # the site also echoes credentials in the user name
    serves: bool = False  # runs until interrupted: stopped once it has said where it is
    after_run: bool = False  # reads what `run` wrote to OUTDIR (run first, then this)


COMMANDS: dict[str, Command] = {
    "run": Command(lambda s: ["run", "-c", str(s.config), "-o", str(s.outdir), "--quiet"]),
    "report": Command(lambda s: ["report", str(s.outdir)], after_run=True),
    "diff": Command(lambda s: ["diff", str(s.outdir / "results.json"),
                               str(s.outdir / "results.json")], after_run=True),
    "explain": Command(lambda s: ["explain", "-c", str(s.config), "--user", "clerk", "--doctype",
                                  "OAuth Bearer Token", "--op", "read"]),
    "check-auth": Command(lambda s: ["check-auth", "-c", str(s.config)], identity_echo=True),
    "demo": Command(lambda s: ["demo", "-o", str(s.outdir), "--quiet"], own_site=True),
    "sim": Command(lambda s: ["sim", "--port", "0", "--secrets-out",
                              str(s.tmp / "sim-secrets.json")], own_site=True, serves=True),
}


def test_every_command_is_covered() -> None:
    assert sorted(cli.commands) == sorted(COMMANDS)


def forms(value: str) -> set[str]:
    """Every text form of one secret that must not appear (an independent list)."""
    url = {quote(value, safe=""), quote_plus(value, safe="")}
    url |= {u.lower() for u in url} | {u.upper() for u in url}  # %3a and %3A (whole-case)
    raw = value.encode()
    b64 = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    b64 |= {b.rstrip("=") for b in b64}
    return {value, *url, *b64, json.dumps(value)[1:-1], html.escape(value)}


def leaks(text: str, secrets: set[str], pairs: set[tuple[str, str]]) -> list[str]:
    found = []
    for secret in secrets:
        for form in forms(secret):
            if form in text:
                found.append(f"{secret[:4]}... as {form[:12]}...")
    for key, secret in pairs:
        basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        if basic.rstrip("=") in text:
            found.append(f"Basic pair of {key[:4]}...")
    return found


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    secrets: set[str]
    pairs: set[tuple[str, str]]


def _execute(command: Command, scenario: Scenario) -> Outcome:
    args = [sys.executable, "-c", BOOTSTRAP, "--debug", *command.args(scenario)]
    env = {**scenario.env, "PYTHONPATH": str(REPO)}
    if command.identity_echo:
        env[IDENTITY_ECHO] = "1"
    if not command.serves:
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300,
                              cwd=scenario.tmp)
        return Outcome(proc.returncode, proc.stdout, proc.stderr, set(), set())
    proc2 = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=scenario.tmp)
    assert proc2.stdout is not None
    lines = []
    for line in proc2.stdout:  # it prints where it serves, then the credentials file
        lines.append(line)
        if "credentials written" in line:
            break
    proc2.send_signal(signal.SIGINT)
    out, err = proc2.communicate(timeout=30)
    return Outcome(proc2.returncode, "".join(lines) + out, err, set(), set())


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[Scenario]:
    yield Scenario(tmp=tmp_path, outdir=tmp_path / "out",
                   env={k: v for k, v in os.environ.items()
                        if "PROXY" not in k.upper() and "CA_BUNDLE" not in k.upper()},
                   config=quick_demo_toml(tmp_path))


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*")) if root.exists() else []


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_no_secret_in_any_output(name: str, scenario: Scenario) -> None:
    command = COMMANDS[name]
    if command.own_site:
        scenario.env[SECRETS_OUT] = str(scenario.tmp / "site-secrets.json")
        outcome = _execute(command, scenario)
        known = json.loads((scenario.tmp / "site-secrets.json").read_text())
        secrets = set(known["secrets"])
        pairs = {(k, s) for k, s in known["pairs"]}
    else:
        with EchoingSim(identity=command.identity_echo) as sim:
            scenario.env.update(demo_environment(sim.site, sim.url))
            if command.after_run:
                first = _execute(COMMANDS["run"], scenario)
                assert first.code in (0, 1), first.stderr[-2000:]
            outcome = _execute(command, scenario)
            secrets, pairs = sim.all_secrets(), sim.api_pairs()
    assert outcome.code in (0, 1, 130), outcome.stderr[-2000:]
    assert len(secrets) > 20  # the fixture really holds the credentials and foreign tokens
    assert "DEBUG" in outcome.stderr or command.serves or command.after_run  # --debug is on

    assert leaks(outcome.stdout, secrets, pairs) == [], "stdout"
    assert leaks(outcome.stderr, secrets, pairs) == [], "stderr"
    for stream in (outcome.stdout, outcome.stderr):
        assert "\x1b" not in stream and "\u202e" not in stream  # server text is inert
    for path in _files(scenario.outdir):
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, path
            continue
        assert mode == 0o600, path
        text = path.read_text("utf-8", errors="replace")
        assert leaks(text, secrets, pairs) == [], path.name
    if scenario.outdir.exists():
        assert stat.S_IMODE(scenario.outdir.stat().st_mode) == 0o700
        written = {p.name for p in _files(scenario.outdir)}
        assert {"probes.csv", "results.json", "discovery.json", "checkpoint.jsonl"} <= written
        if name == "demo":  # every format: the HTML page and the OCSF file are searched too
            assert {"report.html", "findings.ocsf.json", "matrix.csv"} <= written
        record = json.loads((scenario.outdir / "results.json").read_text("utf-8"))
        token_rows = [p for p in record["probes"]
                      if p["doctype"] == "OAuth Bearer Token" and p["target"]]
        assert token_rows, "the OAuth tokens were probed"
        assert all(p["target"].startswith("sha256:") for p in token_rows)
    if name == "check-auth":
        assert "you sent" in outcome.stdout  # the echo reached what is shown
    if name in ("run", "demo", "report", "diff"):
        assert "you sent" in (scenario.outdir / "results.json").read_text("utf-8")
    if name == "sim":
        assert stat.S_IMODE((scenario.tmp / "sim-secrets.json").stat().st_mode) == 0o600


def test_sim_secrets_out_refuses_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "secrets.json"
    link.symlink_to(victim)
    proc = subprocess.run([sys.executable, "-m", "audit", "sim", "--port", "0", "--secrets-out",
                           str(link)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2
    assert "symbolic link" in proc.stderr and proc.stderr.count("\n") == 1
    assert victim.read_text() == "keep me\n"


def test_write_secrets_never_follows_a_symlink(tmp_path: Path) -> None:
    from audit.sim.server import write_secrets

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "secrets.json"
    link.symlink_to(victim)
    with pytest.raises(OSError):
        write_secrets(link, {"<api_key:x>": "v"})
    assert victim.read_text() == "keep me\n"
