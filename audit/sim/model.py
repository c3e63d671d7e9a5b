"""The in-memory data of a simulated Frappe 15 site.

Fixtures (``audit.sim.fixtures.reference`` and ``audit.sim.fixtures.demo``) build a
:class:`SiteData` out of these dataclasses; the WSGI application and the permission
engine read and change it. Nothing here speaks HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RIGHTS: tuple[str, ...] = (
    "select", "read", "write", "create", "delete", "submit", "cancel", "amend",
    "print", "email", "report", "import", "export", "share",
)


@dataclass
class FieldDef:
    fieldname: str
    fieldtype: str  # Data, Link, Select, Table, Currency, Int, Check, Small Text, Date, ...
    label: str = ""
    options: str = ""  # Link target / Table child DocType / Select options ("\n"-joined)
    reqd: bool = False
    unique: bool = False
    permlevel: int = 0
    fetch_from: str = ""
    ignore_user_permissions: bool = False
    default: str | None = None
    length: int = 0  # 0: the type's default (140 for Data)
    allow_on_submit: bool = False
    read_only: bool = False
    is_virtual: bool = False  # computed by the controller, never stored

    @property
    def title(self) -> str:
        return self.label or self.fieldname.replace("_", " ").title()


@dataclass
class PermRule:
    """One DocPerm / Custom DocPerm row."""

    role: str
    permlevel: int = 0
    if_owner: bool = False
    rights: frozenset[str] = frozenset()
    name: str = ""  # the row name (a 10-character hash); filled in when empty
    creation: str = ""
    modified: str = ""

    def grants(self, right: str) -> bool:
        return right in self.rights


@dataclass
class DocTypeDef:
    name: str
    module: str = "Core"
    fields: list[FieldDef] = field(default_factory=list)
    permissions: list[PermRule] = field(default_factory=list)  # the standard DocPerm rows
    istable: bool = False
    issingle: bool = False
    is_submittable: bool = False
    is_tree: bool = False
    is_virtual: bool = False
    custom: bool = False
    track_changes: bool = False
    # "hash", "autoincrement", "field:<fieldname>", "Prompt", "naming_series:", "format:..."
    autoname: str = "hash"
    app: str = "frappe"
    # Frappe core hooks modelled by the simulator: "todo" (allocated_to / assigned_by query
    # condition and doc hook), "note" (public / owner), "user" (own record, hides Administrator)
    hook: str = ""
    # controller behaviours of audit.sim.controllers (hazards a safe probe must survive):
    # "sets_read_only" (before_insert fills every read-only field, like Document Share Key),
    # "coerces_values", "returns_existing" (see the module)
    controller: str = ""
    allow_import: bool = False
    allow_rename: bool = False
    # a controller that fails with a Python error (500) on insert: "before_create_check"
    # (it overrides insert(), as Submission Queue does) or "after_create_check" (its
    # before_insert / validate chokes on the probe value, as File and Prepared Report do)
    controller_failure: str = ""
    title_field: str = ""
    creation: str = ""
    modified: str = ""

    def field(self, fieldname: str) -> FieldDef | None:
        for f in self.fields:
            if f.fieldname == fieldname:
                return f
        return None


@dataclass
class UserDef:
    name: str  # the e-mail (Frappe's User name)
    full_name: str = ""
    enabled: bool = True
    user_type: str = "System User"  # or "Website User"
    roles: list[str] = field(default_factory=list)  # own Has Role rows (no automatic roles)
    api_key: str | None = None
    api_secret: str | None = None
    password: str | None = None
    restrict_ip: str = ""  # comma-separated prefixes
    login_before: int = 0  # hour 0-24, 0 = not set
    login_after: int = 0
    two_factor: bool = False  # 2FA applies to this user at password login
    password_expired: bool = False
    simultaneous_sessions: int = 2
    bypass_restrict_ip_check_if_2fa_enabled: bool = False
    creation: str = ""
    modified: str = ""
    last_login: str | None = None
    last_ip: str | None = None
    last_active: str | None = None
    social_userid: str = ""  # the OpenID ``sub``
    role_row_names: dict[str, str] = field(default_factory=dict)  # role -> Has Role row name


@dataclass
class UserPermission:
    user: str
    allow: str  # DocType
    for_value: str
    applicable_for: str = ""  # blank: every DocType
    apply_to_all_doctypes: bool = True
    is_default: bool = False
    hide_descendants: bool = False
    name: str = ""
    creation: str = ""
    modified: str = ""


@dataclass
class DocShare:
    share_doctype: str
    share_name: str
    user: str = ""
    everyone: bool = False
    read: bool = True
    write: bool = False
    submit: bool = False
    share: bool = False
    name: str = ""
    owner: str = "Administrator"
    creation: str = ""
    modified: str = ""
    notify_by_email: bool = True


@dataclass
class Document:
    doctype: str
    name: str
    owner: str = "Administrator"
    docstatus: int = 0
    creation: str = ""
    modified: str = ""
    modified_by: str = ""
    idx: int = 0
    # fieldname -> value (tables: list of dicts)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class OAuthClient:
    client_id: str
    app_name: str
    client_secret: str = ""
    scopes: str = "all openid"
    redirect_uris: str = ""
    default_redirect_uri: str = ""
    grant_type: str = "Authorization Code"
    response_type: str = "Code"
    skip_authorization: bool = False
    allowed_roles: tuple[str, ...] = ("Desk User",)


@dataclass
class OAuthToken:
    access_token: str
    refresh_token: str
    client: str
    user: str
    scopes: str = "all"
    expiration_time: float = 0.0  # epoch seconds
    status: str = "Active"  # or "Revoked"
    creation: float = 0.0  # epoch seconds
    expires_in: int = 3600


@dataclass
class SiteSettings:
    """The System Settings and site_config keys the simulator honours."""

    disable_user_pass_login: bool = False
    deny_multiple_sessions: bool = False
    force_user_to_reset_password: int = 0
    enable_two_factor_auth: bool = False
    allow_consecutive_login_attempts: int = 10
    allow_login_after_fail: int = 60
    apply_strict_user_permissions: bool = False
    disable_document_sharing: bool = False
    session_expiry_s: float = 170 * 3600
    allow_error_traceback: bool = True
    auth_hook_denies: tuple[str, ...] = ()  # path prefixes an installed auth hook refuses (401)
    redirect_to: str = ""  # answer every request with a 301 to this base URL (http -> https)
    report_roles: dict[str, tuple[str, ...]] = field(default_factory=dict)  # Report name -> roles
    bypass_restrict_ip_check_if_2fa_enabled: bool = False
    ignore_csrf: bool = False


@dataclass
class SiteData:
    """Everything one simulated site holds."""

    name: str  # the site name, matched against the Host header
    doctypes: dict[str, DocTypeDef] = field(default_factory=dict)
    custom_perms: dict[str, list[PermRule]] = field(default_factory=dict)  # Custom DocPerm rows
    roles: dict[str, bool] = field(default_factory=dict)  # role -> desk_access
    users: dict[str, UserDef] = field(default_factory=dict)
    user_permissions: list[UserPermission] = field(default_factory=list)
    shares: list[DocShare] = field(default_factory=list)
    # doctype -> name -> doc
    documents: dict[str, dict[str, Document]] = field(default_factory=dict)
    oauth_clients: dict[str, OAuthClient] = field(default_factory=dict)
    oauth_tokens: dict[str, OAuthToken] = field(default_factory=dict)
    settings: SiteSettings = field(default_factory=SiteSettings)
    # placeholder -> value for credentials that exist before any request (``--secrets-out``)
    secrets: dict[str, str] = field(default_factory=dict)
    series: dict[str, int] = field(default_factory=dict)  # naming series / autoincrement counters
    base_time: float = 0.0  # epoch seconds the fixture's timestamps start from
    # what controller hooks sent outside the database (mails, webhooks): never rolled back
    outbox: list[str] = field(default_factory=list)

    def effective_rules(self, doctype: str) -> list[PermRule]:
        """Custom DocPerm rows replace the standard ones when any exist (SPEC.md §3.2)."""
        custom = self.custom_perms.get(doctype)
        if custom:
            return custom
        dt = self.doctypes.get(doctype)
        return dt.permissions if dt else []

    def docs(self, doctype: str) -> dict[str, Document]:
        return self.documents.setdefault(doctype, {})
