"""``/api/method/<dotted.path>``: ``frappe.handler.execute_cmd`` with a registry of the
whitelisted functions the simulator implements (SPEC.md §1.2, §1.4, §1.5).

Unknown commands fail the way Frappe does: 417 "Failed to get method for command ...";
Guests calling a method that is not ``allow_guest`` and callers of non-whitelisted functions
get 403 "... is not whitelisted"; the wrong verb gives 403 "Not permitted"; a missing
required argument is a ``TypeError`` (500).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audit.sim import admin, client, desk, oauth
from audit.sim.context import Ctx
from audit.sim.errors import FrappePermissionError, PythonError, ValidationError
from audit.sim.hooks import GUEST

ALL_VERBS = ("GET", "POST", "PUT", "DELETE")
WRITE_VERBS = ("POST", "PUT")


@dataclass(frozen=True)
class Method:
    handler: Callable[[Ctx], Any]
    allow_guest: bool = False
    verbs: tuple[str, ...] = ALL_VERBS
    required: tuple[str, ...] = ()


def _logged_user(ctx: Ctx) -> str:
    return ctx.user


def _pong(ctx: Ctx) -> str:
    return "pong"


def _none(ctx: Ctx) -> None:
    return None


def _time_zone(ctx: Ctx) -> dict[str, str]:
    return {"time_zone": "UTC"}


OAUTH = "frappe.integrations.oauth2."
CLIENT = "frappe.client."
REGISTRY: dict[str, Method] = {
    "ping": Method(_pong, allow_guest=True),
    "login": Method(_none, allow_guest=True),
    "logout": Method(_none, allow_guest=True),
    "run_doc_method": Method(admin.run_doc_method, required=("method",)),
    "frappe.handler.run_doc_method": Method(admin.run_doc_method, required=("method",)),
    "frappe.handler.ping": Method(_pong, allow_guest=True),
    "frappe.auth.get_logged_user": Method(_logged_user),
    CLIENT + "get_list": Method(client.client_get_list, required=("doctype",)),
    CLIENT + "get_count": Method(client.get_count, required=("doctype",)),
    CLIENT + "get": Method(client.client_get, required=("doctype",)),
    CLIENT + "get_value": Method(client.get_value, required=("doctype", "fieldname")),
    CLIENT + "get_single_value": Method(client.get_single_value, required=("doctype", "field")),
    CLIENT + "has_permission": Method(client.has_permission, required=("doctype", "docname")),
    CLIENT + "get_doc_permissions": Method(client.get_doc_permissions,
                                           required=("doctype", "docname")),
    CLIENT + "submit": Method(client.submit, verbs=WRITE_VERBS, required=("doc",)),
    CLIENT + "cancel": Method(client.cancel, verbs=WRITE_VERBS, required=("doctype", "name")),
    CLIENT + "delete": Method(client.delete, verbs=("POST", "DELETE"),
                              required=("doctype", "name")),
    CLIENT + "insert": Method(client.insert, verbs=WRITE_VERBS, required=("doc",)),
    CLIENT + "insert_many": Method(client.insert_many, verbs=WRITE_VERBS, required=("docs",)),
    CLIENT + "save": Method(client.save, verbs=WRITE_VERBS, required=("doc",)),
    CLIENT + "set_value": Method(client.set_value, verbs=WRITE_VERBS,
                                 required=("doctype", "name", "fieldname")),
    CLIENT + "get_password": Method(client.get_password,
                                    required=("doctype", "name", "fieldname")),
    CLIENT + "validate_link": Method(client.validate_link, required=("doctype", "docname")),
    CLIENT + "is_document_amended": Method(client.is_document_amended,
                                           required=("doctype", "docname")),
    CLIENT + "get_time_zone": Method(_time_zone, allow_guest=True),
    "frappe.desk.form.load.getdoc": Method(desk.getdoc, required=("doctype", "name")),
    "frappe.desk.form.load.getdoctype": Method(desk.getdoctype, required=("doctype",)),
    "frappe.desk.form.load.get_docinfo": Method(desk.get_docinfo),
    "frappe.desk.reportview.get": Method(desk.reportview_get),
    "frappe.desk.reportview.get_list": Method(desk.reportview_get),
    "frappe.desk.reportview.get_count": Method(desk.reportview_count),
    "frappe.desk.search.search_link": Method(desk.search_link, required=("doctype", "txt")),
    "frappe.desk.query_report.run": Method(desk.query_report_run, required=("report_name",)),
    "frappe.core.doctype.user.user.get_roles": Method(admin.get_roles),
    "frappe.core.doctype.user.user.get_all_roles": Method(admin.get_all_roles),
    "frappe.core.doctype.user.user.generate_keys": Method(admin.generate_keys, verbs=("POST",),
                                                          required=("user",)),
    "frappe.core.doctype.user_permission.user_permission.get_user_permissions":
        Method(admin.get_user_permissions),
    "frappe.core.page.permission_manager.permission_manager.get_permissions":
        Method(admin.get_permissions),
    "frappe.core.page.permission_manager.permission_manager.get_standard_permissions":
        Method(admin.get_standard_permissions, required=("doctype",)),
    "frappe.core.page.permission_manager.permission_manager.get_users_with_role":
        Method(admin.get_users_with_role, required=("role",)),
    OAUTH + "authorize": Method(oauth.authorize, allow_guest=True, verbs=("GET",)),
    OAUTH + "approve": Method(oauth.approve),
    OAUTH + "get_token": Method(oauth.get_token, allow_guest=True, verbs=("POST",)),
    OAUTH + "revoke_token": Method(oauth.revoke_token, allow_guest=True, verbs=("POST",)),
    OAUTH + "introspect_token": Method(oauth.introspect_token, allow_guest=True),
    OAUTH + "openid_profile": Method(oauth.openid_profile),
    OAUTH + "openid_configuration": Method(oauth.openid_configuration, allow_guest=True),
}

# Importable but not whitelisted: calling them is a 403, not a 417.
NOT_WHITELISTED = frozenset({"frappe.get_doc", "frappe.get_all", "frappe.get_list",
                             "frappe.db.sql", "frappe.client.get_doc", "frappe.delete_doc",
                             "frappe.set_value", "frappe.get_roles", "frappe.get_meta",
                             "frappe.permissions.has_permission", "frappe.sessions.clear"})
HANDLER_GLOBALS = frozenset({"ping", "login", "logout", "run_doc_method", "version",
                             "uploadfile", "upload_file", "web_logout", "is_whitelisted"})


def _known_modules(ctx: Ctx) -> set[str]:
    modules = {"frappe", "frappe.db", "frappe.permissions", "frappe.sessions", "frappe.core",
               "frappe.desk", "frappe.integrations", "frappe.core.doctype", "frappe.model"}
    for cmd in (*REGISTRY, *NOT_WHITELISTED):
        parts = cmd.split(".")
        for i in range(1, len(parts)):
            modules.add(".".join(parts[:i]))
    for dt in ctx.site.doctypes.values():
        if dt.app == "frappe" and not dt.custom:
            path = f"frappe.{dt.module.lower().replace(' ', '_')}.doctype." \
                   f"{dt.name.lower().replace(' ', '_').replace('-', '_')}"
            modules.update({path, path + "." + path.rsplit(".", 1)[1]})
    return modules


def _import_error(ctx: Ctx, cmd: str) -> Exception:
    """Why ``get_attr(cmd)`` fails, as the text after "with"."""
    if "." not in cmd:
        return KeyError(cmd)
    app = cmd.split(".", 1)[0]
    if app != "frappe":
        ctx.log.throw(f"App {app} is not installed")
        return ValueError(f"App {app} is not installed")
    module, attr = cmd.rsplit(".", 1)
    known = _known_modules(ctx)
    if module in known:
        return ValueError(f"module '{module}' has no attribute '{attr}'")
    parts = module.split(".")
    missing = next(".".join(parts[:i]) for i in range(1, len(parts) + 1)
                   if ".".join(parts[:i]) not in known)
    return ValueError(f"No module named '{missing}'")


def not_whitelisted(ctx: Ctx, cmd: str) -> FrappePermissionError:
    message = ("<details><summary>You are not permitted to access this resource.</summary>"
               f"Function <strong>{cmd}</strong> is not whitelisted.</details>")
    error = ctx.log.throw(message, FrappePermissionError, title="Method Not Allowed")
    assert isinstance(error, FrappePermissionError)
    return error


def _type_error(cmd: str, missing: list[str]) -> PythonError:
    fn = cmd.rsplit(".", 1)[-1]
    names = [f"'{m}'" for m in missing]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    noun = "argument" if len(missing) == 1 else "arguments"
    return PythonError("TypeError", "", exception_line=(
        f"TypeError: {fn}() missing {len(missing)} required positional {noun}: {listed}"))


def execute(ctx: Ctx, cmd: str) -> Any:
    """Run ``cmd`` for the current user; returns the value for ``message`` (or a Reply)."""
    method = REGISTRY.get(cmd)
    if method is None:
        if cmd in NOT_WHITELISTED:
            raise not_whitelisted(ctx, cmd)
        cause = _import_error(ctx, cmd)
        text = f"'{cmd}'" if isinstance(cause, KeyError) else str(cause)
        raise ctx.log.throw(f"Failed to get method for command {cmd} with {text}",
                            ValidationError)
    if ctx.user == GUEST and not method.allow_guest:
        raise not_whitelisted(ctx, cmd)
    if ctx.method not in method.verbs:
        raise ctx.log.throw("Not permitted", FrappePermissionError)
    missing = [name for name in method.required if name not in ctx.form]
    if missing:
        raise _type_error(cmd, missing)
    return method.handler(ctx)
