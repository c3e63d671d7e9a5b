"""Identities: how each configured user proves who it is, and why that can fail.

One :class:`Identity` per configured user, shared by every thread of a crawl:
token and Basic users send their header; a password user logs in once per run
(each worker's Session then sends that one ``sid``); an OAuth user sends its
bearer token and refreshes it when given ``refresh_token`` + ``client_id``.
Accounts are never locked by the audit: one login attempt per user per run and
at most three failed logins in a whole run (:class:`LoginBudget`).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import requests

from audit.client import (
    REDIRECT_STATUSES,
    ClientOptions,
    FrappeClient,
    FrappeReply,
    RateLimiter,
    RedirectError,
    TransportError,
    plain_text,
)
from audit.client import encode_path as _path
from audit.config import UserConfig, looks_like_email
from audit.model import AuthMethod
from audit.secrets import REGISTRY, Secret, basic_credential

__all__ = [
    "BASIC_EMAIL_CAUSE", "BASIC_EMAIL_FIX", "AuthFailed", "AuthFailure", "Identity",
    "LoginBudget", "LoginRefused", "basic_email_hint", "classify_auth_reply",
    "classify_transport_error", "connect", "make_identity",
]

log = logging.getLogger(__name__)

LOGGED_USER = "frappe.auth.get_logged_user"
LOGIN_PATH = "/api/method/login"
LOGOUT_PATH = "/api/method/logout"
TOKEN_METHOD = "frappe.integrations.oauth2.get_token"
REFRESH_COOLDOWN_S = 60.0  # at most one OAuth refresh a minute: a new token that fails stays failed
_AUTH_HEADERS = ("Authorization", "Cookie", "X-Frappe-CSRF-Token")

BASIC_EMAIL_CAUSE = ("Frappe reads HTTP Basic as api_key:api_secret and answers 401 to "
                     "email:password (ERPNext's API docs suggest it)")
BASIC_EMAIL_FIX = 'use an API key pair or auth = "password"'


def basic_email_hint(user: UserConfig) -> str | None:
    """The one plain sentence for a Basic user whose api_key is an e-mail address."""
    if not user.basic_with_email:
        return None
    return f"{BASIC_EMAIL_CAUSE}; {BASIC_EMAIL_FIX}"


@dataclass(frozen=True)
class AuthFailure:
    user: str  # the config name
    method: AuthMethod
    status: int | None  # None: no HTTP reply
    exc_type: str
    cause: str
    fix: str


# -- why an identity check failed: (cause, fix), one plain sentence each ----------------
_TEXT_CAUSES: tuple[tuple[str, str, str], ...] = (
    ("Invalid login credentials",
     "wrong password or unknown user (Frappe answers both alike)",
     "check username and password; permaudit tried once only, so it locked nothing"),
    ("User disabled or missing",
     "the user is disabled (Frappe says so only when the password was right)",
     "enable the user in Frappe, or drop it from the audit"),
    ("Incomplete login details",
     "the login lacked a username or password", "set username and password for this user"),
    ("Login with username and password is not allowed",
     "password login is switched off for the whole site (disable_user_pass_login)",
     'use an API key pair (auth = "token")'),
    ("Password size exceeded",
     "the password is longer than Frappe accepts (512 characters)", "check the password"),
    ("Access not allowed from this IP Address",
     "the user is restricted to some IP addresses (restrict_ip) and this one is not among "
     "them; behind a proxy the first X-Forwarded-For value counts",
     "run from an allowed address, fix the proxy's X-Forwarded-For, or use API keys"),
    ("Login not allowed at this time",
     "the user may log in only at set hours (login_after / login_before)",
     "run within those hours, or use an API key pair (hours do not apply to keys)"),
    ("Access not allowed for this URL",
     "an installed auth hook (auth_hooks) refused the request",
     "check the site's installed apps for auth hooks that limit API access"),
    ("has been locked",
     "the account is locked after too many failed logins (Frappe counts them per user and "
     "per client IP)", "wait until the lock ends, then fix the password; never retry blindly"),
    ("Incorrect Verification code",
     "two-factor authentication asked for a code", "use an API key pair for automation"),
    ("Login session expired",
     "two-factor authentication is on and its login step expired",
     "use an API key pair for automation"),
    ("Password not found for User",
     "the API key exists but no API secret is stored for its user",
     "generate the keys again (User > API Access) and update the config"),
    ("is disabled. Please contact",
     "the session's user has been disabled", "enable the user, or drop it from the audit"),
)
_KEY_FIX = ("generate a new key pair for the user (User > API Access) and update api_key and "
            "api_secret")
_401_CAUSES: dict[AuthMethod, tuple[str, str]] = {
    AuthMethod.TOKEN: ("the API key or secret was refused (unknown key, wrong secret, or the "
                       "keys were generated again since)", _KEY_FIX),
    AuthMethod.BASIC: ("the Basic credential was refused: Frappe reads it as api_key:api_secret "
                       "and found no match (unknown key or wrong secret)", _KEY_FIX),
    AuthMethod.OAUTH: ("the bearer token is unknown, expired or revoked (Frappe tokens live one "
                       "hour)", "give refresh_token and client_id so permaudit can refresh it, "
                       "or issue a new token"),
    AuthMethod.PASSWORD: ("the session was refused (401)", "check the user can still log in"),
}
_GUEST_HEADER = (
    "the request ran as Guest: Frappe never saw the credential (a proxy or WAF stripped the "
    "Authorization header, or it did not split into exactly two words, e.g. a space inside "
    "the key or secret)",
    "forward the header (nginx: proxy_set_header Authorization $http_authorization) and check "
    "the credential has no spaces")
_GUEST_SESSION = (
    "the session did not hold and the request ran as Guest (it expired, was logged out, or "
    "another login cleared it under deny_multiple_sessions)",
    "prefer an API key pair; otherwise check session_expiry and deny_multiple_sessions")

_GUEST_NO_COOKIE = (
    "the request ran as Guest: no session cookie reached Frappe (a proxy may drop cookies)",
    "check the proxy forwards the Cookie header, or use an API key pair")


def classify_auth_reply(reply: FrappeReply, method: AuthMethod) -> tuple[str, str]:
    """Why this reply to a login or identity check means "not authenticated": (cause, fix)."""
    body = reply.body if isinstance(reply.body, dict) else {}
    text = " ".join([reply.message or "", *map(plain_text, reply.server_messages),
                     reply.error_message, reply.exc_type])
    if not reply.is_json and reply.status == 404:
        if "does not exist" in reply.text:
            return ("the server knows no site by this name (HTML 404 \"" +
                    plain_text(reply.text).split("Not Found", 1)[-1].strip() + "\")",
                    "set [site] host to the site's name: a multi-site bench picks the site from "
                    "the Host header")
        return ("no Frappe API answers at this URL (HTML 404)",
                "check [site] url: the site's base URL, e.g. https://erp.example.com")
    if reply.status in REDIRECT_STATUSES:
        return (f"the server redirected to {reply.headers.get('Location', '?')}",
                "put the final URL in [site] url")
    if reply.status == 429:
        return ("the site's rate limit was hit (429 Too Many Requests)",
                "wait for the window to pass, or lower [crawl] rate_limit")
    for needle, cause, fix in _TEXT_CAUSES:
        if needle.lower() in text.lower():
            return cause, fix
    if "verification" in body or "tmp_id" in body:
        return ("two-factor authentication is on for this user: the login asked for a code "
                "and opened no session", "use an API key pair for automation")
    if reply.message == "Password Reset":
        return ("the password has expired: the login answered with a reset link and opened no "
                "session", "reset the password in Frappe")
    if reply.exc_type == "SecurityException":
        return ("the server refused the login for security reasons (SecurityException)",
                "wait a minute and check the account is not locked")
    if reply.exc_type == "CSRFTokenError":
        return ("the session wants a CSRF token: it has opened the desk (/app)",
                "use a fresh login session that never loads /app, or an API key pair")
    if reply.exc_type == "InvalidAuthorizationToken" or "Failed to decode token" in text:
        return ("the Basic credential is not valid base64",
                "check api_key and api_secret hold no stray characters")
    if reply.status == 401:
        return _401_CAUSES[method]
    guest = reply.session_expired or "Guest" in text or "is not whitelisted" in text
    if reply.status == 403 and guest:
        if method is not AuthMethod.PASSWORD:
            return _GUEST_HEADER
        return _GUEST_SESSION if reply.session_expired else _GUEST_NO_COOKIE
    if reply.status == 200:
        return ("the login or identity check answered 200 without a session or user",
                "run with --debug and compare the reply with the site's login page")
    detail = f" {reply.exc_type}" if reply.exc_type else ""
    if reply.status >= 500:
        return (f"the server failed (HTTP {reply.status}{detail})",
                "check the site's Error Log, then run again")
    return (f"unexpected reply (HTTP {reply.status}{detail}) to the identity check",
            "check [site] url and that the site runs Frappe 14 or newer")


def classify_transport_error(exc: TransportError) -> tuple[str, str]:
    """Why no usable reply came: (cause, fix)."""
    if isinstance(exc, RedirectError):
        return (f"the server answered {exc.status} redirecting to {exc.location or '?'}; "
                "requests drops the Authorization header when a redirect changes host or "
                "scheme, so the audit would run as Guest",
                "put the final URL (often https://...) in [site] url")
    if "TLS" in exc.reason:
        return (exc.reason, 'pass --ca-bundle PATH or set [site] verify_tls = "/path/ca.pem"')
    if "connect" in exc.reason:
        return (f"the site could not be reached: {exc.reason}",
                "check [site] url, the network, and that the site is up")
    if "no reply within" in exc.reason:
        return (f"the site did not answer: {exc.reason}",
                "raise [site] timeout, or check the server load")
    return (f"the reply could not be used: {exc.reason}", "run again; if it persists, use --debug")


class AuthFailed(Exception):
    def __init__(self, failure: AuthFailure) -> None:
        self.failure = failure
        super().__init__(str(self))

    def __str__(self) -> str:
        f = self.failure
        return REGISTRY.mask(f"user {f.user!r} could not authenticate: {f.cause}; {f.fix}")


class LoginRefused(Exception):
    """The budget forbids this login attempt (the text says why)."""


class LoginBudget:
    """At most ``max_failures`` failed logins per run, and one attempt per account."""

    def __init__(self, max_failures: int = 3) -> None:
        self.max_failures = max_failures
        self._lock = threading.Lock()
        self._state: dict[str, str] = {}  # account -> pending | ok | failed
        self._relogged: set[str] = set()
        self._failures = 0

    @property
    def failures(self) -> int:
        with self._lock:
            return self._failures

    def begin(self, account: str, *, relogin: bool = False) -> None:
        """Claim the one attempt of ``account``; raise :class:`LoginRefused` if not allowed."""
        key = account.strip().lower()
        with self._lock:
            if self._failures >= self.max_failures:
                raise LoginRefused(
                    f"{self._failures} password logins already failed in this run, and more "
                    "could lock accounts (Frappe also counts failures per client IP)")
            if relogin:
                if self._state.get(key) != "ok" or key in self._relogged:
                    raise LoginRefused(f"{account} already logged in again once in this run")
                self._relogged.add(key)
            elif key in self._state:
                raise LoginRefused(f"{account} already tried to log in once in this run")
            self._state[key] = "pending"

    def record(self, account: str, ok: bool) -> None:
        key = account.strip().lower()
        with self._lock:
            self._state[key] = "ok" if ok else "failed"
            if not ok:
                self._failures += 1


class Identity(ABC):
    """One configured user; thread-safe. ``generation`` changes when its credential does."""

    method: AuthMethod

    def __init__(self, user: UserConfig) -> None:
        self.user = user
        self.name = user.name
        self.frappe_user: str | None = None
        self._lock = threading.RLock()
        self._generation = 0
        key = user.api_key
        if key is not None and not looks_like_email(key.reveal()):
            REGISTRY.register(key)
        for secret in (user.api_secret, user.password, user.access_token, user.refresh_token):
            REGISTRY.register(secret)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, frappe_user={self.frappe_user!r})"

    @property
    def generation(self) -> int:
        with self._lock:
            return self._generation

    def _bump(self) -> None:
        with self._lock:
            self._generation += 1

    def prepare(self, session: requests.Session) -> None:
        """Set this identity's headers on a Session (and clear any stale ones)."""
        with self._lock:
            for name in _AUTH_HEADERS:
                session.headers.pop(name, None)
            session.headers.update(self._headers())

    @abstractmethod
    def _headers(self) -> dict[str, str]: ...

    def login(self, client: FrappeClient) -> None:  # noqa: B027 - nothing to do for keys
        """Make the identity usable; raises :class:`AuthFailed`."""

    def relogin(self, client: FrappeClient, seen_generation: int | None = None) -> bool:
        return False

    def logout(self, client: FrappeClient) -> None:  # noqa: B027 - nothing to do for keys
        """End what ``login`` started."""

    def recover(self, client: FrappeClient, reply: FrappeReply, generation: int) -> bool:
        """Called on every reply: True when the request should be sent once more."""
        return False

    def failure(self, status: int | None, exc_type: str, cause: str, fix: str) -> AuthFailure:
        return AuthFailure(user=self.name, method=self.method, status=status,
                           exc_type=exc_type, cause=cause, fix=fix)

    def failed(self, reply: FrappeReply) -> AuthFailed:
        cause, fix = classify_auth_reply(reply, self.method)
        return AuthFailed(self.failure(reply.status, reply.exc_type, cause, fix))


class TokenIdentity(Identity):
    method = AuthMethod.TOKEN

    def __init__(self, user: UserConfig) -> None:
        super().__init__(user)
        assert user.api_key is not None and user.api_secret is not None
        self._credential = Secret(f"{user.api_key.reveal()}:{user.api_secret.reveal()}")
        REGISTRY.register(self._credential)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self._credential.reveal()}"}


class BasicIdentity(Identity):
    method = AuthMethod.BASIC

    def __init__(self, user: UserConfig) -> None:
        super().__init__(user)
        assert user.api_key is not None and user.api_secret is not None
        self._credential = basic_credential(user.api_key, user.api_secret)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Basic {self._credential.reveal()}"}


class PasswordIdentity(Identity):
    """``POST /api/method/login`` once per run; every worker sends that one ``sid``."""

    method = AuthMethod.PASSWORD

    def __init__(self, user: UserConfig, budget: LoginBudget) -> None:
        super().__init__(user)
        assert user.username is not None and user.password is not None
        self.username = user.username
        self._password = user.password
        self._budget = budget
        self._sid: Secret | None = None
        self.csrf_token: Secret | None = None  # only a desk-booted session has one
        self._relogged = False

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self._sid is not None:
            headers["Cookie"] = f"sid={self._sid.reveal()}"
        if self.csrf_token is not None:
            headers["X-Frappe-CSRF-Token"] = self.csrf_token.reveal()
        return headers

    @property
    def logged_in(self) -> bool:
        with self._lock:
            return self._sid is not None

    def login(self, client: FrappeClient) -> None:
        with self._lock:
            try:
                self._budget.begin(self.username)
            except LoginRefused as exc:
                raise AuthFailed(self.failure(
                    None, "", f"not attempted: {exc}",
                    "fix the failed logins first; permaudit never retries a password")) from None
            self._post_login(client)

    def _post_login(self, client: FrappeClient) -> None:
        try:
            reply = client.request("POST", LOGIN_PATH,
                                   json={"usr": self.username, "pwd": self._password.reveal()},
                                   authenticate=False, recover=False)
        except TransportError:
            self._budget.record(self.username, ok=False)
            raise
        sid = reply.cookies.get("sid", "")
        ok = reply.status == 200 and bool(sid) and sid != "Guest"
        self._budget.record(self.username, ok=ok)
        if not ok:
            raise self.failed(reply)
        self._sid = Secret(sid, source=f"{self.name}.sid")
        REGISTRY.register(self._sid)
        self._bump()

    def relogin(self, client: FrappeClient, seen_generation: int | None = None) -> bool:
        """Log in again after ``session_expired``: at most once per run, for all threads."""
        with self._lock:
            if seen_generation is not None and seen_generation != self._generation:
                return True  # another thread already logged in again
            if self._relogged or self._sid is None:
                return False
            self._relogged = True
            try:
                self._budget.begin(self.username, relogin=True)
                self._post_login(client)
            except (LoginRefused, AuthFailed, TransportError) as exc:
                log.warning("%s: logging in again failed: %s", self.name, exc)
                self._sid = None
                self._bump()
                return False
            log.info("%s: the session had expired; logged in again", self.name)
            return True

    def recover(self, client: FrappeClient, reply: FrappeReply, generation: int) -> bool:
        return reply.session_expired and self.relogin(client, generation)

    def logout(self, client: FrappeClient) -> None:
        with self._lock:
            if self._sid is None:
                return
            try:
                client.request("GET", LOGOUT_PATH, recover=False)
            except TransportError as exc:
                log.info("%s: logout failed: %s", self.name, exc)
            self._sid = None
            self._bump()


class OAuthIdentity(Identity):
    """A bearer token; refreshed (form POST to get_token) when told how."""

    method = AuthMethod.OAUTH

    def __init__(self, user: UserConfig) -> None:
        super().__init__(user)
        self._access = user.access_token
        self._refresh = user.refresh_token
        self.client_id = user.client_id
        self._last_refresh = float("-inf")
        self.refreshes = 0

    @property
    def can_refresh(self) -> bool:
        return self._refresh is not None and bool(self.client_id)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access.reveal()}"} if self._access else {}

    def login(self, client: FrappeClient) -> None:
        with self._lock:
            if self._access is None:
                self._refresh_now(client)

    def recover(self, client: FrappeClient, reply: FrappeReply, generation: int) -> bool:
        if reply.status != 401 or not self.can_refresh:
            return False
        with self._lock:
            if generation != self._generation:
                return True  # another thread refreshed already
            if time.monotonic() - self._last_refresh < REFRESH_COOLDOWN_S:
                return False
            try:
                self._refresh_now(client)
            except (AuthFailed, TransportError) as exc:
                log.warning("%s: refreshing the OAuth token failed: %s", self.name, exc)
                return False
            return True

    def _refresh_now(self, client: FrappeClient) -> None:
        if not self.can_refresh:
            raise AuthFailed(self.failure(None, "", "no access token and no way to refresh one",
                                          "give access_token, or refresh_token and client_id"))
        assert self._refresh is not None and self.client_id is not None
        self._last_refresh = time.monotonic()
        form = {"grant_type": "refresh_token", "refresh_token": self._refresh.reveal(),
                "client_id": self.client_id}
        reply = client.request("POST", _path("api", "method", TOKEN_METHOD), data=form,
                               authenticate=False, recover=False)
        body = reply.body if isinstance(reply.body, dict) else {}
        token = body.get("access_token")
        if reply.status != 200 or not isinstance(token, str) or not token:
            raise AuthFailed(self.failure(
                reply.status, reply.exc_type or str(body.get("error") or ""),
                "the refresh token was refused (unknown, revoked, or issued to another "
                "client_id)", "issue a new token pair for this OAuth client"))
        self._access = Secret(token, source=f"{self.name}.access_token")
        REGISTRY.register(self._access)
        new_refresh = body.get("refresh_token")
        if isinstance(new_refresh, str) and new_refresh:
            self._refresh = Secret(new_refresh, source=f"{self.name}.refresh_token")
            REGISTRY.register(self._refresh)
        self.refreshes += 1
        self._bump()


def make_identity(user: UserConfig, budget: LoginBudget) -> Identity:
    if user.auth is AuthMethod.TOKEN:
        return TokenIdentity(user)
    if user.auth is AuthMethod.BASIC:
        return BasicIdentity(user)
    if user.auth is AuthMethod.PASSWORD:
        return PasswordIdentity(user, budget)
    return OAuthIdentity(user)


def connect(user: UserConfig, base_url: str, options: ClientOptions,
            limiter: RateLimiter | None, budget: LoginBudget) -> FrappeClient:
    """An authenticated client for ``user``, whose ``identity.frappe_user`` is known.

    Raises :class:`AuthFailed` with a classified cause and fix;
    :class:`~audit.client.InsecureURLError` is a usage error and passes through.
    """
    identity = make_identity(user, budget)
    client = FrappeClient(base_url, options, identity, limiter)
    try:
        identity.login(client)
        reply = client.call(LOGGED_USER)
        if reply.ok and reply.message and reply.message != "Guest":
            identity.frappe_user = reply.message
            return client
        failure = identity.failed(reply).failure
        if reply.status == 401 and user.basic_with_email:
            failure = identity.failure(reply.status, reply.exc_type, BASIC_EMAIL_CAUSE,
                                       BASIC_EMAIL_FIX)
        identity.logout(client)
        raise AuthFailed(failure)
    except TransportError as exc:
        cause, fix = classify_transport_error(exc)
        client.close()
        status = exc.status if isinstance(exc, RedirectError) else None
        raise AuthFailed(identity.failure(status, "", cause, fix)) from None
    except BaseException:
        client.close()
        raise
