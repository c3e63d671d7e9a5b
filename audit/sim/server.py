"""Serve a simulated site over HTTP on loopback.

    with SimServer(fixture="reference", port=0) as sim:
        requests.get(sim.url + "/api/method/ping", headers={"Host": sim.host})

werkzeug's threaded server runs in a daemon thread; ``serve`` runs one in the foreground
for ``permaudit sim``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from audit.sim.app import SimApp
from audit.sim.context import SiteRuntime
from audit.sim.controls import Controls
from audit.sim.fixtures import load
from audit.sim.journal import Journal
from audit.sim.model import SiteData
from audit.sim.permissions import PermissionEngine

LOOPBACK = "127.0.0.1"
POLL_INTERVAL_S = 0.05


class QuietHandler(WSGIRequestHandler):
    """No access log on stderr (the request log is ``controls.requests``)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: object) -> None:
        return None


class SimServer:
    """A simulated Frappe 15 site on ``127.0.0.1:port`` (``port=0``: any free port)."""

    def __init__(self, fixture: str | SiteData = "demo", port: int = 0,
                 site: str | None = None) -> None:
        data = load(fixture) if isinstance(fixture, str) else fixture
        if site:
            data.name = site
        self.runtime = SiteRuntime(data)
        self.controls = Controls(data)
        self.app = SimApp({data.name: self.runtime}, self.controls)
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # ---- public attributes -----------------------------------------------------------------
    @property
    def site(self) -> SiteData:
        return self.runtime.site

    @property
    def engine(self) -> PermissionEngine:
        return self.runtime.engine

    @property
    def journal(self) -> Journal:
        return self.runtime.journal

    @property
    def secrets(self) -> dict[str, str]:
        return self.runtime.site.secrets

    @property
    def host(self) -> str:
        return self.runtime.site.name

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> SimServer:
        if self._server is not None:
            return self
        _check_port(self._port)
        server = make_server(LOOPBACK, self._port, self.app, threaded=True,
                             request_handler=QuietHandler)
        server.daemon_threads = True  # type: ignore[attr-defined]  # a ThreadedWSGIServer
        self._server = server
        # werkzeug polls for shutdown every 0.5 s by default: every test would wait for it
        self._thread = threading.Thread(target=server.serve_forever, name="sim-server",
                                        kwargs={"poll_interval": POLL_INTERVAL_S}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _check_port(port: int) -> None:
    """Raise OSError for a busy port (werkzeug would print and exit instead)."""
    if not port:
        return
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((LOOPBACK, port))
    except OSError as exc:
        raise OSError(exc.errno, f"port {port} is in use ({exc.strerror})") from None
    finally:
        probe.close()


def write_secrets(path: Path, secrets: dict[str, str]) -> None:
    """The flat JSON of the placeholders, readable by the owner only (mode 0600); a symlink
    at ``path`` is refused (ELOOP), never followed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(secrets, fh, indent=2, sort_keys=True)
    os.chmod(path, 0o600)


def serve(fixture: str, site: str | None, port: int, secrets_out: Path | None,
          echo: Callable[[str], None]) -> None:
    """Serve until interrupted (KeyboardInterrupt ends it)."""
    sim = SimServer(fixture=fixture, port=port, site=site).start()
    try:
        if secrets_out is not None:
            write_secrets(secrets_out, sim.secrets)
            echo(f"credentials written to {secrets_out}")
        echo(f"simulated Frappe site '{sim.host}' listening on {sim.url}")
        echo(f"send the header 'Host: {sim.host}' (or X-Frappe-Site-Name: {sim.host})")
        while True:
            time.sleep(3600)
    finally:
        sim.stop()
