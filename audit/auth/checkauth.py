"""``permaudit check-auth``: authenticate every configured user once, say who Frappe sees.

The auditor account is not part of it. Password users log in once and log out again
(the same one-attempt budget as a run). Under ``mode = "passive"`` an expired OAuth token
is reported, never refreshed (a refresh writes an OAuth Bearer Token document).
"""

from __future__ import annotations

from dataclasses import dataclass

from tabulate import tabulate

from audit.auth.identities import AuthFailed, AuthFailure, LoginBudget, connect
from audit.config.loader import AuditConfig
from audit.config.secrets import REGISTRY
from audit.http.client import ClientOptions, RateLimiter
from audit.model import AuthMethod, Mode
from audit.status import ExitCode


@dataclass(frozen=True)
class AuthCheck:
    user: str  # the config name
    method: AuthMethod
    frappe_user: str | None
    failure: AuthFailure | None

    @property
    def ok(self) -> bool:
        return self.failure is None


def check_auth(config: AuditConfig, options: ClientOptions) -> list[AuthCheck]:
    """One identity check per configured user, in config order."""
    budget = LoginBudget()
    limiter = RateLimiter(config.crawl.rate_limit, config.crawl.concurrency)
    checks: list[AuthCheck] = []
    may_refresh = config.crawl.mode is not Mode.PASSIVE
    for user in config.users:
        try:
            client = connect(user, config.site.url, options, limiter, budget,
                             may_refresh=may_refresh)
        except AuthFailed as exc:
            checks.append(AuthCheck(user.name, user.auth, None, exc.failure))
            continue
        try:
            checks.append(AuthCheck(user.name, user.auth, client.identity.frappe_user, None))
            client.identity.logout(client)
        finally:
            client.close()
    return checks


def describe_failure(failure: AuthFailure) -> str:
    """``FAILED 401 AuthenticationError [wrong-secret]: <cause> -> <fix>``.

    The bracket holds the cause's catalogue id (``permaudit explain`` says more about it).
    """
    head = "FAILED"
    if failure.status is not None:
        head += f" {failure.status}"
    if failure.exc_type:
        head += f" {failure.exc_type}"
    if failure.cause_id:
        head += f" [{failure.cause_id}]"
    return f"{head}: {failure.cause} -> {failure.fix}"


def render_check_auth(checks: list[AuthCheck]) -> str:
    """One line per user: ``name  method  frappe-user`` or ``name  method  FAILED ...``."""
    rows = [
        [c.user, c.method.value,
         c.frappe_user if c.failure is None else describe_failure(c.failure)]
        for c in checks
    ]
    return REGISTRY.mask(tabulate(rows, tablefmt="plain", disable_numparse=True))


def check_auth_exit_code(checks: list[AuthCheck]) -> ExitCode:
    """0 when every user authenticated, 1 when some failed, 3 when none did."""
    passed = sum(1 for c in checks if c.ok)
    if checks and passed == len(checks):
        return ExitCode.OK
    if passed:
        return ExitCode.FINDINGS
    return ExitCode.UNREACHABLE
