"""A reply a handler builds itself, bypassing the ``{"message": ...}`` envelope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict / list -> JSON; str -> text as is
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def html(cls, text: str, status: int = 200, **headers: str) -> Reply:
        return cls(status=status, body=text, content_type="text/html; charset=utf-8",
                   headers=dict(headers))

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        shown = location.replace("&", "&amp;")
        text = ("<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
                "<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the "
                f"target URL: <a href=\"{shown}\">{shown}</a>. If not, click the link.\n")
        return cls(status=status, body=text, content_type="text/html; charset=utf-8",
                   headers={"Location": location})


class TopLevel(dict):  # type: ignore[type-arg]
    """Keys a method puts at the top level of the body (``docs``, ``docinfo``, ...)."""
