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
from dataclasses import replace
from typing import TYPE_CHECKING

from audit.auth.causes import (
    BASIC_EMAIL_CAUSE,
    BASIC_EMAIL_FIX,
    AuthFailure,
    basic_email_hint,
    classify_auth_reply,
    classify_transport_error,
    explain_auth_reply,
)
from audit.config.loader import UserConfig, looks_like_email
from audit.config.secrets import REGISTRY, Secret, basic_credential
from audit.http.client import (
    ClientOptions,
    FrappeClient,
    FrappeReply,
    RateLimiter,
    RedirectError,
    TransportError,
    read_again,
)
from audit.http.client import encode_path as _path
from audit.model import AuthMethod

if TYPE_CHECKING:  # only the type: the Session is built and used in audit.http
    import requests

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
NO_REFRESH = ("passive mode never refreshes a token (a refresh writes an OAuth Bearer Token "
              "document)")
REFRESH_COOLDOWN_S = 60.0  # at most one OAuth refresh a minute: a new token that fails stays failed
_AUTH_HEADERS = ("Authorization", "Cookie", "X-Frappe-CSRF-Token")

def _never() -> bool:
    return False


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
        self._lost = ""
        key = user.api_key
        if key is not None and not looks_like_email(key.reveal()):
            REGISTRY.register(key)
        for secret in (user.api_secret, user.password, user.access_token, user.refresh_token):
            REGISTRY.register(secret)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, frappe_user={self.frappe_user!r})"

    @property
    def lost(self) -> str:
        """Why this identity can no longer be used in this run ("" while it can)."""
        with self._lock:
            return self._lost

    def _lose(self, reason: str) -> None:
        with self._lock:
            if not self._lost:
                log.warning("%s: %s; its remaining cells are errors", self.name, reason)
                self._lost = reason

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

    def failure(self, status: int | None, exc_type: str, cause: str, fix: str,
                cause_id: str = "") -> AuthFailure:
        return AuthFailure(user=self.name, method=self.method, status=status,
                           exc_type=exc_type, cause=cause, fix=fix, cause_id=cause_id)

    def failed(self, reply: FrappeReply) -> AuthFailed:
        found = explain_auth_reply(reply, self.method)
        return AuthFailed(self.failure(reply.status, reply.exc_type, found.cause, found.fix,
                                       found.cause_id))


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
            # Never re-sent, not even after a 429: Frappe logs the user in *before* its
            # rate limiter answers, so a second POST would be a second login (SPEC §0, §2.2).
            reply = client.request("POST", LOGIN_PATH,
                                   json={"usr": self.username, "pwd": self._password.reveal()},
                                   authenticate=False, recover=False, before_resend=_never)
        except TransportError:
            self._budget.record(self.username, ok=False)
            raise
        sid = reply.cookies.get("sid", "")
        opened = bool(sid) and sid != "Guest"
        # A 429 that carries a session cookie is a login that happened: use it (and log it
        # out at the end) rather than leave it open or log in again.
        ok = opened and reply.status in (200, 429)
        self._budget.record(self.username, ok=ok)
        if opened:
            self._sid = Secret(sid, source=f"{self.name}.sid")
            REGISTRY.register(self._sid)
            self._bump()
        if not ok:
            if opened:
                self.logout(client)
            if reply.status == 429:
                raise AuthFailed(self.failure(
                    429, reply.exc_type, "the login was answered 429 (rate limited) without a "
                    "session; it is not sent again, since Frappe processes a login before its "
                    "rate limiter", "run the audit when the site is less busy, or raise the "
                    "site's rate_limit"))
            raise self.failed(reply)
        if reply.status == 429:
            log.info("%s: the login was answered 429 but opened a session; using it", self.name)

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

    def __init__(self, user: UserConfig, *, may_refresh: bool = True) -> None:
        super().__init__(user)
        self._access = user.access_token
        self._refresh = user.refresh_token
        self.client_id = user.client_id
        self.may_refresh = may_refresh  # False in passive mode: a refresh writes a document
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
                if not self.may_refresh:
                    raise AuthFailed(self.failure(None, "", f"no access token, and {NO_REFRESH}",
                                                  "give a valid access_token, or run in safe "
                                                  "mode"))
                self._refresh_now(client)

    def failed(self, reply: FrappeReply) -> AuthFailed:
        refused = super().failed(reply)
        if reply.status != 401 or self.may_refresh:
            return refused
        # passive: the token was refused and is not refreshed; say so, and what would help
        fix = "issue a new access token"
        if self.can_refresh:
            fix += ", or run in safe mode (it refreshes the token, writing a new one)"
        return AuthFailed(replace(refused.failure, cause=f"{refused.failure.cause}; {NO_REFRESH}",
                                  fix=fix))

    def recover(self, client: FrappeClient, reply: FrappeReply, generation: int) -> bool:
        if reply.status == 401 and not self.may_refresh:
            self._lose(f"the OAuth access token was refused (401: expired or revoked) and "
                       f"{NO_REFRESH}")
            return False
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
        for key, value in body.items():  # every credential the reply carries (an id_token)
            if isinstance(value, str) and "token" in key.lower() and key != "token_type":
                REGISTRY.register(value)
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


def make_identity(user: UserConfig, budget: LoginBudget, *, may_refresh: bool = True) -> Identity:
    if user.auth is AuthMethod.TOKEN:
        return TokenIdentity(user)
    if user.auth is AuthMethod.BASIC:
        return BasicIdentity(user)
    if user.auth is AuthMethod.PASSWORD:
        return PasswordIdentity(user, budget)
    return OAuthIdentity(user, may_refresh=may_refresh)


def connect(user: UserConfig, base_url: str, options: ClientOptions,
            limiter: RateLimiter | None, budget: LoginBudget, *,
            may_refresh: bool = True) -> FrappeClient:
    """An authenticated client for ``user``, whose ``identity.frappe_user`` is known.

    ``may_refresh=False`` (passive mode) forbids OAuth refreshes: a refresh writes an
    ``OAuth Bearer Token`` document. Raises :class:`AuthFailed` with a classified cause and fix;
    :class:`~audit.http.client.InsecureURLError` is a usage error and passes through.
    """
    identity = make_identity(user, budget, may_refresh=may_refresh)
    client = FrappeClient(base_url, options, identity, limiter)
    try:
        identity.login(client)
        # a 5xx is the server, not the credential: the check (a GET) is asked again
        reply = read_again(lambda: client.call(LOGGED_USER))
        if reply.ok and reply.message and reply.message != "Guest":
            identity.frappe_user = reply.message
            return client
        failure = identity.failed(reply).failure
        if reply.status == 401 and user.basic_with_email:
            failure = identity.failure(reply.status, reply.exc_type, BASIC_EMAIL_CAUSE,
                                       BASIC_EMAIL_FIX, "basic-email-password")
        raise AuthFailed(failure)
    except TransportError as exc:
        cause, fix = classify_transport_error(exc)
        _abandon(client)
        status = exc.status if isinstance(exc, RedirectError) else None
        cause_id = "redirect-dropped-auth" if isinstance(exc, RedirectError) else ""
        raise AuthFailed(identity.failure(status, "", cause, fix, cause_id)) from None
    except BaseException:
        _abandon(client)  # AuthFailed, Ctrl-C, a bug: a session opened is still closed
        raise


def _abandon(client: FrappeClient) -> None:
    """Log out whatever session the identity opened (best effort), then close."""
    try:
        client.identity.logout(client)
    except Exception as exc:  # the original error is the one to report
        log.debug("%s: logout after a failed connect: %s", client.identity.name, exc)
    finally:
        client.close()
