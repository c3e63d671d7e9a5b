"""Admin-side methods: roles, keys, user permissions, the Permission Manager page API and
``run_doc_method`` (the Permission Inspector)."""

from __future__ import annotations

import secrets
from typing import Any

from audit.sim.client import only_for
from audit.sim.context import Ctx
from audit.sim.errors import FrappePermissionError, PythonError
from audit.sim.guards import allowed, doc_or_404
from audit.sim.hooks import ADMIN, AUTOMATIC_ROLES
from audit.sim.inspector import debug_output, inspector_doc
from audit.sim.journal import Action
from audit.sim.model import Document, PermRule
from audit.sim.query import parse_json
from audit.sim.reply import TopLevel
from audit.sim.views import flags


def get_roles(ctx: Ctx) -> list[str]:
    """``user.get_roles``: any user's roles, no check on ``uid`` (SPEC.md §1.5)."""
    if "uid" not in ctx.form:
        raise PythonError("KeyError", "'uid'", exception_line="KeyError: 'uid'")
    return ctx.engine.role_list(str(ctx.form["uid"]))


def get_all_roles(ctx: Ctx) -> list[str]:
    return sorted(r for r in ctx.site.roles if r not in AUTOMATIC_ROLES)


def generate_keys(ctx: Ctx) -> dict[str, str]:
    only_for(ctx, "System Manager")
    user = str(ctx.form.get("user") or "")
    udef = ctx.site.users.get(user)
    if udef is None:
        raise ctx.log.throw(f"User {user} not found", FrappePermissionError)
    old = (udef.api_key, udef.api_secret)

    def undo() -> None:
        udef.api_key, udef.api_secret = old

    ctx.tx.on_rollback(undo)
    udef.api_secret = secrets.token_hex(8)[:15]
    if not udef.api_key:
        udef.api_key = secrets.token_hex(8)[:15]
    ctx.tx.log(Action.UPDATE, "User", user)
    return {"api_secret": udef.api_secret}


def get_user_permissions(ctx: Ctx) -> dict[str, Any]:
    user = str(ctx.form.get("user") or ctx.user)
    return ctx.engine.user_permissions(user)


# ---- Permission Manager page --------------------------------------------------------------
def _linked(ctx: Ctx, doctype: str) -> list[str]:
    meta = ctx.store.meta(doctype)
    links = [] if meta is None else [f.options for f in meta.fields
                                     if f.fieldtype == "Link" and f.options != "User"]
    return list(dict.fromkeys([*links, doctype]))


def _perm_row(ctx: Ctx, parent: str, idx: int, rule: PermRule, custom: bool) -> dict[str, Any]:
    meta = ctx.store.meta(parent)
    stamp = rule.creation or ctx.store.views.base_stamp(-3500)
    row: dict[str, Any] = {"name": rule.name, "creation": stamp,
                           "modified": rule.modified or stamp, "modified_by": "Administrator",
                           "owner": "Administrator", "docstatus": 0}
    if custom:
        row.update(idx=idx, parent=parent, role=rule.role, if_owner=int(rule.if_owner),
                   permlevel=rule.permlevel)
        row.update(flags(rule))
        row.update(_user_tags=None, _comments=None, _assign=None, _liked_by=None)
    else:
        row.update(parent=parent, parentfield="permissions", parenttype="DocType", idx=idx,
                   permlevel=rule.permlevel, role=rule.role, match=None)
        row.update(flags(rule))
        row["if_owner"] = int(rule.if_owner)
    row.update(linked_doctypes=_linked(ctx, parent),
               is_submittable=int(bool(meta and meta.is_submittable)), in_create=0)
    return row


def _effective_rows(ctx: Ctx, doctype: str) -> list[dict[str, Any]]:
    custom = bool(ctx.site.custom_perms.get(doctype))
    rules = ctx.site.effective_rules(doctype)
    ctx.store.views.doctype_doc(ctx.site.doctypes[doctype])  # fills standard row names
    for i, rule in enumerate(ctx.site.custom_perms.get(doctype, [])):
        ctx.store.views.custom_perm_doc(doctype, i, rule)
    rows = [_perm_row(ctx, doctype, i, r, custom) for i, r in enumerate(rules, 0 if custom else 1)]
    return rows


def get_permissions(ctx: Ctx) -> list[dict[str, Any]]:
    only_for(ctx, "System Manager")
    doctype, role = ctx.form.get("doctype"), ctx.form.get("role")
    names = [str(doctype)] if doctype else list(ctx.site.doctypes)
    out: list[dict[str, Any]] = []
    for name in names:
        if name not in ctx.site.doctypes:
            continue
        rows = _effective_rows(ctx, name)
        if role:
            rows = [r for r in rows if r["role"] == role]
        out += sorted(rows, key=lambda r: (r["permlevel"], r["name"]))
    return out


def get_standard_permissions(ctx: Ctx) -> list[dict[str, Any]]:
    only_for(ctx, "System Manager")
    doctype = str(ctx.form.get("doctype") or "")
    meta = ctx.store.meta(doctype)
    if meta is None:
        return []
    ctx.store.views.doctype_doc(meta)
    return [_perm_row(ctx, doctype, i, r, False) for i, r in enumerate(meta.permissions, 1)]


def get_users_with_role(ctx: Ctx) -> list[str]:
    only_for(ctx, "System Manager")
    role = str(ctx.form.get("role") or "")
    return sorted(u.name for u in ctx.site.users.values()
                  if u.enabled and role in u.roles and u.name not in (ADMIN, "Guest"))


# ---- run_doc_method -----------------------------------------------------------------------
def run_doc_method(ctx: Ctx) -> TopLevel:
    """``frappe.handler.run_doc_method``: read permission, then the controller method."""
    method = str(ctx.form.get("method") or "")
    docs = parse_json(ctx.form.get("docs"))
    if ctx.form.get("dt"):
        doc = doc_or_404(ctx, str(ctx.form["dt"]), str(ctx.form.get("dn") or ctx.form["dt"]))
        values: dict[str, Any] = dict(doc.values)
    elif isinstance(docs, dict):
        values = dict(docs)
        doctype = str(values.get("doctype") or "")
        doc = ctx.store.get(doctype, str(values.get("name") or doctype)) or Document(
            doctype=doctype, name=str(values.get("name") or ""), owner=ctx.user)
    else:
        raise ctx.log.throw("Invalid request arguments")
    logs: list[str] = []
    if not allowed(ctx, doc, "read", logs):
        ctx.log.print_logs(logs)
        raise ctx.log.throw("Not permitted", FrappePermissionError)
    if doc.doctype != "Permission Inspector" or method != "debug":
        from audit.sim.errors import HTMLError
        raise HTMLError(404, "Not Found", "The requested URL was not found on the server.")
    values["output"] = debug_output(ctx, values)
    return TopLevel(docs=[inspector_doc(values)])
