"""``frappe.client.*`` whitelisted functions (SPEC.md §1.4)."""

from __future__ import annotations

import json
from typing import Any

from audit.sim import documents
from audit.sim.context import Ctx
from audit.sim.errors import FrappePermissionError, ValidationError
from audit.sim.guards import check_permission, doc_or_404, meta_or_404
from audit.sim.lists import check_parent_permission, get_list
from audit.sim.model import Document
from audit.sim.query import Column, Query, parse_filters, parse_json, run
from audit.sim.rest import doc_body, hidden_levels
from audit.sim.serialize import as_dict

STANDARD_FIELDS = frozenset({"name", "owner", "creation", "modified", "modified_by",
                             "docstatus", "idx", "parent", "parentfield", "parenttype",
                             "doctype"})


def _arg(ctx: Ctx, key: str, default: Any = None) -> Any:
    return ctx.form.get(key, default)


def _json_arg(ctx: Ctx, key: str) -> Any:
    return parse_json(ctx.form.get(key))


def client_get_list(ctx: Ctx) -> Any:
    return get_list(ctx, str(_arg(ctx, "doctype")), dict(ctx.form))


def get_count(ctx: Ctx) -> int:
    """No permission check at all in 15.55.1 (perm-get-count.json)."""
    meta = meta_or_404(ctx, str(_arg(ctx, "doctype")))
    q = Query(meta=meta, conditions=parse_filters(meta, _arg(ctx, "filters")), page_length=0)
    docs = ctx.store.all(meta.name)
    return sum(1 for d in docs if all(c(d) for c in q.conditions))


def _first_match(ctx: Ctx, doctype: str, filters: Any) -> str | None:
    meta = meta_or_404(ctx, doctype)
    q = Query(meta=meta, fields=[Column("name", "name")],
              conditions=parse_filters(meta, filters), page_length=1)
    rows = run(q, ctx.store.all(meta.name), natural_by_modified=False)
    return None if not rows else str(rows[0].get("name"))


def client_get(ctx: Ctx) -> dict[str, Any]:
    doctype = str(_arg(ctx, "doctype"))
    meta = meta_or_404(ctx, doctype)
    if meta.istable:
        check_parent_permission(ctx, _arg(ctx, "parent"), doctype)
    name = _arg(ctx, "name")
    filters = _arg(ctx, "filters")
    if not name and filters not in (None, ""):
        name = _first_match(ctx, doctype, filters) or json.dumps(parse_json(filters))
    doc = ctx.store.single(doctype) if meta.issingle and not name else \
        doc_or_404(ctx, doctype, str(name or doctype))
    check_permission(ctx, doc, "read")
    return as_dict(doc, meta, ctx.store.meta, no_nulls=False,
                   hidden_levels=hidden_levels(ctx, meta))


def get_value(ctx: Ctx) -> Any:
    doctype = str(_arg(ctx, "doctype"))
    meta = meta_or_404(ctx, doctype)
    parent = _arg(ctx, "parent")
    if meta.istable:
        check_parent_permission(ctx, parent, doctype)
    if not ctx.engine.check(ctx.user, doctype, "read", parent_doctype=parent):
        raise ctx.log.throw(f"No permission for {doctype}", FrappePermissionError)
    filters = parse_json(_arg(ctx, "filters"))
    if isinstance(filters, str):
        filters = {"name": filters}
    fieldname = _arg(ctx, "fieldname")
    fields = parse_json(fieldname) if isinstance(fieldname, str) and fieldname.startswith("[") \
        else fieldname
    fields = fields if isinstance(fields, list) else [fields]
    as_dict_flag = str(_arg(ctx, "as_dict", "1")).lower() not in ("0", "false")
    if meta.issingle:
        single = ctx.store.single(doctype)
        values = {f: single.values.get(f) for f in fields}
        return values if as_dict_flag else (list(values.values()) if len(fields) > 1
                                            else values[fields[0]])
    rows = get_list(ctx, doctype, {"filters": filters or None, "fields": json.dumps(fields),
                                   "limit_page_length": 1, "parent": parent})
    if as_dict_flag:
        return rows[0] if rows else {}
    if not rows:
        return None
    return list(rows[0].values()) if len(fields) > 1 else rows[0][fields[0]]


def get_single_value(ctx: Ctx) -> Any:
    doctype = str(_arg(ctx, "doctype"))
    meta_or_404(ctx, doctype)
    if not ctx.engine.check(ctx.user, doctype, "read"):
        raise ctx.log.throw(f"No permission for {doctype}", FrappePermissionError)
    return ctx.store.single(doctype).values.get(str(_arg(ctx, "field")))


def has_permission(ctx: Ctx) -> dict[str, bool]:
    doctype = str(_arg(ctx, "doctype"))
    docname = _arg(ctx, "docname")
    ptype = str(_arg(ctx, "perm_type", "read") or "read").lower()
    meta_or_404(ctx, doctype)
    doc = doc_or_404(ctx, doctype, str(docname)) if docname else None
    return {"has_permission": ctx.engine.check(ctx.user, doctype, ptype, doc)}


def get_doc_permissions(ctx: Ctx) -> dict[str, Any]:
    doc = doc_or_404(ctx, str(_arg(ctx, "doctype")), str(_arg(ctx, "docname")))
    return {"permissions": ctx.engine.doc_permissions(ctx.user, doc.doctype, doc)}


def _client_doc(ctx: Ctx) -> dict[str, Any]:
    data = parse_json(_arg(ctx, "doc"))
    if not isinstance(data, dict):
        raise ctx.log.throw("Invalid request arguments")
    return data


def submit(ctx: Ctx) -> dict[str, Any]:
    data = _client_doc(ctx)
    meta = meta_or_404(ctx, str(data.get("doctype")))
    doc = documents.from_client_dict(ctx, meta, data)
    doc.docstatus = 1
    before = ctx.store.get(meta.name, doc.name) if doc.name else None
    if not doc.name:
        inserted = documents.insert(ctx, meta.name, {**data, "docstatus": 1})
        return doc_body(ctx, inserted, read_filter=False)
    saved = documents.save(ctx, meta, doc, before, data.get("modified"))
    return as_dict(saved, meta, ctx.store.meta, no_nulls=False)


def cancel(ctx: Ctx) -> dict[str, Any]:
    before = doc_or_404(ctx, str(_arg(ctx, "doctype")), str(_arg(ctx, "name")))
    meta = meta_or_404(ctx, before.doctype)
    doc = documents.update_from_body(ctx, meta, before, {"docstatus": 2})
    return as_dict(doc, meta, ctx.store.meta, no_nulls=False)


def delete(ctx: Ctx) -> None:
    documents.delete(ctx, str(_arg(ctx, "doctype")), str(_arg(ctx, "name")))


def insert(ctx: Ctx) -> dict[str, Any]:
    data = _client_doc(ctx)
    return doc_body(ctx, _insert_one(ctx, data), read_filter=False)


def _insert_one(ctx: Ctx, data: dict[str, Any]) -> Document:
    doctype = str(data.get("doctype") or "")
    meta = meta_or_404(ctx, doctype)
    if meta.istable:
        if not (data.get("parenttype") and data.get("parent") and data.get("parentfield")):
            raise ctx.log.throw("Parent is required to insert a child record")
        parent = doc_or_404(ctx, str(data["parenttype"]), str(data["parent"]))
        parent_meta = meta_or_404(ctx, parent.doctype)
        rows = list(parent.values.get(str(data["parentfield"])) or [])
        rows.append({k: v for k, v in data.items() if k not in ("doctype", "parent",
                                                                  "parenttype", "parentfield")})
        documents.update_from_body(ctx, parent_meta, parent, {str(data["parentfield"]): rows})
        return parent
    body = {k: v for k, v in data.items() if k != "doctype"}
    return documents.insert(ctx, doctype, body)


def insert_many(ctx: Ctx) -> list[str]:
    docs = parse_json(_arg(ctx, "docs"))
    if not isinstance(docs, list):
        raise ctx.log.throw("Invalid request arguments")
    if len(docs) > 200:
        raise ctx.log.throw("Only 200 inserts allowed in one request")
    return [_insert_one(ctx, d).name for d in docs if isinstance(d, dict)]


def save(ctx: Ctx) -> dict[str, Any]:
    data = _client_doc(ctx)
    meta = meta_or_404(ctx, str(data.get("doctype")))
    if not data.get("name") or data.get("__islocal"):
        return doc_body(ctx, documents.insert(ctx, meta.name, data), read_filter=False)
    doc = documents.from_client_dict(ctx, meta, data)
    before = ctx.store.get(meta.name, doc.name)
    saved = documents.save(ctx, meta, doc, before, data.get("modified"))
    return as_dict(saved, meta, ctx.store.meta, no_nulls=False)


def set_value(ctx: Ctx) -> dict[str, Any]:
    fieldname = parse_json(_arg(ctx, "fieldname"))
    values = fieldname if isinstance(fieldname, dict) else {fieldname: _arg(ctx, "value")}
    if any(k in STANDARD_FIELDS for k in values):
        raise ctx.log.throw("Cannot edit standard fields")
    before = doc_or_404(ctx, str(_arg(ctx, "doctype")), str(_arg(ctx, "name")))
    meta = meta_or_404(ctx, before.doctype)
    doc = documents.update_from_body(ctx, meta, before, dict(values))
    return as_dict(doc, meta, ctx.store.meta, no_nulls=False)


def get_password(ctx: Ctx) -> str | None:
    only_for(ctx, "System Manager")
    doctype, name = str(_arg(ctx, "doctype")), str(_arg(ctx, "name"))
    field = str(_arg(ctx, "fieldname") or "password")
    if doctype == "User":
        udef = ctx.site.users.get(name)
        if udef is None:
            raise ctx.log.throw(f"Password not found for {doctype} {name} {field}",
                                ValidationError)
        return udef.api_secret if field == "api_secret" else udef.password
    return None


def validate_link(ctx: Ctx) -> dict[str, Any]:
    doctype, docname = _arg(ctx, "doctype"), _arg(ctx, "docname")
    if not isinstance(doctype, str):
        raise ctx.log.throw("DocType must be a string")
    if not isinstance(docname, str):
        raise ctx.log.throw("Document Name must be a string")
    meta_or_404(ctx, doctype)
    if doctype != "DocType" and not (ctx.engine.check(ctx.user, doctype, "select")
                                     or ctx.engine.check(ctx.user, doctype, "read")):
        raise ctx.log.throw(f"You do not have Read or Select Permissions for "
                            f"<strong>{doctype}</strong>", FrappePermissionError)
    doc = ctx.store.get(doctype, docname)
    return {"name": doc.name if doc else None}


def is_document_amended(ctx: Ctx) -> bool:
    doctype, docname = str(_arg(ctx, "doctype")), str(_arg(ctx, "docname"))
    if not ctx.engine.check(ctx.user, doctype, "read"):
        raise ctx.log.throw(f"No permission for {doctype}", FrappePermissionError)
    return any(d.values.get("amended_from") == docname and d.docstatus < 2
               for d in ctx.store.all(doctype))


def only_for(ctx: Ctx, *roles: str) -> None:
    """``frappe.only_for``: a bare 403 unless the user holds one of ``roles``."""
    if ctx.user == "Administrator":
        return
    if not set(roles) & ctx.engine.roles(ctx.user):
        raise FrappePermissionError()
