"""Offline explain: a saved reply (and optionally the request) -> one cause, or the few left.

No site is contacted. The body is the reply as saved (JSON or the HTML page); the
request comes from a header file or a curl command, read from a file or stdin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from audit.explain.explanation import Explanation
from audit.explain.hints import hint_for_reply
from audit.explain.request import SentRequest
from audit.http.reply import FrappeReply
from audit.status import UsageError

__all__ = ["OfflineInput", "explain_offline"]


@dataclass(frozen=True)
class OfflineInput:
    status: int
    body_text: str
    body_source: str
    sent: SentRequest | None = None  # None: the request is not known
    url: str = ""
    method: str = ""


def _parse_body(text: str, source: str) -> Any | None:
    stripped = text.strip()
    if not stripped or stripped[:1] not in "{[":
        return None  # an HTML or plain-text page
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source}: the reply body is not valid JSON ({exc.msg}, line "
                         f"{exc.lineno})") from None


def explain_offline(given: OfflineInput) -> Explanation:
    body = _parse_body(given.body_text, given.body_source)
    sent = given.sent
    url = given.url or (sent.url if sent else "")
    method = given.method or (sent.method if sent else "")
    reply = FrappeReply(method or "GET", url, given.status, body, given.body_text, {}, 0.0)
    kwargs: dict[str, Any] = {}
    if sent is not None:
        kwargs = {"authorization": sent.authorization, "header_known": True,
                  "cookie_session": sent.cookie_session}
    hint = hint_for_reply(reply, **kwargs)
    subject = {k: v for k, v in (("url", url), ("method", method.upper())) if v}
    if hint is None:
        return Explanation("offline", f"HTTP {given.status}: no authentication or permission "
                           "refusal to explain (not a 401/403/429-type reply)", None,
                           subject=subject)
    if hint.certain:
        verdict = f"{hint.title} ({hint.cause})"
    else:
        verdict = (f"{len(hint.alternatives) + 1} causes remain possible; likeliest: "
                   f"{hint.title} ({hint.cause})")
    notes = () if sent is not None else (
        "the request is not known: --header-file or --curl-file narrows the causes",)
    return Explanation("offline", verdict, hint, hint.evidence, subject=subject, notes=notes)


def _read(path: str, what: str, stdin_text: str | None) -> str:
    if path == "-":
        if stdin_text is None:
            raise UsageError(f"{what}: stdin is empty")
        return stdin_text
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(4_000_000)
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot read ({exc.strerror or exc})") from None


def load_offline_input(status: int, body: str, header_file: str | None, curl_file: str | None,
                       url: str, method: str, stdin_text: str | None) -> OfflineInput:
    """Read the body and the request from files (``-`` is stdin, usable once)."""
    from audit.explain.request import clean_url, parse_curl, parse_header_text

    if header_file and curl_file:
        raise UsageError("give --header-file or --curl-file, not both")
    dashes = [p for p in (body, header_file, curl_file) if p == "-"]
    if len(dashes) > 1:
        raise UsageError("only one of --body, --header-file and --curl-file can be '-' (stdin)")
    if not 100 <= status <= 599:
        raise UsageError(f"--status {status}: not an HTTP status (100-599)")
    sent: SentRequest | None = None
    if header_file:
        sent = parse_header_text(_read(header_file, "--header-file", stdin_text),
                                 f"--header-file {header_file}")
    elif curl_file:
        sent = parse_curl(_read(curl_file, "--curl-file", stdin_text), f"--curl-file {curl_file}")
    body_text = _read(body, "--body", stdin_text)
    # --url's credentials (userinfo, a token in the query) are registered and never shown
    return OfflineInput(status, body_text, f"--body {body}", sent, clean_url(url), method)
