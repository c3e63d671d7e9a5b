"""The HTTP edge: one Frappe client per identity, one requests.Session per thread.

Rules kept here and nowhere else: ``Accept: application/json`` on every request;
(connect, read) timeouts; TLS verified unless told otherwise; plain http only to
loopback unless allowed; redirects never followed (requests drops Authorization
across hosts); retries with back-off for connection errors and 502/503/504 on
idempotent requests only (a 500 is an answer); 429 honoured for every method;
the Host header for multi-site benches; DocType and document names encoded one
path segment at a time; the TLS setting given (a CA bundle path, ``--ca-bundle``,
``false``) wins over ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``; every reply is bounded
in size (``[site] max_reply_mb``, more for lists) and in total time (``timeout``, the body
included), so a huge, endless or drip-fed reply ends as an error with bounded memory.
Library errors leave this module as :class:`TransportError` with one plain sentence.
"""

from __future__ import annotations

import contextlib
import email.utils
import json as jsonlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from audit import __version__
from audit.config.loader import SiteConfig, is_loopback_host
from audit.config.secrets import REGISTRY
from audit.http.pacing import RateLimiter, request_kind
from audit.http.reply import FrappeReply

if TYPE_CHECKING:
    from audit.auth.identities import Identity

__all__ = [
    "ClientOptions", "FrappeClient", "FrappeReply", "InsecureURLError", "NotSent",
    "RateLimiter", "RedirectError", "TransportError", "encode_path", "resource_path",
]

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = f"permaudit/{__version__}"
MIB = 1024 * 1024
CHUNK = 64 * 1024
# replies that are lists or a DocType's whole meta may be larger than a probe's
LIST_METHODS = ("frappe.desk.form.load.getdoctype", "frappe.client.get_list",
                "frappe.client.get_all", "frappe.desk.reportview.get")


@dataclass(frozen=True)
class ClientOptions:
    connect_timeout: float = 10
    read_timeout: float = 30
    verify: bool | str = True
    host_header: str | None = None
    allow_insecure: bool = False
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 120.0
    pool_size: int = 8
    total_timeout: float | None = None  # one attempt, reply body included; None: read_timeout
    max_reply_bytes: int = 8 * MIB  # a probe's reply
    max_list_reply_bytes: int = 64 * MIB  # a list or a DocType's meta (discovery)

    @property
    def deadline(self) -> float:
        return self.total_timeout if self.total_timeout is not None else self.read_timeout

    @classmethod
    def from_config(cls, site: SiteConfig, *, ca_bundle: str | None, allow_insecure: bool,
                    pool_size: int) -> ClientOptions:
        """``--ca-bundle`` wins over ``[site] verify_tls``; both (and ``false``) win over
        ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` (see :meth:`FrappeClient._attempt`)."""
        return cls(
            connect_timeout=min(10.0, site.timeout), read_timeout=site.timeout,
            verify=ca_bundle if ca_bundle else site.verify_tls, host_header=site.host,
            allow_insecure=allow_insecure, pool_size=max(1, pool_size),
            total_timeout=site.timeout, max_reply_bytes=int(site.max_reply_mb * MIB),
            max_list_reply_bytes=int(site.max_list_reply_mb * MIB),
        )


class TransportError(Exception):
    """No usable reply: connection error, timeout, cut-off or unreadable body."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        self.method = method
        self.url = url
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        what = f"{self.method} {self.url}" if self.method else self.url
        return REGISTRY.mask(f"{what}: {self.reason}")


UNSENDABLE = ("not sent: a name or value from the site holds a lone UTF-16 surrogate, "
              "which no URL can carry")


class NotSent(TransportError):
    """A request's ``before_send`` said no on its first attempt: nothing left the client."""

    def __init__(self, method: str, url: str) -> None:
        super().__init__(method, url, "not sent: its guard said no right before sending")


class RedirectError(TransportError):
    """A 30x reply; never followed, since requests drops Authorization across hosts."""

    def __init__(self, method: str, url: str, status: int, location: str) -> None:
        self.location = location
        self.status = status
        super().__init__(method, url, f"the server answered {status} redirecting to "
                                      f"{location or '(no Location)'}; redirects are not "
                                      "followed: put the final URL in [site] url")


class InsecureURLError(Exception):
    """Plain http to a host that is not loopback, without ``--allow-insecure``."""

    def __init__(self, url: str) -> None:
        self.url = url
        host = urlsplit(url).hostname or url
        super().__init__(f"refusing plain http to {host}: API keys and passwords would cross "
                         "the network unencrypted; use https, or pass --allow-insecure")


def encode_path(*segments: str) -> str:
    """``/seg1/seg2`` with each segment percent-encoded ('/' inside a name too); a segment
    no URL can carry (a lone surrogate, from a reply) is a TransportError: never sent."""
    try:
        return "".join("/" + quote(str(s), safe="") for s in segments)
    except UnicodeEncodeError:
        raise TransportError("", "/" + "/".join(map(str, segments)), UNSENDABLE) from None


def resource_path(doctype: str, name: str | None = None) -> str:
    """``/api/resource/<DocType>[/<name>]``, encoded."""
    return encode_path("api", "resource", doctype, *([name] if name is not None else []))


def _quote_path(path: str | Sequence[str]) -> str:
    if not isinstance(path, str):
        return encode_path(*path)
    if not path.startswith("/"):
        path = "/" + path
    return quote(path, safe="/%:@!$&'()*+,;=-._~")


READ_ATTEMPTS = 3  # a read the audit depends on, answered 5xx, is sent this often in all


def read_again(send: Callable[[], FrappeReply], attempts: int = READ_ATTEMPTS) -> FrappeReply:
    """A read sent again while the site answers 5xx, ``attempts`` times in all: for the
    reads a whole run depends on (who a user is, discovery's lists and metas), where one
    failed reply would cost a user or a DocType. Probes do not use it: their 5xx is
    ``error``. Only for GETs, which count no login and change nothing."""
    reply = send()
    for _again in range(attempts - 1):
        if reply.status < 500:
            break
        reply = send()
    return reply


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class _NoNetrc(requests.auth.AuthBase):
    """Stops requests from adding ~/.netrc credentials: a Session carries one identity."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class _NoCookies(requests.cookies.RequestsCookieJar):
    """A cookie jar that stores nothing: Frappe sets ``sid=Guest`` even on token replies.

    The only cookie a session sends is the one its identity sets explicitly.
    """

    def set_cookie(self, cookie: Any, *args: Any, **kwargs: Any) -> None:
        return None

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


@dataclass
class _Local:
    session: requests.Session
    generation: int = -1
    extra: dict[str, Any] = field(default_factory=dict)


class FrappeClient:
    """Talks to one site as one identity; safe to share between threads."""

    def __init__(self, base_url: str, options: ClientOptions, identity: Identity,
                 limiter: RateLimiter | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname) \
                and not options.allow_insecure:
            raise InsecureURLError(base_url)
        self.base_url = base_url.rstrip("/")
        self.options = options
        self.identity = identity
        self.limiter = limiter
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._closed = False
        if options.verify is False:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            log.warning("TLS certificates of %s are not verified", parts.hostname)

    def __repr__(self) -> str:
        return f"FrappeClient({self.base_url!r}, identity={self.identity.name!r})"

    # -- sessions --------------------------------------------------------------
    @property
    def session(self) -> requests.Session:
        """This thread's Session for this identity, prepared for its current credentials."""
        local: _Local | None = getattr(self._local, "state", None)
        if local is None:
            local = _Local(self._new_session())
            self._local.state = local
        generation = self.identity.generation
        if local.generation != generation:
            self.identity.prepare(local.session)
            local.generation = generation
        return local.session

    def _new_session(self) -> requests.Session:
        if self._closed:
            raise RuntimeError("the client is closed")
        s = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.options.pool_size,
                              max_retries=0)
        s.mount("https://", adapter)
        s.mount("http://", adapter)
        s.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if self.options.host_header:
            s.headers["Host"] = self.options.host_header
        s.verify = self.options.verify
        # The environment (proxies, no_proxy, CA bundle) is read once here instead of on
        # every request, as requests does with trust_env; netrc stays ignored.
        s.trust_env = False
        s.proxies = requests.utils.get_environ_proxies(self.base_url)
        if s.verify is True:
            s.verify = os.environ.get("REQUESTS_CA_BUNDLE") or \
                os.environ.get("CURL_CA_BUNDLE") or True
        s.auth = _NoNetrc()
        s.cookies = _NoCookies()
        with self._lock:
            self._sessions.append(s)
        return s

    @property
    def session_count(self) -> int:
        with self._lock:
            return len(self._sessions)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
            self._closed = True
        for s in sessions:
            s.close()

    def __enter__(self) -> FrappeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------
    def url_for(self, path: str | Sequence[str]) -> str:
        return self.base_url + _quote_path(path)

    def request(self, method: str, path: str | Sequence[str], *,
                params: Mapping[str, Any] | None = None, json: Any = None,
                data: Mapping[str, str] | None = None,
                headers: Mapping[str, str | None] | None = None,
                authenticate: bool = True, recover: bool = True,
                before_resend: Callable[[], bool] | None = None,
                before_send: Callable[[], bool] | None = None) -> FrappeReply:
        """One logical request, with retries; never follows a redirect.

        ``path`` is a string (unsafe characters are encoded, ``%`` is kept) or a
        sequence of raw segments (each fully encoded). ``authenticate=False`` sends
        no credential of the identity (the OAuth token endpoint, a login).
        ``before_resend`` is asked before every re-send (after a 429, a 5xx, a connection
        error or a recovered identity); False ends the request with the last reply (or
        error) unsent. A login passes one that always says False.
        ``before_send`` is asked before every attempt, the first included, once this
        request holds its limiter slot and has waited out the pace: nothing waits between
        its answer and the send (a DELETE probe re-reads the target's docstatus there).
        False ends the request unsent: with the last reply, else :class:`NotSent`.
        """
        method = method.upper()
        try:
            url = self.url_for(path)
        except UnicodeEncodeError:
            raise TransportError(method, self.base_url, UNSENDABLE) from None
        extra: dict[str, str | None] = dict(headers or {})
        if not authenticate:
            extra.update({"Authorization": None, "Cookie": None, "X-Frappe-CSRF-Token": None})
        generation = self.identity.generation
        reply = self._send(method, url, params, json, data, extra, before_resend, before_send)
        if recover and authenticate and self.identity.recover(self, reply, generation) \
                and (before_resend is None or before_resend()):
            try:
                reply = self._send(method, url, params, json, data, extra, before_resend,
                                   before_send)
            except NotSent:
                return reply
        return reply

    def get(self, path: str | Sequence[str], **kwargs: Any) -> FrappeReply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str | Sequence[str], **kwargs: Any) -> FrappeReply:
        return self.request("POST", path, **kwargs)

    def put(self, path: str | Sequence[str], **kwargs: Any) -> FrappeReply:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str | Sequence[str], **kwargs: Any) -> FrappeReply:
        return self.request("DELETE", path, **kwargs)

    def call(self, dotted: str, *, http_method: str = "GET", **params: Any) -> FrappeReply:
        """``/api/method/<dotted>``: GET sends params in the query (lists and dicts as
        JSON), other verbs send them as a JSON body."""
        path = encode_path("api", "method", dotted)
        if http_method.upper() in IDEMPOTENT:
            query = {k: v if isinstance(v, str) else jsonlib.dumps(v) for k, v in params.items()}
            return self.request(http_method, path, params=query)
        return self.request(http_method, path, json=params)

    # -- one logical request with retries ----------------------------------------
    def _send(self, method: str, url: str, params: Mapping[str, Any] | None, json: Any,
              data: Mapping[str, str] | None, headers: Mapping[str, str | None],
              before_resend: Callable[[], bool] | None = None,
              before_send: Callable[[], bool] | None = None) -> FrappeReply:
        def resend() -> bool:
            return before_resend is None or before_resend()

        idempotent = method in IDEMPOTENT
        opts = self.options
        failures = 0  # connection errors and 502/503/504
        throttled = 0  # 429 replies
        last: FrappeReply | None = None
        while True:
            try:
                reply = last = self._attempt(method, url, params, json, data, headers,
                                             before_send)
            except _Refused:
                if last is not None:
                    return last
                raise NotSent(method, url) from None
            except _Retryable as exc:
                if self.limiter is not None:  # a dropped or refused connection: slow down
                    self.limiter.record(None, None, request_kind(method, url))
                if not (idempotent or exc.unsent) or failures >= opts.retries:
                    raise TransportError(method, url, exc.reason) from None
                failures += 1
                self._wait(opts.backoff * 2 ** (failures - 1), pause_all=False)
                if not resend():
                    raise TransportError(method, url, exc.reason) from None
                continue
            if reply.status in REDIRECT_STATUSES:
                raise RedirectError(method, url, reply.status, reply.headers.get("Location", ""))
            if reply.status == 429 and throttled < opts.retries:
                throttled += 1
                after = retry_after_seconds(reply.headers.get("Retry-After"))
                wait = after if after is not None else opts.backoff * 2 ** (throttled - 1)
                log.info("429 from %s; waiting %.1f s", url, min(wait, opts.max_retry_after))
                self._wait(min(wait, opts.max_retry_after), pause_all=True)
                if not resend():
                    return reply
                continue
            if reply.status in RETRY_STATUSES and idempotent and failures < opts.retries:
                failures += 1
                after = retry_after_seconds(reply.headers.get("Retry-After"))
                wait = opts.backoff * 2 ** (failures - 1)
                self._wait(min(max(wait, after or 0.0), opts.max_retry_after), pause_all=False)
                if not resend():
                    return reply
                continue
            return reply

    def _wait(self, seconds: float, *, pause_all: bool) -> None:
        if seconds <= 0:
            return
        if pause_all and self.limiter is not None:
            self.limiter.pause_for(seconds)  # the next acquire() waits it out
        else:
            time.sleep(seconds)

    def _attempt(self, method: str, url: str, params: Mapping[str, Any] | None, json: Any,
                 data: Mapping[str, str] | None, headers: Mapping[str, str | None],
                 before_send: Callable[[], bool] | None = None) -> FrappeReply:
        session = self.session
        opts = self.options
        # total= bounds connecting plus waiting for the headers; the body is bounded below
        timeout = urllib3.Timeout(connect=opts.connect_timeout, read=opts.read_timeout,
                                  total=opts.deadline)
        slot = self.limiter.slot() if self.limiter is not None else contextlib.nullcontext()
        with slot:
            # the slot is held and the pace waited out: the guard's answer is the last word
            if before_send is not None and not before_send():
                raise _Refused()
            started = time.perf_counter()
            try:
                # verify= on the request itself (the Session's, resolved once in
                # _new_session): it must never lose to REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
                response = session.request(
                    method, url, params=params, json=json, data=data, headers=dict(headers),
                    timeout=timeout,  # type: ignore[arg-type]  # requests takes urllib3's
                    allow_redirects=False, stream=True, verify=session.verify,
                )
                try:
                    body = self._read_body(response, method, url, started)
                finally:
                    response.close()
            except UnicodeEncodeError:  # a query value no URL can carry: never sent
                raise TransportError(method, url, UNSENDABLE) from None
            except requests.exceptions.SSLError as exc:
                raise TransportError(method, url, _tls_reason(exc)) from None
            except requests.exceptions.ConnectTimeout:
                raise _Retryable(f"could not connect within {opts.connect_timeout:g} s",
                                 unsent=True) from None
            except (requests.exceptions.ReadTimeout, _ReadTimeout):
                raise _Retryable(f"no reply within {opts.read_timeout:g} s") from None
            except requests.exceptions.ChunkedEncodingError:
                raise _Retryable("the reply was cut off before its end") from None
            except requests.exceptions.ContentDecodingError:
                raise _Retryable("the reply body could not be decoded") from None
            except requests.exceptions.ConnectionError as exc:
                unsent = _never_sent(exc)
                reason = ("could not connect (connection refused or host unreachable)" if unsent
                          else "the connection was closed before a complete reply")
                raise _Retryable(reason, unsent=unsent) from None
            except requests.exceptions.RequestException as exc:
                raise TransportError(method, url, f"the request failed ({type(exc).__name__})") \
                    from None
            latency_ms = (time.perf_counter() - started) * 1000.0
        response._content = body
        reply = FrappeReply.from_response(method, url, response, latency_ms)
        if reply.unreadable:  # the limiter hears of it as a dropped connection
            raise _Retryable(f"the reply said JSON but could not be parsed "
                             f"(status {reply.status}, {len(reply.text)} characters)")
        if self.limiter is not None:
            self.limiter.record(reply.status, latency_ms / 1000.0, request_kind(method, url),
                                reply.headers)
        log.debug("%s %s -> %s (%.0f ms)", method, url, reply.status, latency_ms)
        return reply

    def reply_limit(self, method: str, url: str) -> int:
        """The largest body accepted: lists and DocType metas get the larger limit."""
        path = urlsplit(url).path
        parts = [p for p in path.split("/") if p]
        listing = method == "GET" and (
            (len(parts) == 3 and parts[:2] == ["api", "resource"])
            or (len(parts) == 3 and parts[:2] == ["api", "method"] and parts[2] in LIST_METHODS))
        return self.options.max_list_reply_bytes if listing else self.options.max_reply_bytes

    def _read_body(self, response: requests.Response, method: str, url: str,
                   started: float) -> bytes:
        """The body, read one network read at a time: never more than the reply limit in
        memory, never longer than the deadline in total (a drip-fed reply ends too)."""
        limit = self.reply_limit(method, url)
        key = "max_list_reply_mb" if limit == self.options.max_list_reply_bytes \
            else "max_reply_mb"
        too_big = (f"the reply is larger than {limit / MIB:g} MB; raise [site] {key} "
                   "if this is expected")
        declared = response.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise TransportError(method, url, too_big)
        deadline = started + self.options.deadline
        chunks: list[bytes] = []
        size = 0
        raw = response.raw
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TransportError(method, url, f"the reply did not complete within "
                                                  f"{self.options.deadline:g} s")
            _shrink_timeout(raw, min(self.options.read_timeout, remaining))
            try:
                chunk = raw.read1(CHUNK, decode_content=True)
            except urllib3.exceptions.ReadTimeoutError:
                if time.perf_counter() >= deadline:
                    continue  # the deadline, not the read timeout: say so above
                raise _ReadTimeout() from None
            except urllib3.exceptions.ProtocolError as exc:
                raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
            except urllib3.exceptions.DecodeError as exc:
                raise requests.exceptions.ContentDecodingError(str(exc)) from None
            except urllib3.exceptions.SSLError as exc:
                raise requests.exceptions.SSLError(str(exc)) from None
            if not chunk:
                response._content_consumed = True  # type: ignore[attr-defined]  # reusable
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise TransportError(method, url, too_big)
            chunks.append(chunk)


class _ReadTimeout(Exception):
    """A read of the body waited longer than the read timeout."""


def _shrink_timeout(raw: Any, seconds: float) -> None:
    """Bound the next socket read of a streamed reply (urllib3 keeps its connection)."""
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(max(0.01, seconds))


class _Refused(Exception):
    """``before_send`` said no: this attempt is not sent."""


class _Retryable(Exception):
    """A failed attempt; ``unsent`` when the request never left (safe to retry any verb)."""

    def __init__(self, reason: str, *, unsent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unsent = unsent


def _never_sent(exc: BaseException) -> bool:
    """True when the connection could not be opened (the request never left)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException) and id(reason) not in seen:
            current = reason
            continue
        args = getattr(current, "args", ())
        nested = next((a for a in args if isinstance(a, BaseException)), None)
        current = nested or current.__cause__ or current.__context__
    return False


def _tls_reason(exc: BaseException) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return ("the TLS certificate could not be verified; give the CA bundle with "
                "--ca-bundle or [site] verify_tls")
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "TLS handshake failed: the port may speak plain http (try http://)"
    return "the TLS handshake failed"
