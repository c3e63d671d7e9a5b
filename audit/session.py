"""The run's session holder: one authenticated client per user, the auditor's, and their end.

It owns every client of a run (each with its own Session per thread), the shared rate
limiter and the login budget; ``close`` logs password users out. Nothing here decides
what to probe: that is :mod:`audit.pipeline`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from audit.auth.identities import AuthFailed, AuthFailure, LoginBudget, connect
from audit.config.loader import AuditConfig, UserConfig
from audit.crawl.inventory import UserFacts
from audit.crawl.probes import UserContext
from audit.http.client import (
    ClientOptions,
    FrappeClient,
    RateLimiter,
    TransportError,
    resource_path,
)

Echo = Callable[[str], None]
log = logging.getLogger(__name__)
GIVE_UP_AFTER = 2  # accounts tried without any reply before the site is called unreachable


class SiteUnreachable(Exception):
    """No reply came from the site for any account (one plain sentence; exit 3)."""


class AuditSession:
    """The clients of one run: authenticates each user once, closes (and logs out) at the end."""

    def __init__(self, config: AuditConfig, users: Sequence[UserConfig], warn: Echo, *,
                 ca_bundle: str | None = None, allow_insecure: bool = False,
                 may_refresh: bool = True) -> None:
        self.config = config
        self.may_refresh = may_refresh  # False in passive mode: no OAuth refresh
        self.users = tuple(users)
        self.warn = warn
        crawl = config.crawl
        self.options = ClientOptions.from_config(
            config.site, ca_bundle=ca_bundle, allow_insecure=allow_insecure,
            pool_size=crawl.concurrency + 2)
        self.limiter = RateLimiter(crawl.rate_limit, crawl.concurrency)
        self.budget = LoginBudget()
        self.clients: list[FrappeClient] = []
        self.auditor: FrappeClient | None = None
        self.contexts: list[UserContext] = []
        self.failures: dict[str, AuthFailure] = {}
        self._no_reply: list[AuthFailure] = []  # failures where no HTTP reply came
        self._tried = 0

    def __enter__(self) -> AuditSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _connect(self, user: UserConfig) -> FrappeClient:
        self._tried += 1
        try:
            client = connect(user, self.config.site.url, self.options, self.limiter, self.budget,
                             may_refresh=self.may_refresh)
        except AuthFailed as exc:
            # connect() turns a TransportError into AuthFailed; the context keeps it
            if isinstance(exc.__context__, TransportError) and exc.failure.status is None:
                self._no_reply.append(exc.failure)
            raise
        self.clients.append(client)
        return client

    def authenticate(self) -> None:
        """One login per account; raises :class:`SiteUnreachable` when no reply came at all
        (then nothing else is said: one line, not one per user). The first two accounts
        tried both without any reply (each after its retries) are enough to say so: the
        others would each wait as long again (minutes, when every attempt times out)."""
        said: list[str] = []
        if self.config.auditor is not None:
            try:
                self.auditor = self._connect(self.config.auditor)
            except AuthFailed as exc:
                said.append(f"the [auditor] account could not authenticate ({exc.failure.cause}); "
                          "discovery continues without it")
        for user in self.users:
            if self._tried >= GIVE_UP_AFTER:
                self._check_reachable()
            try:
                client = self._connect(user)
            except AuthFailed as exc:
                self.failures[user.name] = exc.failure
                said.append(f"user {user.name!r} could not authenticate: {exc.failure.cause}")
                continue
            who = client.identity.frappe_user or ""
            self.contexts.append(UserContext(name=user.name, frappe_user=who, client=client,
                                             facts=UserFacts(frappe_user=who)))
        self._check_reachable()
        for line in said:
            self.warn(line)

    def _check_reachable(self) -> None:
        """SiteUnreachable when no account tried so far got any reply."""
        if self._tried and len(self._no_reply) == self._tried:
            first = self._no_reply[0]
            raise SiteUnreachable(f"{first.cause} ({first.fix})")

    @property
    def meta_client(self) -> FrappeClient | None:
        """Who reads DocType metadata: the auditor, else the first authenticated user."""
        return self.auditor or (self.contexts[0].client if self.contexts else None)

    def failure_text(self, name: str) -> str:
        failure = self.failures.get(name)
        return f"{failure.cause} -> {failure.fix}" if failure else ""

    def read_stored(self, ctx: UserContext, doctype: str, name: str) -> dict[str, Any] | None:
        """The document as stored right now, read by the auditor or else by the user."""
        for client in (c for c in (self.auditor, ctx.client) if c is not None):
            reply = client.get(resource_path(doctype, name))
            if reply.status == 200 and isinstance(reply.data, dict):
                return reply.data
        return None

    def close(self) -> None:
        for client in self.clients:
            try:
                client.identity.logout(client)
            except (TransportError, AuthFailed) as exc:  # best effort, at the very end
                log.debug("logout of %s: %s", client.identity.name, exc)
            client.close()
        self.clients.clear()
