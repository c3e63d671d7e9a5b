"""Turning a handler's result or exception into Frappe's HTTP reply: JSON bodies, error
keys, cookies (``CookieManager``) and the rate-limit headers."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from audit.sim.context import Ctx
from audit.sim.errors import AuthenticationError, FrappeError, HTMLError, Redirect
from audit.sim.pages import frappe_error_page, werkzeug_error
from audit.sim.reply import Reply, TopLevel

DELETE_ORDER = ("user_id", "sid", "full_name", "user_image", "system_user")
TRACE_HEAD = ("Traceback (most recent call last):\n"
              "  File \"apps/frappe/frappe/app.py\", line 114, in application\n"
              "    response = frappe.api.handle(request)\n"
              "  File \"apps/frappe/frappe/api/__init__.py\", line 49, in handle\n"
              "    data = endpoint(**arguments)\n")


def wants_json(request: Request, path: str) -> bool:
    """SPEC.md §4.2: JSON for /api/ unless Accept starts with text, or for XHR/JSON Accept."""
    accept = request.headers.get("Accept", "")
    if accept and (request.headers.get("X-Requested-With") == "XMLHttpRequest"
                   or "application/json" in accept):
        return True
    return path.startswith("/api/") and not accept.startswith("text")


def success_body(ctx: Ctx, result: Any) -> Reply:
    if isinstance(result, Reply):
        return result
    body: dict[str, Any] = dict(ctx.response)
    if isinstance(result, TopLevel):
        body.update(result)
    elif result is not None:
        body["message"] = result
    _append_logs(ctx, body)
    return Reply(body=body)


def _append_logs(ctx: Ctx, body: dict[str, Any]) -> None:
    if ctx.log.messages:
        body["_server_messages"] = json.dumps([json.dumps(m) for m in ctx.log.messages])
    if ctx.debug_messages:
        body["_debug_messages"] = json.dumps(ctx.debug_messages)


def error_reply(ctx: Ctx, exc: Exception, v2: bool = False) -> Reply:
    if isinstance(exc, Redirect):
        return Reply.redirect(exc.location, exc.status)
    if isinstance(exc, HTMLError):
        return werkzeug_error(exc.status, exc.title, exc.text)
    if not isinstance(exc, FrappeError):
        exc = FrappeError(str(exc), exception_line=f"{type(exc).__name__}: {exc}",
                          exc_name=type(exc).__name__)
    status = exc.http_status
    if type(exc) is AuthenticationError:
        ctx.cookies.delete = True
    if not wants_json(ctx.request, ctx.path):
        return frappe_error_page(status, exc.exception_line)
    if v2:
        return Reply(status=status, body=_v2_error(ctx, exc))
    body: dict[str, Any] = dict(ctx.response)
    traceback = (ctx.site.settings.allow_error_traceback and not ctx.disable_traceback
                 and status != 404)
    if traceback:
        body["exception"] = exc.exception_line
    body["exc_type"] = exc.exc_name
    if traceback:
        body["exc"] = json.dumps([TRACE_HEAD + exc.exception_line + "\n"])
    _append_logs(ctx, body)
    if ctx.log.error_message:
        body["_error_message"] = ctx.log.error_message
    return Reply(status=status, body=body)


def _v2_error(ctx: Ctx, exc: FrappeError) -> dict[str, Any]:
    error: dict[str, Any] = {"type": exc.exc_name}
    if ctx.site.settings.allow_error_traceback and not ctx.disable_traceback:
        error["exception"] = TRACE_HEAD + exc.exception_line
    messages = []
    for m in ctx.log.messages:
        if m.get("raise_exception"):
            error.update({k: v for k, v in m.items()
                          if k not in ("raise_exception", "__frappe_exc_id")})
        else:
            messages.append(m)
    body: dict[str, Any] = dict(ctx.response)
    body["errors"] = [error]
    if messages:
        body["messages"] = messages
    return body


def _expires(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def apply_cookies(ctx: Ctx, response: Response) -> None:
    plan = ctx.cookies
    if plan.suppressed or plan.values is None:
        return
    expiry = int(ctx.site.settings.session_expiry_s)
    for key, value in plan.values.items():
        if key == "sid":
            response.set_cookie(key, value, max_age=expiry, expires=_expires(expiry),
                                httponly=True, path="/", samesite="Lax")
        else:
            response.set_cookie(key, value, path="/", samesite="Lax")
    if plan.delete:
        yesterday = datetime.now(UTC) - timedelta(days=1)
        for key in DELETE_ORDER:
            response.set_cookie(key, "", expires=yesterday, path="/")


def to_response(reply: Reply) -> Response:
    body = reply.body
    if reply.content_type.startswith("application/json") and not isinstance(body, str):
        text = json.dumps(body, default=str)
    else:
        text = "" if body is None else str(body)
    response = Response(text, status=reply.status, content_type=reply.content_type)
    for key, value in reply.headers.items():
        response.headers[key] = value
    return response


def rate_headers(reset: int, limit: int, remaining: int, used: int | None) -> dict[str, str]:
    headers = {"X-RateLimit-Reset": str(reset), "X-RateLimit-Limit": str(limit),
               "X-RateLimit-Remaining": str(remaining)}
    if used is None:
        headers["Retry-After"] = str(reset)
    else:
        headers["X-RateLimit-Used"] = str(used)
    return headers


def elapsed_us(ctx: Ctx) -> int:
    return max(int((time.monotonic() - ctx.started) * 1_000_000), 1)
