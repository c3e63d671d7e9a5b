"""``/api/resource`` (v1), ``/api/v2/document`` and ``/api/v2/doctype`` routes.

See SPEC.md §1.2-1.3.
"""

from __future__ import annotations

import json
from typing import Any

from audit.sim import documents
from audit.sim.context import Ctx
from audit.sim.errors import FrappePermissionError, HTMLError, PythonError
from audit.sim.guards import (
    allowed,
    check_permission,
    doc_or_404,
    meta_or_404,
    require_doc_permission,
)
from audit.sim.hooks import ADMIN, GUEST
from audit.sim.lists import get_list
from audit.sim.model import DocTypeDef, Document
from audit.sim.reply import Reply, TopLevel
from audit.sim.serialize import as_dict

METHOD_NOT_ALLOWED = HTMLError(405, "Method Not Allowed",
                               "The method is not allowed for the requested URL.")


def hidden_levels(ctx: Ctx, meta: DocTypeDef) -> set[int]:
    """``apply_fieldlevel_read_permissions``: levels above 0 the user cannot read."""
    if ctx.user == ADMIN:
        return set()
    levels = {f.permlevel for f in meta.fields if f.permlevel}
    parent_rules = meta.name
    return levels - ctx.engine.permlevel_access(ctx.user, parent_rules, "read")


def doc_body(ctx: Ctx, doc: Document, *, read_filter: bool = True) -> dict[str, Any]:
    meta = ctx.store.meta(doc.doctype)
    assert meta is not None
    hidden = hidden_levels(ctx, meta) if read_filter else set()
    return as_dict(doc, meta, ctx.store.meta, hidden_levels=hidden)


def request_data(ctx: Ctx) -> dict[str, Any]:
    """``get_request_form_data``: the JSON body, or the form field ``data`` holding JSON."""
    data = ctx.form.get("data")
    if data is None:
        raw = ctx.request.get_data(as_text=True)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return dict(parsed)
        return dict(ctx.form)
    if isinstance(data, dict):
        return dict(data)
    try:
        parsed = json.loads(data)
    except (TypeError, ValueError):
        return dict(ctx.form)
    return dict(parsed) if isinstance(parsed, dict) else dict(ctx.form)


def _list_args(ctx: Ctx) -> dict[str, Any]:
    args = dict(ctx.form)
    args.setdefault("limit_page_length", args.get("limit") or args.get("limit_page_length") or 20)
    return args


# ---- v1 -----------------------------------------------------------------------------------
def resource(ctx: Ctx, segments: list[str]) -> Reply | TopLevel:
    """``/api/resource/<DocType>[/<name>]``."""
    doctype = segments[0]
    if len(segments) == 1:
        if ctx.method == "GET":
            return TopLevel(data=get_list(ctx, doctype, _list_args(ctx)))
        if ctx.method == "POST":
            body = request_data(ctx)
            body.pop("doctype", None)
            doc = documents.insert(ctx, doctype, body)
            return TopLevel(data=doc_body(ctx, doc, read_filter=False))
        raise METHOD_NOT_ALLOWED
    name = "/".join(segments[1:])
    if ctx.method == "GET":
        if "run_method" in ctx.form:
            return run_method(ctx, doctype, name, "read")
        doc = doc_or_404(ctx, doctype, name)
        require_doc_permission(ctx, doc, "read")
        return TopLevel(data=doc_body(ctx, doc))
    if ctx.method == "PUT":
        return TopLevel(data=update(ctx, doctype, name))
    if ctx.method == "DELETE":
        documents.delete(ctx, doctype, name)
        return Reply(status=202, body={"data": "ok"})
    if ctx.method == "POST":
        return run_method(ctx, doctype, name, "write")
    raise METHOD_NOT_ALLOWED


def update(ctx: Ctx, doctype: str, name: str) -> dict[str, Any]:
    before = doc_or_404(ctx, doctype, name)
    meta = ctx.store.meta(before.doctype)
    assert meta is not None
    doc = documents.update_from_body(ctx, meta, before, request_data(ctx))
    return doc_body(ctx, doc, read_filter=False)


def run_method(ctx: Ctx, doctype: str, name: str, right: str) -> TopLevel:
    """``execute_doc_method``: only the Permission Inspector's ``debug`` is modelled."""
    from audit.sim.inspector import debug_output

    method = ctx.form.get("run_method")
    doc = doc_or_404(ctx, doctype, name)
    if not method:
        raise PythonError("KeyError", "'run_method'", exception_line="KeyError: 'run_method'")
    if doctype != "Permission Inspector" or method != "debug":
        raise HTMLError(404, "Not Found", "The requested URL was not found on the server.")
    logs: list[str] = []
    if not allowed(ctx, doc, right, logs):
        ctx.log.print_logs(logs)
        raise ctx.log.throw("Not permitted", FrappePermissionError)
    doc.values["output"] = debug_output(ctx, {**doc.values, **ctx.form})
    return TopLevel(data=None)


# ---- v2 -----------------------------------------------------------------------------------
def document_v2(ctx: Ctx, segments: list[str]) -> Reply | TopLevel:
    """``/api/v2/document/<DocType>[/<name>[/method/<m>]]``."""
    doctype = segments[0]
    if len(segments) == 1:
        if ctx.method == "GET":
            args = dict(ctx.form)
            args["limit_page_length"] = args.get("limit") or 20
            return TopLevel(data=get_list(ctx, doctype, args))
        if ctx.method == "POST":
            body = request_data(ctx)
            body.pop("doctype", None)
            return TopLevel(data=doc_body(ctx, documents.insert(ctx, doctype, body),
                                          read_filter=False))
        raise METHOD_NOT_ALLOWED
    name = segments[1]
    if len(segments) > 2:
        raise HTMLError(404, "Not Found", "The requested URL was not found on the server.")
    if ctx.method == "GET":
        doc = doc_or_404(ctx, doctype, name)
        check_permission(ctx, doc, "read")
        return TopLevel(data=doc_body(ctx, doc))
    if ctx.method in ("PUT", "PATCH"):
        return TopLevel(data=update(ctx, doctype, name))
    if ctx.method == "DELETE":
        documents.delete(ctx, doctype, name)
        return Reply(status=202, body={"data": "ok"})
    raise METHOD_NOT_ALLOWED


def doctype_v2(ctx: Ctx, segments: list[str]) -> TopLevel:
    """``/api/v2/doctype/<DocType>/meta`` and ``/count``."""
    from audit.sim.desk import meta_doc

    if len(segments) != 2 or segments[1] not in ("meta", "count"):
        raise HTMLError(404, "Not Found", "The requested URL was not found on the server.")
    if ctx.user == GUEST:
        raise FrappePermissionError()
    meta = meta_or_404(ctx, segments[0])
    if segments[1] == "meta":
        return TopLevel(data=meta_doc(ctx, meta))
    rows = get_list(ctx, meta.name, {"filters": ctx.form.get("filters"),
                                      "fields": '["count(name) as count"]',
                                      "limit_page_length": 0})
    return TopLevel(data=rows[0]["count"] if rows else 0)
