"""``permaudit sim`` serves a site a plain curl can audit by hand."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str, str]:
    # a suite started in the background inherits SIGINT ignored: the child must see Ctrl-C
    proc = subprocess.Popen([sys.executable, "-m", "audit", "sim", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None
    url = host = ""
    deadline = time.monotonic() + 60
    while not (url and host):
        assert time.monotonic() < deadline, "no URL printed"
        line = proc.stdout.readline()
        assert line or proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        if m := re.search(r"(http://127\.0\.0\.1:\d+)", line):
            url = m.group(1)
        if m := re.search(r"Host: ?([\w.-]+)", line):
            host = m.group(1)
    return proc, url, host


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_sim_then_curl_lists_customers(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.json"
    proc, url, host = _start(["--fixture", "demo", "--port", "0", "--secrets-out",
                              str(secrets_file)])
    try:
        assert host == "demo.localhost"
        assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
        secrets = json.loads(secrets_file.read_text("utf-8"))
        key = next(k for k in secrets if k.startswith("<api_key:"))
        local = key[len("<api_key:"):-1]
        auth = f"token {secrets[key]}:{secrets[f'<api_secret:{local}>']}"
        done = subprocess.run(["curl", "-s", "-H", f"Host: {host}", "-H",
                               f"Authorization: {auth}", f"{url}/api/resource/Customer"],
                              capture_output=True, text=True, timeout=30, check=True)
        body = json.loads(done.stdout)
        assert isinstance(body["data"], list)
        for row in body["data"]:
            assert set(row) == {"name"}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode in (0, 130)


def test_sim_reference_fixture_refuses_unknown_host(tmp_path: Path) -> None:
    proc, url, host = _start(["--fixture", "reference", "--port", "0"])
    try:
        import requests

        wrong = requests.get(f"{url}/api/method/ping", headers={"Host": "other.localhost"},
                             timeout=10)
        assert wrong.status_code == 404 and "text/html" in wrong.headers["Content-Type"]
        right = requests.get(f"{url}/api/method/ping", headers={"Host": host}, timeout=10)
        assert right.status_code == 200 and right.json() == {"message": "pong"}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_sim_port_in_use_is_one_line_and_exit_2() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    try:
        done = subprocess.run([sys.executable, "-m", "audit", "sim", "--port", str(port)],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ})
    finally:
        sock.close()
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
