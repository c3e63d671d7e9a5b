"""Real local servers for tests: a threaded werkzeug server and a raw socket server.

The werkzeug server runs any WSGI app on 127.0.0.1 and an ephemeral port and
records what it received. The raw server answers with bytes a WSGI app cannot
produce: truncated bodies, resets, silence.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from audit.sim.server import SimServer

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
              "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE",
              "CURL_CA_BUNDLE")


@dataclass
class Seen:
    method: str
    path: str  # as sent on the wire (still percent-encoded)
    headers: Headers  # case-insensitive
    body: bytes
    peer: tuple[str, int]
    at: float


@dataclass
class Recorder:
    """A WSGI app that hands each request to ``handler`` and remembers it."""

    handler: Callable[[Request], Response]
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        raw = environ.get("REQUEST_URI") or environ.get("RAW_URI") or request.path
        entry = Seen(
            method=request.method, path=str(raw).split("?", 1)[0],
            headers=Headers(request.headers), body=request.get_data(),
            peer=(environ.get("REMOTE_ADDR", ""), int(environ.get("REMOTE_PORT") or 0)),
            at=time.monotonic(),
        )
        with self.lock:
            self.seen.append(entry)
        return self.handler(request)(environ, start_response)

    def count(self, path: str | None = None) -> int:
        with self.lock:
            return sum(1 for s in self.seen if path is None or s.path == path)


@contextmanager
def wsgi_server(app: Callable[..., Any]) -> Iterator[str]:
    """Serve ``app`` with werkzeug's threaded server; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def recording_server(handler: Callable[[Request], Response]) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder(handler)
    with wsgi_server(recorder) as url:
        yield url, recorder


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    import json

    return Response(json.dumps(body), status=status, headers=headers or {},
                    content_type="application/json")


# -- raw sockets ---------------------------------------------------------------------
RESET = b"__reset__"
SILENT = b"__silent__"


class _RawHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: _RawServer = self.server  # type: ignore[assignment]
        sock: socket.socket = self.request
        sock.settimeout(5)
        with server.lock:
            server.connections += 1
        if server.greeting is not None:  # answer before reading (e.g. plain bytes to TLS)
            sock.sendall(server.greeting)
            return
        while True:
            request = _read_request(sock)
            if request is None:
                return
            with server.lock:
                server.count += 1
                n = server.count
            answer = server.answer(request, n)
            if answer == RESET:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                return
            if answer == SILENT:
                time.sleep(server.silence)
                return
            sock.sendall(answer)
            if b"Connection: close" in answer.split(b"\r\n\r\n", 1)[0]:
                return


def _read_request(sock: socket.socket) -> bytes | None:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return head + b"\r\n\r\n" + rest
    except OSError:
        return None


class _RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: Callable[[bytes, int], bytes], silence: float,
                 greeting: bytes | None) -> None:
        super().__init__(("127.0.0.1", 0), _RawHandler)
        self.answer = answer
        self.silence = silence
        self.greeting = greeting
        self.lock = threading.Lock()
        self.count = 0  # requests
        self.connections = 0


@contextmanager
def raw_server(answer: Callable[[bytes, int], bytes], silence: float = 2.0,
               greeting: bytes | None = None) -> Iterator[tuple[str, _RawServer]]:
    """``answer(request_bytes, n)`` returns the raw reply, :data:`RESET` or :data:`SILENT`.

    Connections are kept alive unless the reply says ``Connection: close``.
    """
    server = _RawServer(answer, silence, greeting)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()


def http_bytes(status: str, body: bytes, *, content_type: str = "application/json",
               content_length: int | None = None, close: bool = True) -> bytes:
    length = len(body) if content_length is None else content_length
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n")
    return head.encode() + body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call_wsgi(app: Callable[..., Any], environ: dict[str, Any]
              ) -> tuple[str, list[tuple[str, str]], bytes]:
    """``app``'s whole reply to ``environ``: status, headers (Content-Length left out, for
    a middleware that changes the body) and body. The request body is read once and put
    back, so the middleware may read it too."""
    import io

    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length) if length else b"")
    seen: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, headers
        return lambda data: None

    result = app(environ, capture)
    try:
        payload = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    headers = [(k, v) for k, v in seen["headers"] if k.lower() != "content-length"]
    return seen["status"], headers, payload


Rewrite = Callable[[dict[str, Any], int, Any], Any]


def document_list(environ: dict[str, Any], status: int, data: Any) -> list[Any] | None:
    """The rows of a successful ``GET /api/resource/<DocType>`` reply (None for any other)."""
    path = environ.get("PATH_INFO", "")
    listed = data.get("data") if isinstance(data, dict) else None
    if status != 200 or environ.get("REQUEST_METHOD") != "GET" \
            or not path.startswith("/api/resource/") or path.count("/") != 3 \
            or not isinstance(listed, list):
        return None
    return listed


class JsonRewrite:
    """A test-only WSGI middleware: each JSON reply of ``app`` passes through
    ``rewrite(environ, status, data)``, which returns the data to send instead (written
    with ``json.dumps``: a lone surrogate goes out as ``\\ud800``) or None to leave the
    reply as it is. ``touched`` counts the replies rewritten."""

    def __init__(self, app: Callable[..., Any], rewrite: Rewrite) -> None:
        self.app = app
        self.rewrite = rewrite
        self.touched = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        import json

        status, headers, payload = call_wsgi(self.app, environ)
        if payload[:1] in (b"{", b"["):
            try:
                data = json.loads(payload)
            except ValueError:
                data = None
            new = None if data is None else self.rewrite(environ, int(status[:3]), data)
            if new is not None:
                payload = json.dumps(new).encode()
                with self._lock:
                    self.touched += 1
        start_response(status, [*headers, ("Content-Length", str(len(payload)))])
        return [payload]


class RewritingSim(SimServer):
    """The demo site behind :class:`JsonRewrite` (``rewriter.touched``: what it changed)."""

    def __init__(self, rewrite: Rewrite) -> None:
        super().__init__(fixture="demo", port=0)
        self.rewriter = JsonRewrite(self.app, rewrite)
        self.app = self.rewriter  # type: ignore[assignment]
