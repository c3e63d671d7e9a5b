"""One Frappe reply, parsed once at the HTTP edge.

Frappe's error bodies hold their texts in three places (``exc_type``,
``_server_messages`` — JSON inside JSON — and ``_error_message``); every later
stage reads them through :class:`FrappeReply`, never from the raw dict.
"""

from __future__ import annotations

import html
import json as jsonlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

__all__ = ["FrappeReply", "plain_text"]


_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</?(?:p|div|li|details|summary)[^>]*>", re.IGNORECASE)


def plain_text(text: str) -> str:
    """Frappe's HTML message text as one plain line."""
    text = _BREAK.sub(" ", text)
    text = html.unescape(_TAG.sub("", text))
    return " ".join(text.split())


@dataclass(frozen=True)
class FrappeReply:
    """One HTTP reply, parsed at the boundary; the raw text is kept for debugging."""

    method: str
    url: str
    status: int
    body: Any | None  # parsed JSON, or None
    text: str
    headers: Mapping[str, str]
    latency_ms: float
    cookies: Mapping[str, str] = field(default_factory=dict, repr=False)
    unreadable: bool = False  # said JSON, but the body did not parse

    @classmethod
    def from_response(cls, method: str, url: str, response: requests.Response,
                      latency_ms: float) -> FrappeReply:
        text = response.text
        content_type = response.headers.get("Content-Type", "")
        body: Any | None = None
        unreadable = False
        if "json" in content_type.lower() or (not content_type and text[:1] in "{["):
            try:
                body = jsonlib.loads(text) if text.strip() else None
            except ValueError:
                unreadable = "json" in content_type.lower()
        cookies = {c.name: c.value or "" for c in response.cookies}
        return cls(method=method, url=url, status=response.status_code, body=body, text=text,
                   headers=CaseInsensitiveDict(response.headers), latency_ms=latency_ms,
                   cookies=cookies, unreadable=unreadable)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def is_json(self) -> bool:
        return self.body is not None

    @property
    def _dict(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    @property
    def exc_type(self) -> str:
        """Frappe's exception class name (v1 ``exc_type``, v2 ``errors[0].type``)."""
        value = self._dict.get("exc_type")
        if isinstance(value, str):
            return value
        errors = self._dict.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("type") or "")
        return ""

    @property
    def server_messages(self) -> list[str]:
        """The texts of ``_server_messages`` (decoded twice) or v2 ``messages``, as sent."""
        out: list[str] = []
        for item in self._message_dicts():
            message = item.get("message")
            if isinstance(message, list):
                message = " ".join(str(m) for m in message)
            if message not in (None, ""):
                out.append(str(message))
        return out

    def _message_dicts(self) -> list[dict[str, Any]]:
        raw = self._dict.get("_server_messages")
        items: list[Any] = []
        if isinstance(raw, str):
            try:
                decoded = jsonlib.loads(raw)
            except ValueError:
                decoded = [raw]
            items = decoded if isinstance(decoded, list) else [decoded]
        elif isinstance(self._dict.get("messages"), list):
            items = self._dict["messages"]
        out: list[dict[str, Any]] = []
        for item in items:
            if isinstance(item, str):
                try:
                    item = jsonlib.loads(item)
                except ValueError:
                    item = {"message": item}
            if isinstance(item, dict):
                out.append(item)
            elif item is not None:
                out.append({"message": str(item)})
        return out

    @property
    def error_message(self) -> str:
        """The best human sentence about an error, as plain text ("" if none)."""
        candidates: list[str] = []
        value = self._dict.get("_error_message")
        if isinstance(value, str):
            candidates.append(value)
        errors = self._dict.get("errors")
        if isinstance(errors, list):
            candidates += [str(e["message"]) for e in errors
                           if isinstance(e, dict) and e.get("message")]
        dicts = self._message_dicts()
        raised = [str(d.get("message")) for d in dicts if d.get("raise_exception")]
        candidates += raised + [m for m in self.server_messages if m not in raised]
        if self.status >= 400 and isinstance(self._dict.get("message"), str):
            candidates.append(self._dict["message"])
        exception = self._dict.get("exception")
        if isinstance(exception, str) and ": " in exception:
            candidates.append(exception.split(": ", 1)[1])
        for candidate in candidates:
            text = plain_text(candidate)
            if text:
                return text
        return ""

    @property
    def session_expired(self) -> bool:
        return bool(self._dict.get("session_expired"))

    @property
    def message(self) -> str | None:
        value = self._dict.get("message")
        return value if isinstance(value, str) else None

    @property
    def data(self) -> Any:
        return self._dict.get("data")

    def __str__(self) -> str:
        detail = f" {self.exc_type}" if self.exc_type else ""
        return f"{self.method} {self.url} -> {self.status}{detail}"
