"""A killed run finishes with --resume: same result as an uninterrupted run, no probe repeated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit.sim.fixtures.demo import demo_environment
from audit.sim.server import SimServer

from .conftest import DEMO_TOML, quick_demo_toml

COMPARED = ("user", "doctype", "op", "outcome", "method", "http_status", "exc_type", "target",
            "limits")


def _default_sigint() -> None:
    # a suite started in the background inherits SIGINT ignored: the child must see Ctrl-C
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "audit", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_default_sigint)


def _probe_lines(outdir: Path) -> list[dict]:
    path = outdir / "checkpoint.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text("utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if rec.get("kind") == "probe":
            out.append(rec["row"])
    return out


def _table(outdir: Path) -> list[tuple]:
    data = json.loads((outdir / "results.json").read_text("utf-8"))
    return [tuple(str(r[k]) for k in COMPARED) for r in data["probes"]]


@pytest.mark.slow
def test_resume_after_kill_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    with SimServer(fixture="demo", port=0) as sim:
        env = {**os.environ, **demo_environment(sim.site, sim.url)}
        # --fail-on never: the demo's planted risks are findings; this test is about resuming
        args = ["run", "-c", str(quick_demo_toml(tmp_path)), "--quiet", "--fail-on", "never"]

        full = tmp_path / "full"
        done = subprocess.run([sys.executable, "-m", "audit", *args, "-o", str(full)], env=env,
                              text=True, capture_output=True, timeout=600)
        assert done.returncode == 0, done.stderr

        # slow enough to be killed mid-crawl: 8 in flight, at most 200 requests/s
        sim.controls.latency_s = 0.04
        part = tmp_path / "part"
        proc = _cli([*args, "-o", str(part)], env)
        deadline = time.monotonic() + 300
        while len(_probe_lines(part)) < 100:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        killed_at = len(_probe_lines(part))
        assert not (part / "results.json").exists()

        sim.controls.latency_s = 0.0
        resumed = subprocess.run([sys.executable, "-m", "audit", *args, "-o", str(part),
                                  "--resume"], env=env, text=True, capture_output=True,
                                 timeout=600)
        assert resumed.returncode == 0, resumed.stderr

    lines = _probe_lines(part)
    keys = [(r["user"], r["doctype"], r["op"]) for r in lines]
    assert len(keys) == len(set(keys)), "a probe was repeated after --resume"
    assert len(lines) > killed_at
    assert _table(part) == _table(full)


@pytest.mark.slow
def test_ctrl_c_exits_130_and_keeps_what_is_done(tmp_path: Path) -> None:
    with SimServer(fixture="demo", port=0) as sim:
        env = {**os.environ, **demo_environment(sim.site, sim.url)}
        sim.controls.latency_s = 0.005
        out = tmp_path / "out"
        proc = _cli(["run", "-c", str(DEMO_TOML), "--quiet", "-o", str(out)], env)
        deadline = time.monotonic() + 300
        while len(_probe_lines(out)) < 50:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        sim.controls.latency_s = 0.2  # the crawl cannot finish before the signal lands
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    assert f"-c {DEMO_TOML}" in stderr  # the hint resumes this config, not ERPNEXT_*
    data = json.loads((out / "results.json").read_text("utf-8"))
    assert data["run"]["complete"] is False
    done = {(r["user"], r["doctype"], r["op"]) for r in _probe_lines(out)}
    assert {(r["user"], r["doctype"], r["op"]) for r in data["probes"]} == done
