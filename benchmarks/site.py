"""The generated site behind gunicorn: several worker processes, so the server is the limit.

The simulator answers one request at a time per process (its site lock), like one
Frappe worker; gunicorn forks ``workers`` copies of the site built once in the bench
process (same secrets everywhere) and serves them with keep-alive (``gthread``).
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import time
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from audit.sim.app import SimApp
from audit.sim.context import SiteRuntime
from audit.sim.controls import Controls
from audit.sim.model import SiteData


def _serve(site: SiteData, port: int, workers: int) -> None:
    """Child process: gunicorn's arbiter with ``workers`` forked copies of the site."""
    base: Any = importlib.import_module("gunicorn.app.base")  # the bench extra

    runtime = SiteRuntime(site)
    app = SimApp({site.name: runtime}, Controls(site))

    class Server(base.BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {"bind": f"127.0.0.1:{port}", "workers": workers,
                               "worker_class": "gthread", "threads": 4, "keepalive": 30,
                               "backlog": 512, "loglevel": "warning", "preload_app": True,
                               "accesslog": None, "timeout": 120}.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    Server().run()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GunicornSite:
    """``with GunicornSite(site, workers=2) as url:`` a multi-process copy of ``site``."""

    def __init__(self, site: SiteData, workers: int) -> None:
        self.site = site
        self.workers = workers
        self.port = free_port()
        self._proc: BaseProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        ctx = get_context("fork")  # the children inherit the built site, secrets included
        self._proc = ctx.Process(target=_serve, daemon=False,
                                 args=(self.site, self.port, self.workers))
        self._proc.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self.url
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("gunicorn did not start within 30 s")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the worker processes have used so far."""
        if self._proc is None or self._proc.pid is None:
            return 0.0
        return sum(_cpu_of(pid) for pid in _children(self._proc.pid))

    def __exit__(self, *exc: object) -> None:
        if self._proc is None:
            return
        if self._proc.pid is not None and self._proc.is_alive():
            os.kill(self._proc.pid, signal.SIGTERM)  # graceful: workers finish and flush
        self._proc.join(timeout=30)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._proc = None


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _cpu_of(pid: int) -> float:
    """utime + stime of a process, in seconds (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
