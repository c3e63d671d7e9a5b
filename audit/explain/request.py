"""What the failed request carried, read from a header file or a curl command line.

Both come from a file or stdin, never from the command line. Every credential found is
registered with the process-wide secret registry at once, so no output can show it.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit, urlunsplit

from audit.config.loader import looks_like_email
from audit.config.secrets import MASK, REGISTRY
from audit.explain import curl_options
from audit.status import UsageError

__all__ = ["SentRequest", "parse_curl", "parse_header_text"]

_HEADER_LINE = re.compile(r"^([A-Za-z0-9!#$%&'*+.^_`|~-]+):[ \t]*(.*)$")
_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(\S+)(?:\s+HTTP/\S+)?$",
                           re.IGNORECASE)
_SCHEMES = frozenset({"token", "basic", "bearer"})
# a query parameter or body field whose name holds one of these carries a credential
_SECRET_NAME = re.compile(r"token|auth|key|secret|passw|pwd|sig|code|session|sid|jwt",
                          re.IGNORECASE)
# a header whose name holds one of these carries a credential (Authorization, Cookie: parsed)
_SECRET_HEADER = re.compile(r"token|key|secret|passw|session|signature|jwt|credential",
                            re.IGNORECASE)


@dataclass(frozen=True)
class SentRequest:
    """The parts of a request that explain reads; ``authorization`` is only analysed."""

    authorization: str | None
    cookie_session: bool  # a sid cookie other than Guest was sent
    method: str = ""
    url: str = ""
    host: str = ""


def _register(authorization: str | None, cookie: str | None) -> None:
    _register_authorization(authorization)
    for name, value in _cookies(cookie or ""):
        if name in ("sid", "csrf_token") or _SECRET_NAME.search(name):
            REGISTRY.register(value)


def _register_authorization(authorization: str | None) -> None:
    """Every piece of an Authorization value: raw, split on ':', and base64 decoded."""
    if not authorization:
        return
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


def _register_header(name: str, value: str) -> None:
    """A credential-bearing header other than Authorization and Cookie (X-API-Key, ...)."""
    lowered = name.lower()
    if "authorization" in lowered:  # Proxy-Authorization too
        _register_authorization(value)
    elif lowered != "cookie" and _SECRET_HEADER.search(lowered):
        REGISTRY.register(value.strip())
        for piece in re.split(r"[\s:]+", value.strip()):
            REGISTRY.register(piece)


def _cookies(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split(";"):
        name, sep, value = item.strip().partition("=")
        if sep:
            out.append((name.strip(), unquote(value.strip())))
    return out


def _session(cookie: str | None) -> bool:
    return any(n == "sid" and v and v != "Guest" for n, v in _cookies(cookie or ""))


# ``user:password@`` at the start of a URL whose password holds a ``/`` (urlsplit would put
# it in the path): the user has no ``/ : @``, the password runs to the first ``@``; a port
# (digits, then the path) is no password
_SLASHED_USERINFO = re.compile(r"^((?:[A-Za-z][\w+.-]*:)?//)?([^/:@?#]*):(?!\d+(?:[/?#]|$))"
                               r"([^@?#/][^@?#]*/[^@?#]*)@")


def clean_url(url: str) -> str:
    """A URL as it may be shown: userinfo registered and stripped, a credential-looking
    query value registered and shown as ``***``."""
    return _clean_url(url)[0]


def _clean_url(url: str) -> tuple[str, str | None]:
    """The URL as shown, and the Basic credential its userinfo makes (curl sends it).

    Userinfo is registered and stripped; a credential-looking query value is registered
    and shown as ``***`` (however short it is).
    """
    if not url:
        return url, None
    slashed = _SLASHED_USERINFO.match(url)
    if slashed:  # registered, then read as a URL without it
        user, password = unquote(slashed.group(2)), unquote(slashed.group(3))
        for value in (password, f"{user}:{password}", f"{slashed.group(2)}:{slashed.group(3)}"):
            REGISTRY.register(value)
        url = (slashed.group(1) or "") + url[slashed.end():]
    parts = urlsplit(url if "//" in url else f"//{url}")
    basic = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, has_password, password = userinfo.partition(":")
        user, password = unquote(user), unquote(password)
        for value in (userinfo, password, f"{user}:{password}"):
            REGISTRY.register(value if has_password else "")
        if user:
            basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    query = "&".join(_masked_param(item) for item in parts.query.split("&")) \
        if parts.query else ""
    shown = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return (shown if "//" in url else shown.removeprefix("//")), basic


def _masked_param(item: str) -> str:
    name, sep, value = item.partition("=")
    if not sep or not _SECRET_NAME.search(unquote_plus(name)):
        return item
    REGISTRY.register(value)
    REGISTRY.register(unquote_plus(value))
    return f"{name}={MASK}"


def _register_body(text: str) -> None:
    """The credential-looking fields of a form or JSON body (a login's pwd)."""
    try:
        data = json.loads(text)
    except ValueError:
        fields = parse_qsl(text)
    else:
        fields = [(str(k), v) for k, v in data.items()] if isinstance(data, dict) else []
    for name, value in fields:
        if isinstance(value, str) and _SECRET_NAME.search(name):
            REGISTRY.register(value)


def _build(headers: dict[str, str], method: str, url: str,
           implied: str | None = None) -> SentRequest:
    """``implied``: the Authorization an option made (-u, --oauth2-bearer); a header wins."""
    shown, basic = _clean_url(url)
    authorization = headers.get("authorization") or implied or basic
    cookie = headers.get("cookie")
    _register(authorization, cookie)
    for name, value in headers.items():
        _register_header(name, value)
    REGISTRY.register(headers.get("x-frappe-csrf-token"))
    return SentRequest(authorization, _session(cookie), method.upper(), shown,
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
    """A curl command as copied from a terminal or a browser's "Copy as cURL".

    Every option that takes a value is known as such (audit.explain.curl_options); one
    that is not known is refused, so its value can never be taken for the URL and shown.
    """
    joined = re.sub(r"\\\r?\n", " ", text).strip()
    try:
        words = shlex.split(joined)
    except ValueError as exc:
        raise UsageError(f"{source}: the curl command does not parse ({exc})") from None
    if not words or words[0] != "curl":
        raise UsageError(f"{source}: expected a command starting with 'curl'")
    command = _Curl(source)
    rest = iter(words[1:])
    for word in rest:
        if command.options_done or not word.startswith("-") or word == "-":
            command.urls.append(word)
        elif word == "--":
            command.options_done = True
        elif word.startswith("--"):
            command.long(word, rest)
        else:
            command.short(word, rest)
    for url in command.urls[1:]:
        _clean_url(url)  # a second URL's credentials are masked too
    method = command.method or ("POST" if command.has_data and not command.get else "GET")
    return _build(command.headers, method, command.urls[0] if command.urls else "",
                  command.implied)


class _Curl:
    """What the options of one curl command say about the request it sends."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.headers: dict[str, str] = {}
        self.urls: list[str] = []
        self.method = ""
        self.implied: str | None = None  # Authorization made by -u or --oauth2-bearer
        self.has_data = self.get = self.options_done = False

    def long(self, word: str, rest: Iterator[str]) -> None:
        name, eq, inline = word.partition("=")
        if name in curl_options.VALUE:
            self.option(name, inline if eq else self.value(name, rest))
        elif curl_options.is_flag(name) and not eq:
            self.flag(name)
        else:
            raise self.unknown(name)

    def short(self, word: str, rest: Iterator[str]) -> None:
        """``-sSL``, ``-XPOST``, ``-X POST``: flags bundle; a value ends the bundle."""
        for position, letter in enumerate(word[1:], start=2):
            name = f"-{letter}"
            if letter in curl_options.SHORT_VALUE:
                self.option(name, word[position:] or self.value(name, rest))
                return
            if letter not in curl_options.SHORT_FLAGS:
                raise self.unknown(name if len(word) == 2 else f"{name} (in {word})")
            self.flag(name)

    def value(self, name: str, rest: Iterator[str]) -> str:
        value = next(rest, None)
        if value is None:
            raise UsageError(f"{self.source}: curl option {name} has no value")
        return value

    def unknown(self, name: str) -> UsageError:
        return UsageError(f"{self.source}: curl option {name} is not one permaudit knows (it "
                          "may take a value, even a credential); remove it and try again")

    def flag(self, name: str) -> None:
        if name in ("-G", "--get"):
            self.get = True
        elif name in ("-I", "--head"):
            self.method = "HEAD"

    def option(self, name: str, value: str) -> None:
        if name in curl_options.SECRET_VALUE:
            REGISTRY.register(value)
            REGISTRY.register(value.partition(":")[2])
        if name in curl_options.DATA:
            self.has_data = True
            if not value.startswith("@"):
                _register_body(value)
        if name in ("-H", "--header", "--proxy-header"):
            match = _HEADER_LINE.match(value)
            if match and name != "--proxy-header":
                self.headers[match.group(1).lower()] = match.group(2)
            elif match:
                _register_header(match.group(1), match.group(2))
        elif name in ("-b", "--cookie") and "=" in value:
            self.headers["cookie"] = value
        elif name in ("-u", "--user"):
            self.implied = "Basic " + base64.b64encode(value.encode()).decode()
        elif name == "--oauth2-bearer":
            self.implied = f"Bearer {value}"
        elif name in ("-X", "--request"):
            self.method = value
        elif name == "--url":
            self.urls.insert(0, value)
        elif name == "--url-query":
            _clean_url(f"//x/?{value}")
        elif name in ("-x", "--proxy", "--preproxy") or name.startswith("--socks"):
            _clean_url(value if "//" in value else f"//{value}")
        if name == "--json":
            self.headers.setdefault("content-type", "application/json")
