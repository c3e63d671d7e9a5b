"""Writes to the system views go back into the site's structures.

Each change registers its undo with the request's transaction, so a request that fails
later leaves the site as it was.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from audit.sim.errors import ValidationError
from audit.sim.journal import Transaction
from audit.sim.model import (
    RIGHTS,
    DocShare,
    Document,
    PermRule,
    SiteSettings,
    UserDef,
    UserPermission,
)
from audit.sim.util import full_name_of

if TYPE_CHECKING:
    from audit.sim.views import Views

DEV_MODE = "Not in Developer Mode! Set in site_config.json or make 'Custom' DocType."


def _snapshot(views: Views, tx: Transaction) -> None:
    """Remember the structures a view write may change (cheap: they are small)."""
    site = views.site
    saved = (copy.deepcopy(site.users), copy.deepcopy(site.user_permissions),
             copy.deepcopy(site.shares), copy.deepcopy(site.custom_perms), dict(site.roles),
             copy.deepcopy(site.settings), copy.deepcopy(site.oauth_tokens),
             copy.deepcopy(site.documents.get("System Settings", {})))

    def restore() -> None:
        (site.users, site.user_permissions, site.shares, site.custom_perms, site.roles,
         site.settings, site.oauth_tokens, singles) = saved
        site.documents["System Settings"] = singles

    tx.on_rollback(restore)


def _flag(values: dict[str, Any], key: str) -> bool:
    return bool(int(values.get(key) or 0))


def _rule(values: dict[str, Any], name: str) -> PermRule:
    return PermRule(role=values.get("role") or "", permlevel=int(values.get("permlevel") or 0),
                    if_owner=_flag(values, "if_owner"),
                    rights=frozenset(r for r in RIGHTS if _flag(values, r)), name=name)


def _user_permission(doc: Document) -> UserPermission:
    v = doc.values
    return UserPermission(user=v.get("user") or "", allow=v.get("allow") or "",
                          for_value=v.get("for_value") or "",
                          applicable_for=v.get("applicable_for") or "",
                          apply_to_all_doctypes=_flag(v, "apply_to_all_doctypes"),
                          is_default=_flag(v, "is_default"),
                          hide_descendants=_flag(v, "hide_descendants"), name=doc.name,
                          creation=doc.creation, modified=doc.modified)


def _share(doc: Document) -> DocShare:
    v = doc.values
    return DocShare(share_doctype=v.get("share_doctype") or "",
                    share_name=v.get("share_name") or "", user=v.get("user") or "",
                    everyone=_flag(v, "everyone"), read=True, write=_flag(v, "write"),
                    submit=_flag(v, "submit"), share=_flag(v, "share"), name=doc.name,
                    owner=doc.owner, creation=doc.creation, modified=doc.modified,
                    notify_by_email=_flag(v, "notify_by_email"))


def _apply_user(u: UserDef, doc: Document) -> None:
    v = doc.values
    u.enabled = _flag(v, "enabled") if "enabled" in v else u.enabled
    u.user_type = v.get("user_type") or u.user_type
    u.full_name = v.get("full_name") or u.full_name
    u.restrict_ip = v.get("restrict_ip") or ""
    u.login_after = int(v.get("login_after") or 0)
    u.login_before = int(v.get("login_before") or 0)
    u.simultaneous_sessions = int(v.get("simultaneous_sessions") or 2)
    u.bypass_restrict_ip_check_if_2fa_enabled = _flag(v, "bypass_restrict_ip_check_if_2fa_enabled")
    if isinstance(v.get("roles"), list):
        u.roles = [str(r["role"]) for r in v["roles"] if isinstance(r, dict) and r.get("role")]
        u.role_row_names = {r["role"]: r["name"] for r in v["roles"]
                            if isinstance(r, dict) and r.get("role") and r.get("name")}
    new_password = v.get("new_password")
    if new_password:
        u.password = new_password
    u.modified = doc.modified


def _apply_settings(settings: SiteSettings, values: dict[str, Any]) -> None:
    for key in ("disable_user_pass_login", "deny_multiple_sessions",
                "enable_two_factor_auth", "apply_strict_user_permissions",
                "disable_document_sharing", "allow_error_traceback",
                "bypass_restrict_ip_check_if_2fa_enabled"):
        if key in values:
            setattr(settings, key, _flag(values, key))
    for key in ("allow_consecutive_login_attempts", "allow_login_after_fail",
                "force_user_to_reset_password"):
        if key in values:
            setattr(settings, key, int(values.get(key) or 0))


def apply_insert(views: Views, doc: Document, tx: Transaction) -> None:
    _snapshot(views, tx)
    site = views.site
    dt = doc.doctype
    if dt == "User Permission":
        site.user_permissions.append(_user_permission(doc))
    elif dt == "DocShare":
        site.shares.append(_share(doc))
    elif dt == "Custom DocPerm":
        parent = doc.values.get("parent") or ""
        site.custom_perms.setdefault(parent, []).append(_rule(doc.values, doc.name))
    elif dt == "Role":
        site.roles[doc.name] = _flag(doc.values, "desk_access") if "desk_access" in \
            doc.values else True
    elif dt == "User":
        u = UserDef(name=doc.name, full_name=full_name_of(doc.name), creation=doc.creation)
        _apply_user(u, doc)
        site.users[doc.name] = u
    else:
        raise ValidationError(DEV_MODE if dt == "DocType" else f"Cannot create {dt} here")


def apply_update(views: Views, doc: Document, tx: Transaction) -> None:
    _snapshot(views, tx)
    site = views.site
    dt = doc.doctype
    if dt == "User Permission":
        site.user_permissions = [_user_permission(doc) if u.name == doc.name else u
                                 for u in site.user_permissions]
    elif dt == "DocShare":
        site.shares = [_share(doc) if s.name == doc.name else s for s in site.shares]
    elif dt == "Custom DocPerm":
        for rules in site.custom_perms.values():
            for i, rule in enumerate(rules):
                if rule.name == doc.name:
                    rules[i] = _rule(doc.values, doc.name)
    elif dt == "Role":
        site.roles[doc.name] = _flag(doc.values, "desk_access")
    elif dt == "User":
        u = site.users.get(doc.name)
        if u is None:
            raise ValidationError("Cannot edit standard users")
        _apply_user(u, doc)
    elif dt == "System Settings":
        _apply_settings(site.settings, doc.values)
        stored = site.docs("System Settings")
        stored["System Settings"] = Document(doctype="System Settings", name="System Settings",
                                             values=dict(doc.values))
    elif dt == "OAuth Bearer Token":
        token = site.oauth_tokens.get(doc.name)
        if token is not None:
            token.status = doc.values.get("status") or token.status
    else:
        raise ValidationError(DEV_MODE if dt == "DocType" else f"Cannot edit {dt} here")


def apply_delete(views: Views, doc: Document, tx: Transaction) -> None:
    _snapshot(views, tx)
    site = views.site
    dt = doc.doctype
    if dt == "User Permission":
        site.user_permissions = [u for u in site.user_permissions if u.name != doc.name]
    elif dt == "DocShare":
        site.shares = [s for s in site.shares if s.name != doc.name]
    elif dt == "Custom DocPerm":
        for parent, rules in list(site.custom_perms.items()):
            site.custom_perms[parent] = [r for r in rules if r.name != doc.name]
            if not site.custom_perms[parent]:
                del site.custom_perms[parent]
    elif dt == "Role":
        site.roles.pop(doc.name, None)
        for u in site.users.values():
            u.roles = [r for r in u.roles if r != doc.name]
    elif dt == "User":
        site.users.pop(doc.name, None)
        site.shares = [s for s in site.shares if s.user != doc.name]
        site.user_permissions = [u for u in site.user_permissions if u.user != doc.name]
    elif dt == "OAuth Bearer Token":
        site.oauth_tokens.pop(doc.name, None)
    else:
        raise ValidationError(DEV_MODE if dt == "DocType" else f"Cannot delete {dt} here")
