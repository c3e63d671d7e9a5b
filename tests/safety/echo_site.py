"""A simulated site that is hostile to secrets: it echoes every credential back.

Test-only. :class:`EchoingSim` is the demo site plus OAuth tokens of users nobody
configured, wrapped in :class:`EchoMiddleware`, which puts the request's credentials
(Authorization header, Cookie, body) back into every error reply — raw, URL-encoded and
JSON-escaped, in the message and in a traceback — together with terminal escape
sequences. With ``identity=True`` it also echoes them in the user name Frappe reports.
It records every session id it hands out, so the test knows those secrets too.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from audit.sim.model import OAuthToken
from audit.sim.server import SimServer
from tests.helpers_http import call_wsgi

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31m\u202e\r"
OTHER_TOKENS = (
    OAuthToken(access_token="ot7AccessTokenOfSomeoneElse0123", client="c0ffee",
               refresh_token="ot7RefreshTokenOfSomeoneElse456", user="auditor@demo.example",
               expiration_time=time.time() + 86400),
    OAuthToken(access_token="ot7RevokedTokenStillListed99887", client="c0ffee",
               refresh_token="ot7RevokedRefreshToken777666555", user="bot@demo.example",
               expiration_time=time.time() - 86400, status="Revoked"),
)
SECRETS_OUT = "PERMAUDIT_TEST_SECRETS_OUT"  # where a subprocess's sim lists its secrets
IDENTITY_ECHO = "PERMAUDIT_TEST_ECHO_IDENTITY"


class EchoMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]], identity: bool = False) -> None:
        self.app = app
        self.identity = identity
        self.sids: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        credentials = " ".join(filter(None, (environ.get("HTTP_AUTHORIZATION", ""),
                                             environ.get("HTTP_COOKIE", ""),
                                             body.decode("utf-8", "replace"))))
        status, headers, payload = call_wsgi(self.app, environ)
        self._record_sids(headers)
        payload = self._echo(environ, int(status.split()[0]), headers, payload, credentials)
        start_response(status, [*headers, ("Content-Length", str(len(payload)))])
        return [payload]

    def _record_sids(self, headers: list[tuple[str, str]]) -> None:
        for key, value in headers:
            if key.lower() == "set-cookie" and value.startswith("sid="):
                sid = value[4:].split(";", 1)[0]
                if sid and sid != "Guest":
                    with self._lock:
                        self.sids.add(sid)

    def _echo(self, environ: dict[str, Any], status: int, headers: list[tuple[str, str]],
              payload: bytes, credentials: str) -> bytes:
        if not credentials or not any("json" in v for k, v in headers
                                      if k.lower() == "content-type"):
            return payload
        try:
            data = json.loads(payload)
        except ValueError:
            return payload
        if not isinstance(data, dict):
            return payload
        echo = (f"{ESCAPES}you sent {credentials} | {quote(credentials, safe='')} | "
                f"{json.dumps(credentials)}")
        if status >= 400:
            data["_error_message"] = f"{data.get('_error_message') or ''} {echo}".strip()
            data["exc"] = json.dumps([f"Traceback (most recent call last):\n  {echo}\n"])
        elif self.identity and environ.get("PATH_INFO", "").endswith("get_logged_user"):
            data["message"] = f"{data.get('message')} {echo}"
        return json.dumps(data).encode()


class EchoingSim(SimServer):
    """The demo site with foreign OAuth tokens, behind :class:`EchoMiddleware`."""

    def __init__(self, fixture: Any = "demo", port: int = 0, site: str | None = None,
                 identity: bool | None = None) -> None:
        super().__init__(fixture=fixture, port=port, site=site)
        for token in OTHER_TOKENS:
            self.site.oauth_tokens[token.access_token] = token
        if identity is None:
            identity = bool(os.environ.get(IDENTITY_ECHO))
        self.echo = EchoMiddleware(self.app, identity=identity)
        self.app = self.echo  # type: ignore[assignment]

    def all_secrets(self) -> set[str]:
        """Every credential this site knows or handed out, and every token's name."""
        values = set(self.secrets.values()) | self.echo.sids
        for token in self.site.oauth_tokens.values():
            values |= {token.access_token, token.refresh_token}
        return {v for v in values if v}

    def api_pairs(self) -> set[tuple[str, str]]:
        pairs = set()
        for placeholder, value in self.secrets.items():
            if placeholder.startswith("<api_key:"):
                local = placeholder[len("<api_key:"):-1]
                secret = self.secrets.get(f"<api_secret:{local}>")
                if secret:
                    pairs.add((value, secret))
        return pairs

    def stop(self) -> None:
        target = os.environ.get(SECRETS_OUT)
        if target and self._server is not None:
            with open(target, "w", encoding="utf-8") as fh:
                json.dump({"secrets": sorted(self.all_secrets()),
                           "pairs": sorted(self.api_pairs())}, fh)
        super().stop()
