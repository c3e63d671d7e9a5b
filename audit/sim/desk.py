"""Desk endpoints: ``frappe.desk.form.load`` (getdoc, getdoctype, get_docinfo),
``frappe.desk.reportview`` and ``frappe.desk.search.search_link``."""

from __future__ import annotations

import json
from typing import Any

from audit.sim.context import Ctx
from audit.sim.errors import DoesNotExistError, FrappePermissionError
from audit.sim.guards import allowed, doc_or_404, meta_or_404, require_doc_permission
from audit.sim.lists import get_list
from audit.sim.model import DocTypeDef, Document
from audit.sim.reply import TopLevel
from audit.sim.rest import doc_body
from audit.sim.serialize import as_dict
from audit.sim.util import scrub
from audit.sim.views import flags

DOCINFO_EMPTY = ("comments", "shared", "assignment_logs", "attachment_logs", "info_logs",
                 "like_logs", "workflow_logs")


def docinfo(ctx: Ctx, doc: Document) -> dict[str, Any]:
    meta = ctx.store.meta(doc.doctype)
    versions = []
    if meta is not None and meta.track_changes:
        rows = [v for v in ctx.store.all("Version")
                if v.values.get("ref_doctype") == doc.doctype
                and v.values.get("docname") == doc.name]
        rows.sort(key=lambda v: v.creation, reverse=True)
        versions = [{"name": v.name, "owner": v.owner, "creation": v.creation,
                     "data": v.values.get("data")} for v in rows[:10]]
    shared = [{"user": s.user or None, "everyone": int(s.everyone), "read": int(s.read),
               "write": int(s.write), "submit": int(s.submit), "share": int(s.share),
               "name": s.name} for s in ctx.site.shares
              if s.share_doctype == doc.doctype and s.share_name == doc.name]
    out: dict[str, Any] = {"user_info": {}}
    out.update({key: [] for key in DOCINFO_EMPTY})
    out["shared"] = shared
    out.update(doctype=doc.doctype, name=doc.name, attachments=[], communications=[],
               automated_messages=[], versions=versions, assignments=[],
               permissions=ctx.engine.doc_permissions(ctx.user, doc.doctype, doc),
               views=[], energy_point_logs=[], additional_timeline_content=[],
               milestones=[], is_document_followed=None, tags="", document_email=None)
    return out


def getdoc(ctx: Ctx) -> TopLevel | list[Any]:
    doctype, name = str(ctx.form.get("doctype") or ""), str(ctx.form.get("name") or "")
    if not (doctype and name):
        from audit.sim.errors import PythonError
        raise PythonError("Exception", "doctype and name required!",
                          exception_line="Exception: doctype and name required!")
    try:
        doc = doc_or_404(ctx, doctype, name, quiet=True)
    except DoesNotExistError:
        return []
    logs: list[str] = []
    if not allowed(ctx, doc, "read", logs):
        ctx.log.print_logs(logs)
        ctx.log.error_message = f"Insufficient Permission for <strong>{doctype} {name}</strong>"
        raise FrappePermissionError(exception_line=(
            f"frappe.exceptions.PermissionError: ('read', '{doctype}', '{name}')"))
    return TopLevel(docs=[doc_body(ctx, doc)], docinfo=docinfo(ctx, doc), _link_titles={})


def get_docinfo(ctx: Ctx) -> TopLevel:
    doc = doc_or_404(ctx, str(ctx.form.get("doctype") or ""), str(ctx.form.get("name") or ""))
    require_doc_permission(ctx, doc, "read")
    return TopLevel(docinfo=docinfo(ctx, doc))


def meta_doc(ctx: Ctx, meta: DocTypeDef) -> dict[str, Any]:
    """The DocType as ``frappe.get_meta`` serves it: effective permission rows included."""
    view = ctx.store.views.doctype_doc(meta)
    rules = ctx.site.effective_rules(meta.name)
    custom = bool(ctx.site.custom_perms.get(meta.name))
    rows = []
    for idx, rule in enumerate(rules, 1):
        row: dict[str, Any] = {"doctype": "Custom DocPerm" if custom else "DocPerm",
                               "name": rule.name, "parent": meta.name, "idx": idx,
                               "permlevel": rule.permlevel, "role": rule.role}
        row.update(flags(rule))
        row["if_owner"] = int(rule.if_owner)
        rows.append(row)
    dt_meta = ctx.store.meta("DocType")
    assert dt_meta is not None
    out = as_dict(view, dt_meta, ctx.store.meta)
    out["permissions"] = rows
    out = {"doctype": "DocType", **{k: val for k, val in out.items() if k != "doctype"}}
    out.update({"__assets_loaded": True, "actions": [], "links": [], "states": [],
                "__print_formats": [], "__workflow_docs": [], "__kanban_column_fields": []})
    return out


def _assets(doctype: str) -> dict[str, Any]:
    """``FormMeta.load_assets`` of a DocType without client code (perm-other-endpoints)."""
    name = scrub(doctype)
    out: dict[str, Any] = {key: None for key in (
        "__js", "__css", "__list_js", "__calendar_js", "__map_js", "__linked_with",
        "__messages", "__form_grid_templates", "__listview_template", "__tree_js",
        "__templates")}
    out.update({"__custom_js": f"\n\n//# sourceURL={name}__custom_js",
                "__custom_list_js": f"\n\n//# sourceURL={name}__custom_list_js",
                "__dashboard": {"transactions": [], "non_standard_fieldnames": {},
                                "internal_links": {}}})
    return out


def getdoctype(ctx: Ctx) -> TopLevel:
    meta = meta_or_404(ctx, str(ctx.form.get("doctype") or ""))
    docs = [{**meta_doc(ctx, meta), **_assets(meta.name)}]
    for f in meta.fields:
        if f.fieldtype in ("Table", "Table MultiSelect"):
            child = ctx.store.meta(f.options)
            if child is not None:
                docs.append(meta_doc(ctx, child))
    return TopLevel(docs=docs, user_settings=json.dumps({}))


def reportview_get(ctx: Ctx) -> Any:
    doctype = str(ctx.form.get("doctype") or "")
    args = dict(ctx.form)
    args.setdefault("limit_page_length", args.get("page_length") or 20)
    rows = get_list(ctx, doctype, args, default_order=f"`tab{doctype}`.`modified` desc")
    if not rows:
        return []
    keys = list(rows[0].keys())
    return {"keys": keys, "values": [list(r.values()) for r in rows], "user_info": {}}


def reportview_count(ctx: Ctx) -> int:
    doctype = str(ctx.form.get("doctype") or "")
    rows = get_list(ctx, doctype, {"filters": ctx.form.get("filters"),
                                   "fields": '["count(name) as count"]',
                                   "limit_page_length": 0})
    return int(rows[0]["count"]) if rows else 0


def search_link(ctx: Ctx) -> list[dict[str, Any]]:
    doctype = str(ctx.form.get("doctype") or "")
    txt = str(ctx.form.get("txt") or "").lower()
    rows = get_list(ctx, doctype, {"fields": '["name"]', "filters": ctx.form.get("filters"),
                                   "limit_page_length": 0, "order_by": "name asc"})
    names = [r["name"] for r in rows if txt in str(r["name"]).lower()]
    length = int(ctx.form.get("page_length") or 10)
    return [{"value": n, "description": ""} for n in names[:length]]


def _report_roles(ctx: Ctx, report: Document) -> list[str]:
    configured = ctx.site.settings.report_roles.get(report.name)
    if configured is not None:
        return list(configured)
    return [str(r.get("role")) for r in report.values.get("roles") or [] if isinstance(r, dict)]


def query_report_run(ctx: Ctx) -> dict[str, Any]:
    """``frappe.desk.query_report.run``: the Report's roles, then ``report`` on its DocType."""
    name = str(ctx.form.get("report_name") or "")
    report = ctx.store.get("Report", name)
    if report is None:
        raise ctx.log.throw(f"Report {name} not found", DoesNotExistError)
    allowed_roles = _report_roles(ctx, report)
    if ctx.user != "Administrator" and allowed_roles and \
            not set(allowed_roles) & ctx.engine.roles(ctx.user):
        raise ctx.log.throw(f"You don't have access to Report: {name}", FrappePermissionError)
    ref = str(report.values.get("ref_doctype") or "")
    if ref and not ctx.engine.check(ctx.user, ref, "report"):
        raise ctx.log.throw(f"You don't have permission to get a report on: {ref}",
                            FrappePermissionError)
    return {"result": [], "columns": [], "message": None, "chart": None,
            "report_summary": None, "skip_total_row": 0, "status": None,
            "execution_time": 0.001, "add_total_row": 0}
