"""The simulated site as a WSGI application, in the order of ``frappe/app.py:application``.

Site by ``X-Frappe-Site-Name`` or ``Host`` -> body -> session resume or password login -> CSRF
-> site-wide rate limiter -> ``validate_auth`` -> dispatch -> commit or roll back.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from audit.sim import auth, methods, pages, rest
from audit.sim.context import Ctx, SiteRuntime
from audit.sim.controls import Controls, RequestRecord
from audit.sim.errors import (
    DoesNotExistError,
    FrappeError,
    PythonError,
    TooManyRequestsError,
    ValidationError,
)
from audit.sim.reply import Reply, TopLevel
from audit.sim.respond import (
    apply_cookies,
    elapsed_us,
    error_reply,
    rate_headers,
    success_body,
    to_response,
)

LOGIN_PATH = "/api/method/login"


class BadRequestBody(Exception):
    def __init__(self, error: FrappeError) -> None:
        super().__init__(error.message)
        self.error = error


def parse_form(request: Request) -> dict[str, Any]:
    """``make_form_dict``: a JSON body replaces the query; otherwise query + form fields."""
    raw = request.get_data(cache=True, as_text=True)
    if raw and request.is_json:
        try:
            args = json.loads(raw)
        except ValueError as exc:
            raise BadRequestBody(PythonError("JSONDecodeError", str(exc), exception_line=(
                f"json.decoder.JSONDecodeError: {exc}"))) from None
        if isinstance(args, list):
            return {"data": args}
        if not isinstance(args, dict):
            raise BadRequestBody(ValidationError("Invalid request arguments"))
        return dict(args)
    merged: dict[str, Any] = {}
    merged.update(request.args.to_dict())
    merged.update(request.form.to_dict())
    merged.pop("_", None)
    return merged


def request_ip(request: Request) -> str:
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return request.headers.get("REMOTE_ADDR") or "127.0.0.1"


def raw_segments(request: Request) -> list[str]:
    """The path split on ``/`` *before* percent-decoding, each segment then decoded."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    raw = raw.split("?", 1)[0] if raw else request.path
    if raw.startswith("http://") or raw.startswith("https://"):
        raw = "/" + raw.split("/", 3)[-1]
    return [unquote(p) for p in raw.split("/")]


class SimApp:
    """WSGI callable serving one or more simulated sites."""

    def __init__(self, runtimes: dict[str, SiteRuntime], controls: Controls) -> None:
        self.runtimes = runtimes
        self.controls = controls

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.controls.should_drop():
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError("connection dropped by the simulator")
        request = Request(environ)
        response = self.handle(request)
        if self.controls.latency_s > 0:
            time.sleep(self.controls.latency_s)
        return response(environ, start_response)

    def site_for(self, request: Request) -> tuple[str, SiteRuntime | None]:
        name = request.headers.get("X-Frappe-Site-Name") or request.host.rsplit(":", 1)[0]
        if name.startswith("[") and "]" in name:
            name = name[1:name.index("]")]
        return name, self.runtimes.get(name)

    def handle(self, request: Request) -> Response:
        host, rt = self.site_for(request)
        if rt is None:
            return to_response(pages.unknown_site(host))
        redirect = rt.site.settings.redirect_to
        if redirect:
            target = redirect.rstrip("/") + request.full_path.rstrip("?")
            return to_response(Reply.redirect(target, 301))
        bearer = request.headers.get("Authorization", "").split(" ")
        if len(bearer) == 2 and bearer[0].lower() == "bearer":
            self.controls.bearer_used(bearer[1])
        failure = self.controls.take_failure()
        if failure is not None:
            kind = auth.header_kind_of(request.headers.get("Authorization", ""))
            self.controls.record(RequestRecord(request.method, request.path, "Guest", failure,
                                               kind))
            return to_response(self._injected(failure, request))
        with rt.lock:
            return self._handle_locked(rt, request)

    @staticmethod
    def _injected(status: int, request: Request) -> Reply:
        if status in (502, 503, 504):
            return pages.werkzeug_error(status, "Gateway Error", "Upstream unavailable")
        line = "frappe.exceptions.TooManyRequestsError" if status == 429 else \
            "Exception: simulated failure"
        body = {"exception": line, "exc_type": "TooManyRequestsError" if status == 429
                else "Exception", "exc": json.dumps([line])}
        headers = {"Retry-After": "1"} if status == 429 else {}
        return Reply(status=status, body=body, headers=headers)

    def _handle_locked(self, rt: SiteRuntime, request: Request) -> Response:
        ctx = Ctx(rt=rt, request=request, method=request.method.upper(), path=request.path,
                  form={}, ip=request_ip(request))
        ctx.auth_kind = auth.header_kind(ctx)
        ctx.tx.user = "Guest"
        v2 = request.path.startswith("/api/v2/")
        try:
            reply = self._run(ctx)
            ctx.tx.user = ctx.user
            ctx.tx.commit(rt.journal)
        except Exception as exc:  # every failure becomes Frappe's error reply
            ctx.tx.rollback()
            reply = error_reply(ctx, exc, v2=v2)
        self._rate_after(ctx, reply)
        response = to_response(reply)
        apply_cookies(ctx, response)
        for key, value in ctx.extra_headers.items():
            response.headers[key] = value
        self._record(ctx, response.status_code)
        return response

    def _run(self, ctx: Ctx) -> Reply:
        try:
            ctx.form = parse_form(ctx.request)
        except BadRequestBody as bad:
            raise bad.error from None
        age_limit = self.controls.session_expiry_s
        is_login = ctx.path == LOGIN_PATH or ctx.form.get("cmd") == "login"
        if is_login:
            ctx.response.update(auth.login(ctx, age_limit))
        else:
            auth.resume_session(ctx, age_limit)
        auth.check_csrf(ctx)
        self._rate_before(ctx)
        if ctx.method == "OPTIONS":
            return Reply(body=None, content_type="text/plain")
        if not is_login:
            auth.validate_auth(ctx)
            ctx.tx.user = ctx.user
        return self._dispatch(ctx)

    def _dispatch(self, ctx: Ctx) -> Reply:
        path = ctx.path
        if not path.startswith("/api/"):
            return pages.website(ctx)
        segments = [s for s in raw_segments(ctx.request)[2:]]
        if segments and segments[0] in ("v1", "v2"):
            version, segments = segments[0], segments[1:]
        else:
            version = "v1"
        if not segments or not segments[0]:
            raise DoesNotExistError()
        kind, rest_ = segments[0], [s for s in segments[1:]]
        if kind == "method" and rest_ and rest_[0]:
            result = self._method(ctx, rest_[0])
            return success_body(ctx, result)
        if version == "v1" and kind == "resource" and rest_ and rest_[0]:
            return success_body(ctx, rest.resource(ctx, [s for s in rest_ if s != ""] or rest_))
        if version == "v2" and kind == "document" and rest_ and rest_[0]:
            return success_body(ctx, rest.document_v2(ctx, rest_))
        if version == "v2" and kind == "doctype" and rest_ and rest_[0]:
            return success_body(ctx, rest.doctype_v2(ctx, rest_))
        raise DoesNotExistError()

    def _method(self, ctx: Ctx, cmd: str) -> Any:
        if cmd == "login":
            return None
        if cmd == "logout":
            return TopLevel(auth.logout(ctx))
        result = methods.execute(ctx, cmd)
        if ctx.path.startswith("/api/v2/") and not isinstance(result, Reply | TopLevel):
            return TopLevel(data=result)
        return result

    # ---- rate limiter ----------------------------------------------------------------------
    def _rate_before(self, ctx: Ctx) -> None:
        throttle = self.controls.take_throttle(ctx.method, ctx.path)
        if throttle is not None:
            if throttle.action is not None:
                throttle.action(ctx.site)
            ctx.extra_headers["Retry-After"] = "0"
            raise TooManyRequestsError()
        limiter = self.controls.rate_limiter
        if limiter is None:
            return
        now = time.time()
        used = limiter.used(now)
        reset = limiter.window_number(now)[1]
        remaining = max(limiter.limit_us - used, 0)
        ctx.extra_headers["_rl"] = json.dumps([reset, limiter.limit_us, remaining])
        if used > limiter.limit_us:
            ctx.extra_headers.pop("_rl")
            ctx.extra_headers.update(rate_headers(reset, limiter.limit_us, 0, None))
            raise TooManyRequestsError()

    def _rate_after(self, ctx: Ctx, reply: Reply) -> None:
        limiter = self.controls.rate_limiter
        marker = ctx.extra_headers.pop("_rl", None)
        if limiter is None:
            return
        spent = elapsed_us(ctx)
        limiter.add(time.time(), spent)
        if marker is not None:
            reset, limit, remaining = json.loads(marker)
            ctx.extra_headers.update(rate_headers(reset, limit, remaining, spent))

    def _record(self, ctx: Ctx, status: int) -> None:
        kind = ctx.auth_kind
        if kind == "none" and ctx.session is not None:
            kind = "session"
        self.controls.record(RequestRecord(ctx.method, ctx.path, ctx.user, status, kind))
        if ctx.login_attempt is not None:
            self.controls.record_login(*ctx.login_attempt)
