"""System DocTypes shown as documents built from the site's structures.

DocType (with DocField / DocPerm rows), Custom DocPerm, Role, User (with Has Role and User
Social Login rows), User Permission, DocShare, OAuth Client, OAuth Bearer Token, System
Settings and the virtual Permission Inspector are not stored as documents: they are
rebuilt from ``SiteData`` on every read, and writes go back into those structures
(``viewwrite.py``). The engine and the REST replies can therefore never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audit.sim.journal import Transaction
from audit.sim.model import RIGHTS, DocTypeDef, Document, PermRule, SiteData, UserDef
from audit.sim.util import fmt_time, stable_name

SYSTEM_SETTINGS_BASE: dict[str, Any] = {
    "app_name": "Frappe", "country": "India", "language": "en", "time_zone": "UTC",
    "enable_onboarding": 0, "setup_complete": 1, "date_format": "yyyy-mm-dd",
    "time_format": "HH:mm:ss", "number_format": "#,###.##",
    "use_number_format_from_currency": 0, "first_day_of_the_week": "Sunday",
    "float_precision": "", "currency_precision": "",
    "rounding_method": "Banker's Rounding (legacy)", "allow_older_web_view_links": 0,
    "document_share_key_expiry": 30, "allow_login_using_mobile_number": 0,
    "allow_login_using_user_name": 0, "login_with_email_link": 1,
    "login_with_email_link_expiry": 10, "rate_limit_email_link_login": 0,
    "bypass_2fa_for_retricted_ip_users": 0, "two_factor_method": "OTP App",
    "lifespan_qrcode_image": 0, "otp_issuer_name": "Frappe Framework",
    "logout_on_password_reset": 1, "reset_password_link_expiry_duration": "1200",
    "password_reset_limit": 3, "enable_password_policy": 1, "minimum_password_score": "2",
    "email_retry_limit": 3, "disable_standard_email_footer": 0,
    "hide_footer_in_auto_email_reports": 0, "attach_view_link": 1,
    "store_attached_pdf_document": 1, "max_file_size": 0, "allow_guests_to_upload_files": 0,
    "force_web_capture_mode_for_uploads": 0, "strip_exif_metadata_from_uploaded_images": 1,
    "disable_system_update_notification": 0, "disable_change_log_notification": 0,
    "backup_limit": 3, "encrypt_backup": 0, "max_auto_email_report_per_user": 20,
    "enable_scheduler": 0, "dormant_days": 4, "enable_telemetry": 1,
    "link_field_results_limit": 10,
}

USER_DEFAULTS: dict[str, Any] = {
    "language": "en", "time_zone": "UTC", "send_welcome_email": 0, "unsubscribed": 0,
    "mute_sounds": 0, "desk_theme": "Light", "search_bar": 1, "notifications": 1,
    "list_sidebar": 1, "bulk_actions": 1, "view_switcher": 1, "form_sidebar": 1,
    "timeline": 1, "dashboard": 1, "new_password": "", "logout_all_sessions": 1,
    "document_follow_notify": 0, "document_follow_frequency": "Daily",
    "follow_created_documents": 0, "follow_commented_documents": 0,
    "follow_liked_documents": 0, "follow_assigned_documents": 0,
    "follow_shared_documents": 0, "thread_notify": 1, "send_me_a_copy": 0,
    "allowed_in_mentions": 1, "onboarding_status": "{}",
}


def flags(rule: PermRule) -> dict[str, int]:
    return {r: int(r in rule.rights) for r in RIGHTS}


class Views:
    """Builds the documents of the system DocTypes from ``SiteData``."""

    def __init__(self, site: SiteData) -> None:
        self.site = site
        self._builders: dict[str, Callable[[], list[Document]]] = {
            "DocType": self._doctypes,
            "Custom DocPerm": self._custom_perms,
            "Role": self._roles,
            "User": self._users,
            "User Permission": self._user_permissions,
            "DocShare": self._shares,
            "OAuth Client": self._oauth_clients,
            "OAuth Bearer Token": self._oauth_tokens,
        }
        self._singles: dict[str, Callable[[], Document]] = {
            "System Settings": self._system_settings,
            "Permission Inspector": self._inspector,
        }

    def handles(self, doctype: str) -> bool:
        return doctype in self._builders or doctype in self._singles

    def base_stamp(self, offset: float = 0.0) -> str:
        return fmt_time(self.site.base_time + offset)

    def all(self, doctype: str) -> list[Document]:
        if doctype in self._singles:
            return [self._singles[doctype]()]
        return self._builders[doctype]()

    def get(self, doctype: str, name: str) -> Document | None:
        if doctype in self._singles:
            return self._singles[doctype]()
        if doctype == "User" and not self._users_only_exact(name):
            name = self._user_canonical(name)
        lowered = str(name).lower()
        docs = self._builders[doctype]()
        return next((d for d in docs if d.name == name), None) or next(
            (d for d in docs if str(d.name).lower() == lowered), None)

    def _users_only_exact(self, name: str) -> bool:
        return name in self.site.users

    def _user_canonical(self, name: str) -> str:
        lowered = name.lower()
        return next((u for u in self.site.users if u.lower() == lowered), name)

    # ---- writes are delegated to viewwrite (imported late: it imports this module) ---------
    def insert(self, doc: Document, tx: Transaction) -> None:
        from audit.sim.viewwrite import apply_insert
        apply_insert(self, doc, tx)

    def update(self, doc: Document, tx: Transaction) -> None:
        from audit.sim.viewwrite import apply_update
        apply_update(self, doc, tx)

    def delete(self, doc: Document, tx: Transaction) -> None:
        from audit.sim.viewwrite import apply_delete
        apply_delete(self, doc, tx)

    # ---- DocType ---------------------------------------------------------------------------
    def _doctypes(self) -> list[Document]:
        return [self.doctype_doc(dt) for dt in self.site.doctypes.values()]

    def doctype_doc(self, dt: DocTypeDef) -> Document:
        stamp_c = dt.creation or self.base_stamp(-3600)
        stamp_m = dt.modified or stamp_c
        rows_f = [self._docfield_row(dt, i, f) for i, f in enumerate(dt.fields, 1)]
        rows_p = [self._docperm_row(dt, i, r) for i, r in enumerate(dt.permissions, 1)]
        values: dict[str, Any] = {
            "module": dt.module, "is_submittable": int(dt.is_submittable),
            "istable": int(dt.istable), "issingle": int(dt.issingle), "editable_grid": 1,
            "quick_entry": 0, "track_changes": int(dt.track_changes), "track_seen": 0,
            "track_views": 0, "custom": int(dt.custom), "beta": 0, "fields": rows_f,
            "autoname": dt.autoname, "max_attachments": 0, "hide_toolbar": 0,
            "allow_copy": 0, "allow_rename": int(dt.allow_rename),
            "allow_import": int(dt.allow_import), "title_field": dt.title_field or None,
            "sort_field": "modified", "sort_order": "DESC", "document_type": "",
            "permissions": rows_p, "read_only": 0, "in_create": 0, "engine": "InnoDB",
            "is_tree": int(dt.is_tree), "is_virtual": int(dt.is_virtual),
            "naming_rule": naming_rule(dt.autoname), "index_web_pages_for_search": 1,
        }
        return Document(doctype="DocType", name=dt.name, owner="Administrator",
                        creation=stamp_c, modified=stamp_m, modified_by="Administrator",
                        values=values)

    @staticmethod
    def _docfield_row(dt: DocTypeDef, idx: int, f: Any) -> dict[str, Any]:
        return {"name": stable_name("DocField", dt.name, f.fieldname), "idx": idx,
                "fieldname": f.fieldname, "label": f.title, "fieldtype": f.fieldtype,
                "options": f.options or None, "reqd": int(f.reqd), "unique": int(f.unique),
                "permlevel": f.permlevel, "fetch_from": f.fetch_from or None,
                "ignore_user_permissions": int(f.ignore_user_permissions),
                "length": f.length, "read_only": int(f.read_only),
                "is_virtual": int(f.is_virtual),
                "allow_on_submit": int(f.allow_on_submit), "default": f.default}

    def _docperm_row(self, dt: DocTypeDef, idx: int, rule: PermRule) -> dict[str, Any]:
        if not rule.name:
            rule.name = stable_name("DocPerm", dt.name, str(idx), rule.role)
        row: dict[str, Any] = {"name": rule.name, "idx": idx, "permlevel": rule.permlevel,
                               "role": rule.role, "match": None}
        row.update(flags(rule))
        row["if_owner"] = int(rule.if_owner)
        return row

    # ---- Custom DocPerm --------------------------------------------------------------------
    def _custom_perms(self) -> list[Document]:
        out = []
        for parent, rules in self.site.custom_perms.items():
            for idx, rule in enumerate(rules):
                out.append(self.custom_perm_doc(parent, idx, rule))
        return out

    def custom_perm_doc(self, parent: str, idx: int, rule: PermRule) -> Document:
        if not rule.name:
            rule.name = stable_name("Custom DocPerm", parent, str(idx), rule.role)
        stamp = rule.creation or self.base_stamp(-3500)
        values: dict[str, Any] = {"parent": parent, "role": rule.role,
                                  "if_owner": int(rule.if_owner), "permlevel": rule.permlevel}
        values.update(flags(rule))
        return Document(doctype="Custom DocPerm", name=rule.name, owner="Administrator",
                        creation=stamp, modified=rule.modified or stamp,
                        modified_by="Administrator", idx=idx, values=values)

    # ---- Role ------------------------------------------------------------------------------
    def _roles(self) -> list[Document]:
        names = list(self.site.roles)
        for auto in ("Administrator", "All", "Desk User", "Guest"):
            if auto not in self.site.roles:
                names.append(auto)
        out = []
        for name in names:
            desk = self.site.roles.get(name, name != "Guest")
            out.append(Document(
                doctype="Role", name=name, owner="Administrator", creation=self.base_stamp(-3590),
                modified=self.base_stamp(-3590), modified_by="Administrator",
                values={"role_name": name, "disabled": 0, "desk_access": int(bool(desk)),
                        "two_factor_auth": 0, "is_custom": 0}))
        return out

    # ---- User ------------------------------------------------------------------------------
    def user_defs(self) -> list[UserDef]:
        users = list(self.site.users.values())
        known = {u.name for u in users}
        for std in ("Administrator", "Guest"):
            if std not in known:
                users.append(UserDef(name=std, full_name=std,
                                     roles=["Administrator"] if std == "Administrator"
                                     else ["Guest"]))
        return users

    def _users(self) -> list[Document]:
        return [self.user_doc(u) for u in self.user_defs()]

    def user_doc(self, u: UserDef) -> Document:
        stamp_c = u.creation or self.base_stamp(-3000)
        stamp_m = u.modified or stamp_c
        first = (u.full_name or u.name).split(" ")[0]
        values: dict[str, Any] = {"enabled": int(u.enabled), "email": u.name if "@" in u.name
                                  else f"{u.name.lower()}@example.com",
                                  "first_name": first, "full_name": u.full_name or u.name,
                                  "username": u.name.split("@")[0].lower()}
        values.update(USER_DEFAULTS)
        values.update({
            "simultaneous_sessions": u.simultaneous_sessions, "last_ip": u.last_ip,
            "login_after": u.login_after, "user_type": u.user_type,
            "last_active": u.last_active, "login_before": u.login_before,
            "bypass_restrict_ip_check_if_2fa_enabled":
                int(u.bypass_restrict_ip_check_if_2fa_enabled),
            "last_login": u.last_login, "api_key": u.api_key,
            "api_secret": "*" * len(u.api_secret) if u.api_secret else None,
            "restrict_ip": u.restrict_ip or None,
            "defaults": [], "user_emails": [], "block_modules": [],
        })
        values["social_logins"] = [{
            "name": stable_name("User Social Login", u.name), "idx": 1, "provider": "frappe",
            "userid": u.social_userid or stable_name("sub", u.name, length=40),
            "creation": stamp_c, "modified": stamp_m, "owner": "Administrator",
            "modified_by": "Administrator"}]
        values["roles"] = [{
            "name": u.role_row_names.get(role) or stable_name("Has Role", u.name, role),
            "idx": i, "role": role, "creation": stamp_c, "modified": stamp_m,
            "owner": "Administrator", "modified_by": "Administrator"}
            for i, role in enumerate(u.roles, 1)]
        return Document(doctype="User", name=u.name, owner="Administrator", creation=stamp_c,
                        modified=stamp_m, modified_by="Administrator", values=values)

    # ---- User Permission / DocShare --------------------------------------------------------
    def _user_permissions(self) -> list[Document]:
        out = []
        for up in self.site.user_permissions:
            if not up.name:
                up.name = stable_name("User Permission", up.user, up.allow, up.for_value)
            stamp = up.creation or self.base_stamp()
            out.append(Document(
                doctype="User Permission", name=up.name, owner="Administrator", creation=stamp,
                modified=up.modified or stamp, modified_by="Administrator",
                values={"user": up.user, "allow": up.allow, "for_value": up.for_value,
                        "is_default": int(up.is_default),
                        "apply_to_all_doctypes": int(up.apply_to_all_doctypes),
                        "applicable_for": up.applicable_for or None,
                        "hide_descendants": int(up.hide_descendants)}))
        return out

    def _shares(self) -> list[Document]:
        out = []
        for s in self.site.shares:
            if not s.name:
                s.name = stable_name("DocShare", s.user, s.share_doctype, s.share_name)
            stamp = s.creation or self.base_stamp()
            out.append(Document(
                doctype="DocShare", name=s.name, owner=s.owner, creation=stamp,
                modified=s.modified or stamp, modified_by=s.owner,
                values={"user": s.user or None, "share_doctype": s.share_doctype,
                        "share_name": s.share_name, "read": int(s.read), "write": int(s.write),
                        "share": int(s.share), "submit": int(s.submit),
                        "everyone": int(s.everyone), "notify_by_email": int(s.notify_by_email)}))
        return out

    # ---- OAuth -----------------------------------------------------------------------------
    def _oauth_clients(self) -> list[Document]:
        out = []
        for c in self.site.oauth_clients.values():
            out.append(Document(
                doctype="OAuth Client", name=c.client_id, owner="Administrator",
                creation=self.base_stamp(), modified=self.base_stamp(),
                modified_by="Administrator",
                values={"client_id": c.client_id, "app_name": c.app_name,
                        "user": "Administrator", "client_secret": c.client_secret,
                        "skip_authorization": int(c.skip_authorization), "scopes": c.scopes,
                        "redirect_uris": c.redirect_uris,
                        "default_redirect_uri": c.default_redirect_uri,
                        "grant_type": c.grant_type, "response_type": c.response_type,
                        "allowed_roles": [{"name": stable_name("OAuth Client Role", c.client_id,
                                                               r), "idx": i, "role": r}
                                          for i, r in enumerate(c.allowed_roles, 1)]}))
        return out

    def _oauth_tokens(self) -> list[Document]:
        out = []
        for t in self.site.oauth_tokens.values():
            stamp = fmt_time(t.creation or self.site.base_time)
            out.append(Document(
                doctype="OAuth Bearer Token", name=t.access_token, owner=t.user, creation=stamp,
                modified=stamp, modified_by=t.user,
                values={"client": t.client, "user": t.user, "scopes": t.scopes,
                        "access_token": t.access_token, "refresh_token": t.refresh_token,
                        "expiration_time": fmt_time(t.expiration_time),
                        "expires_in": t.expires_in, "status": t.status}))
        return out

    # ---- Singles ---------------------------------------------------------------------------
    def _system_settings(self) -> Document:
        st = self.site.settings
        values = dict(SYSTEM_SETTINGS_BASE)
        stored = self.site.documents.get("System Settings", {}).get("System Settings")
        if stored is not None:
            values.update(stored.values)
        hours = int(st.session_expiry_s // 3600)
        minutes = int(st.session_expiry_s % 3600 // 60)
        values.update({
            "disable_document_sharing": int(st.disable_document_sharing),
            "apply_strict_user_permissions": int(st.apply_strict_user_permissions),
            "session_expiry": f"{hours}:{minutes:02d}",
            "deny_multiple_sessions": int(st.deny_multiple_sessions),
            "disable_user_pass_login": int(st.disable_user_pass_login),
            "allow_consecutive_login_attempts": st.allow_consecutive_login_attempts,
            "allow_login_after_fail": st.allow_login_after_fail,
            "enable_two_factor_auth": int(st.enable_two_factor_auth),
            "bypass_restrict_ip_check_if_2fa_enabled":
                int(st.bypass_restrict_ip_check_if_2fa_enabled),
            "force_user_to_reset_password": st.force_user_to_reset_password,
            "allow_error_traceback": int(st.allow_error_traceback),
        })
        return Document(doctype="System Settings", name="System Settings",
                        owner="Administrator", modified=self.base_stamp(-3620),
                        modified_by="Administrator", values=values)

    @staticmethod
    def _inspector() -> Document:
        return Document(doctype="Permission Inspector", name="Permission Inspector",
                        owner="", values={"permission_type": "read"})


def naming_rule(autoname: str) -> str:
    if autoname.startswith("field:"):
        return "By fieldname"
    if autoname == "hash":
        return "Random"
    if autoname == "autoincrement":
        return "Autoincrement"
    if autoname == "Prompt":
        return "Set by user"
    if autoname.startswith("format:"):
        return "Expression"
    if autoname.startswith("naming_series"):
        return 'By "Naming Series" field'
    return "Expression (old style)"
