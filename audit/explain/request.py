"""What the failed request carried, read from a header file or a curl command line.

Both come from a file or stdin, never from the command line. Every credential found is
registered with the process-wide secret registry at once, so no output can show it.
"""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from audit.config.loader import looks_like_email
from audit.config.secrets import REGISTRY
from audit.status import UsageError

__all__ = ["SentRequest", "parse_curl", "parse_header_text"]

_HEADER_LINE = re.compile(r"^([A-Za-z0-9!#$%&'*+.^_`|~-]+):[ \t]*(.*)$")
_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(\S+)(?:\s+HTTP/\S+)?$",
                           re.IGNORECASE)
# curl options that take a value (the ones a copied command carries)
_CURL_VALUE = frozenset({
    "-H", "--header", "-X", "--request", "-b", "--cookie", "-u", "--user", "--url", "-d",
    "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode", "-F", "--form",
    "-o", "--output", "-A", "--user-agent", "-e", "--referer", "-m", "--max-time",
    "--connect-timeout", "--cacert", "--cert", "--key", "-x", "--proxy", "-w", "--write-out",
    "--retry", "-c", "--cookie-jar", "--resolve", "--connect-to", "-T", "--upload-file",
})
_SCHEMES = frozenset({"token", "basic", "bearer"})
_CURL_DATA = frozenset({"-d", "--data", "--data-raw", "--data-binary", "--data-ascii",
                        "--data-urlencode", "-F", "--form", "-T", "--upload-file"})


@dataclass(frozen=True)
class SentRequest:
    """The parts of a request that explain reads; ``authorization`` is only analysed."""

    authorization: str | None
    cookie_session: bool  # a sid cookie other than Guest was sent
    method: str = ""
    url: str = ""
    host: str = ""


def _register(authorization: str | None, cookie: str | None) -> None:
    if authorization:
        parts = [p for p in authorization.split() if p.lower() not in _SCHEMES]
        for part in parts:
            REGISTRY.register(part)
            for piece in part.split(":"):
                REGISTRY.register(piece)
            try:
                decoded = base64.b64decode(part, validate=True).decode("utf-8")
            except ValueError:
                continue
            name, _, secret = decoded.partition(":")
            REGISTRY.register(secret)
            if not looks_like_email(name):  # an e-mail is who, not a secret
                REGISTRY.register(name)
    for name, value in _cookies(cookie or ""):
        if name in ("sid", "csrf_token"):
            REGISTRY.register(value)


def _cookies(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split(";"):
        name, sep, value = item.strip().partition("=")
        if sep:
            out.append((name.strip(), unquote(value.strip())))
    return out


def _session(cookie: str | None) -> bool:
    return any(n == "sid" and v and v != "Guest" for n, v in _cookies(cookie or ""))


_SECRET_PARAMS = frozenset({"sid", "api_key", "api_secret", "token", "access_token",
                            "refresh_token", "password", "pwd", "csrf_token", "key", "code"})


def _build(headers: dict[str, str], method: str, url: str) -> SentRequest:
    authorization = headers.get("authorization")
    cookie = headers.get("cookie")
    _register(authorization, cookie)
    for name, value in parse_qsl(urlsplit(url).query):
        if name.lower() in _SECRET_PARAMS:
            REGISTRY.register(value)
    for name in ("x-frappe-csrf-token",):
        REGISTRY.register(headers.get(name))
    return SentRequest(authorization, _session(cookie), method.upper(), url,
                       headers.get("host", ""))


def parse_header_text(text: str, source: str) -> SentRequest:
    """Header lines (``Name: value``), optionally a request line first, or a bare value.

    A lone line that is no header (``token KEY:SECRET``) is the Authorization value.
    """
    headers: dict[str, str] = {}
    method = url = ""
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    if not lines:
        raise UsageError(f"{source}: no header found (expected 'Authorization: ...')")
    for number, line in enumerate(lines, start=1):
        request_line = _REQUEST_LINE.match(line.strip())
        if number == 1 and request_line:
            method, url = request_line.group(1), request_line.group(2)
            continue
        match = _HEADER_LINE.match(line)
        if match:
            headers[match.group(1).lower()] = match.group(2)
        elif len(lines) == 1:
            headers["authorization"] = line.lstrip(" \t")
        else:
            raise UsageError(f"{source}: line {number} is not a header ('Name: value')")
    return _build(headers, method, url)


def parse_curl(text: str, source: str) -> SentRequest:
    """A curl command as copied from a terminal or a browser's "Copy as cURL"."""
    joined = re.sub(r"\\\r?\n", " ", text).strip()
    try:
        words = shlex.split(joined)
    except ValueError as exc:
        raise UsageError(f"{source}: the curl command does not parse ({exc})") from None
    if not words or words[0] != "curl":
        raise UsageError(f"{source}: expected a command starting with 'curl'")
    headers: dict[str, str] = {}
    method = url = ""
    has_data = get = False
    index = 1
    while index < len(words):
        word = words[index]
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if name in _CURL_VALUE:
            if eq:
                value = inline
            elif index + 1 < len(words):
                index += 1
                value = words[index]
            else:
                raise UsageError(f"{source}: curl option {name} has no value")
            has_data = has_data or name in _CURL_DATA
            _curl_option(name, value, headers)
            if name in ("-X", "--request"):
                method = value
            elif name == "--url":
                url = value
        elif word in ("-G", "--get"):
            get = True
        elif word in ("-I", "--head"):
            method = "HEAD"
        elif not word.startswith("-") and not url:
            url = word
        index += 1
    if not method:
        method = "POST" if has_data and not get else "GET"
    return _build(headers, method, url)


def _curl_option(name: str, value: str, headers: dict[str, str]) -> None:
    if name in ("-H", "--header"):
        match = _HEADER_LINE.match(value)
        if match:
            headers[match.group(1).lower()] = match.group(2)
    elif name in ("-b", "--cookie") and "=" in value:
        headers["cookie"] = value
    elif name in ("-u", "--user"):
        headers["authorization"] = "Basic " + base64.b64encode(value.encode()).decode()
