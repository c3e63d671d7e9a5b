"""Per-site runtime state and the per-request context handed to every handler."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request

from audit.sim.errors import MessageLog
from audit.sim.journal import Journal, Transaction
from audit.sim.model import SiteData
from audit.sim.permissions import PermissionEngine
from audit.sim.store import Store


@dataclass
class Session:
    sid: str
    user: str
    created: float
    last_active: float
    ip: str = "127.0.0.1"
    csrf_token: str | None = None


@dataclass
class AuthCode:
    code: str
    client: str
    user: str
    scopes: str
    redirect_uri: str
    expires: float
    valid: bool = True
    nonce: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""


@dataclass
class Tracker:
    """One login-attempt counter (per user name or per IP), SPEC.md §2.8."""

    count: int = 0
    first_failure: float = 0.0


@dataclass
class PendingLogin:
    """A password login waiting for its second factor."""

    user: str
    expires: float
    otp: str


class SiteRuntime:
    """A site and everything the server keeps about it between requests."""

    def __init__(self, site: SiteData) -> None:
        self.site = site
        self.store = Store(site)
        self.engine = PermissionEngine(site, resolver=self.store.get, lister=self.store.all)
        self.sessions: dict[str, Session] = {}
        self.codes: dict[str, AuthCode] = {}
        self.trackers: dict[str, Tracker] = {}
        self.pending_logins: dict[str, PendingLogin] = {}
        self.journal = Journal()
        self.lock = threading.RLock()


@dataclass
class CookiePlan:
    """What ``CookieManager`` will send: the session cookies, deletions, or nothing."""

    values: dict[str, str] | None = None
    delete: bool = False
    suppressed: bool = False


@dataclass
class Ctx:
    """One request: who is asking, what they sent, what the reply will carry."""

    rt: SiteRuntime
    request: Request
    method: str
    path: str
    form: dict[str, Any]
    ip: str
    user: str = "Guest"
    session: Session | None = None
    auth_kind: str = "none"
    log: MessageLog = field(default_factory=MessageLog)
    response: dict[str, Any] = field(default_factory=dict)
    cookies: CookiePlan = field(default_factory=CookiePlan)
    tx: Transaction = field(default_factory=Transaction)
    disable_traceback: bool = False
    debug_messages: list[str] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    login_attempt: tuple[str, bool] | None = None

    @property
    def site(self) -> SiteData:
        return self.rt.site

    @property
    def store(self) -> Store:
        return self.rt.store

    @property
    def engine(self) -> PermissionEngine:
        return self.rt.engine

    def header(self, name: str, default: str = "") -> str:
        return self.request.headers.get(name, default)
