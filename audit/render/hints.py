"""The troubleshooting hint the report shows beside a 401 / 403 / 429.

The cause catalogue lives in ``audit.explain.hints`` (``hint_for(status, exc_type,
message) -> Hint | None``). Where that module is not installed, the auth-failure causes
of ``audit.auth.causes`` answer for 401 and 429 (the replies an identity check sees), and
a 403 has no hint.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from audit.model import AuthMethod


@dataclass(frozen=True)
class HintLine:
    cause: str
    title: str
    fix: str


@cache
def _catalogue() -> Callable[[int | None, str, str], Any] | None:
    try:
        module = importlib.import_module("audit.explain.hints")
    except ImportError:
        return None
    found = getattr(module, "hint_for", None)
    return found if callable(found) else None


def _from_auth_causes(status: int, exc_type: str, message: str) -> HintLine | None:
    if status not in (401, 429):
        return None
    from audit.auth.causes import classify_auth_reply
    from audit.http.reply import FrappeReply

    reply = FrappeReply(method="GET", url="", status=status,
                        body={"exc_type": exc_type, "message": message}, text=message,
                        headers={}, latency_ms=0.0)
    cause, fix = classify_auth_reply(reply, AuthMethod.TOKEN)
    title = "rate limit" if status == 429 else "authentication refused"
    return HintLine(cause=cause, title=title, fix=fix)


def hint_line(status: int, exc_type: str, message: str) -> HintLine | None:
    catalogue = _catalogue()
    if catalogue is None:
        return _from_auth_causes(status, exc_type, message)
    hint = catalogue(status, exc_type, message)
    if hint is None:
        return None
    return HintLine(cause=str(getattr(hint, "cause", "")), title=str(getattr(hint, "title", "")),
                    fix=str(getattr(hint, "fix", "")))
