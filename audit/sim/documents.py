"""``Document.insert``, ``Document.save`` and ``frappe.delete_doc`` in Frappe 15's order.

The order of the checks relative to validation is what makes the safe probes work, so it
follows SPEC.md §3.13 step by step. Nothing is stored until every check has passed; the
request's transaction undoes anything a later failure leaves behind.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from audit.sim import controllers
from audit.sim import validate as v
from audit.sim.context import Ctx
from audit.sim.errors import (
    DocstatusTransitionError,
    DoesNotExistError,
    FrappePermissionError,
    PythonError,
    TimestampMismatchError,
    UpdateAfterSubmitError,
    ValidationError,
)
from audit.sim.guards import allowed, check_permission, meta_or_404
from audit.sim.hooks import ADMIN
from audit.sim.model import DocTypeDef, Document
from audit.sim.naming import set_new_name
from audit.sim.serialize import FLOAT_TYPES, INT_TYPES, TABLE_TYPES, as_dict, data_fields
from audit.sim.store import clone
from audit.sim.util import now_str, random_name

SKIP_KEYS = frozenset({"doctype", "name", "__newname", "__islocal", "__unsaved", "flags",
                       "owner", "creation", "modified", "modified_by", "idx", "docstatus",
                       "parent", "parentfield", "parenttype", "_user_tags", "_comments",
                       "_assign", "_liked_by", "_seen"})
DELETE_LINK = ("<a href='https://docs.erpnext.com//docs/user/manual/en/setting-up/articles/"
               "delete-submitted-document' target='_blank'>")
DOCSTATUS_LABEL = {0: "0 (Draft)", 1: "1 (Submitted)", 2: "2 (Cancelled)"}


def _docstatus(ctx: Ctx, raw: Any) -> int:
    try:
        value = int(raw or 0)
    except (TypeError, ValueError):
        raise ctx.log.throw("Invalid docstatus") from None
    return value


def _rows(meta_field_options: str, rows: Any) -> list[dict[str, Any]]:
    out = []
    for i, row in enumerate(rows if isinstance(rows, list) else [], 1):
        if isinstance(row, dict):
            item = {k: val for k, val in row.items() if k not in ("doctype",)}
            item.setdefault("idx", i)
            out.append(item)
    return out


def apply_body(meta: DocTypeDef, doc: Document, body: dict[str, Any]) -> None:
    """``doc.update(body)``: known fields and child tables; unknown keys are dropped."""
    for key, value in body.items():
        if key in SKIP_KEYS:
            continue
        f = meta.field(key)
        if f is None or f.is_virtual:  # a virtual field has no column: the value is dropped
            continue
        doc.values[key] = _rows(f.options, value) if f.fieldtype in TABLE_TYPES else value


def _user_permission_defaults(ctx: Ctx, meta: DocTypeDef) -> dict[str, Any]:
    ups = ctx.engine.user_permissions(ctx.user)
    out: dict[str, Any] = {}
    for f in meta.fields:
        if f.fieldtype != "Link" or f.ignore_user_permissions or f.options not in ups:
            continue
        rows = [r for r in ups[f.options]
                if not r.get("applicable_for") or r.get("applicable_for") == meta.name]
        default = next((r["doc"] for r in rows if r.get("is_default")), None)
        if default is None and len(rows) == 1:
            default = rows[0]["doc"]
        if default is not None and ctx.store.exists(f.options, default):
            out[f.fieldname] = default
    return out


def new_document(ctx: Ctx, meta: DocTypeDef, body: dict[str, Any]) -> Document:
    """``frappe.new_doc(dt, **body)`` with owner and timestamps of the session user."""
    values: dict[str, Any] = {f.fieldname: f.default for f in meta.fields
                              if f.default not in (None, "")}
    values.update(_user_permission_defaults(ctx, meta))
    now = now_str()
    doc = Document(doctype=meta.name, name="", owner=ctx.user,
                   docstatus=_docstatus(ctx, body.get("docstatus")), creation=now,
                   modified=now, modified_by=ctx.user, values=values)
    apply_body(meta, doc, body)
    return doc


def _name_children(ctx: Ctx, meta: DocTypeDef, doc: Document) -> None:
    for f in meta.fields:
        if f.fieldtype not in TABLE_TYPES:
            continue
        for i, row in enumerate(doc.values.get(f.fieldname) or [], 1):
            row.setdefault("name", random_name())
            row["idx"] = i
            row.update(owner=row.get("owner") or doc.owner, creation=row.get("creation")
                       or doc.creation, modified=doc.modified, modified_by=doc.modified_by,
                       docstatus=doc.docstatus)


def _reset_higher_levels(ctx: Ctx, meta: DocTypeDef, doc: Document,
                         before: Document | None) -> None:
    """``validate_higher_perm_levels``: silently restore fields the user cannot write."""
    if ctx.user == ADMIN:
        return
    levels = ctx.engine.permlevel_access(ctx.user, meta.name, "write")
    for f in meta.fields:
        if f.permlevel and f.permlevel not in levels:
            if before is None:
                if f.default not in (None, ""):
                    doc.values[f.fieldname] = f.default
                else:
                    doc.values.pop(f.fieldname, None)
            else:
                doc.values[f.fieldname] = copy.deepcopy(before.values.get(f.fieldname))


def _fill_numbers(meta: DocTypeDef, doc: Document) -> None:
    for f in data_fields(meta):
        if doc.values.get(f.fieldname) is None:
            if f.fieldtype in INT_TYPES:
                doc.values[f.fieldname] = 0
            elif f.fieldtype in FLOAT_TYPES:
                doc.values[f.fieldname] = 0.0


def _controller_error(meta: DocTypeDef, message: str) -> PythonError:
    """A controller crashing on the insert (SPEC.md §5.3: File, Prepared Report, Submission
    Queue on a stock 15.55.1 site)."""
    return PythonError("TypeError", f"{meta.name}: {message}",
                       exception_line=f"TypeError: {message}")


def insert(ctx: Ctx, doctype: str, body: dict[str, Any]) -> Document:
    """``Document.insert`` (SPEC.md §3.13)."""
    meta = meta_or_404(ctx, doctype)
    if meta.controller_failure == "before_create_check":
        raise _controller_error(meta, "insert() missing 2 required positional arguments")
    existing = controllers.before_anything(ctx, meta)
    if existing is not None:
        return existing
    doc = new_document(ctx, meta, body)
    if doc.docstatus == 1:
        check_permission(ctx, doc, "submit")
    elif doc.docstatus == 2:
        raise DocstatusTransitionError("Cannot change docstatus from 0 (Draft) to 2 (Cancelled)")
    elif doc.docstatus != 0:
        raise ctx.log.throw("Invalid docstatus")
    v.validate_links(ctx, meta, doc)
    check_permission(ctx, doc, "create")
    if meta.controller_failure == "after_create_check":
        raise _controller_error(meta, "expected string or bytes-like object, got 'list'")
    controllers.before_insert(ctx, meta, doc)
    set_new_name(ctx, meta, doc, body)
    _name_children(ctx, meta, doc)
    _reset_higher_levels(ctx, meta, doc, None)
    v.validate_mandatory(ctx, meta, doc)
    v.validate_values(ctx, meta, doc)
    v.validate_no_lists(ctx, meta, doc)
    _fill_numbers(meta, doc)
    v.validate_unique(ctx, meta, doc, new=True)
    ctx.store.insert(doc, ctx.tx)
    return doc


def _transition(ctx: Ctx, doc: Document, stored: int) -> str:
    """``check_docstatus_transition`` from the stored docstatus."""
    new = doc.docstatus
    if stored == 0:
        if new == 0:
            return "save"
        if new == 1:
            check_permission(ctx, doc, "submit")
            return "submit"
        if new == 2:
            raise DocstatusTransitionError(
                "Cannot change docstatus from 0 (Draft) to 2 (Cancelled)")
    elif stored == 1:
        if new == 1:
            check_permission(ctx, doc, "submit")
            return "update_after_submit"
        if new == 2:
            check_permission(ctx, doc, "cancel")
            return "cancel"
        if new == 0:
            raise DocstatusTransitionError(
                "Cannot change docstatus from 1 (Submitted) to 0 (Draft)")
    elif stored == 2:
        raise ValidationError("Cannot edit cancelled document")
    raise ValidationError("Invalid docstatus")


def _after_submit(ctx: Ctx, meta: DocTypeDef, doc: Document, before: Document) -> None:
    for f in data_fields(meta):
        old, new = before.values.get(f.fieldname), doc.values.get(f.fieldname)
        if not f.allow_on_submit and old != new and not (old in (None, "") and new in (None, "")):
            raise ctx.log.throw(f"Not allowed to change {f.title} after submission from "
                                f"{old} to {new}", UpdateAfterSubmitError)


def save(ctx: Ctx, meta: DocTypeDef, doc: Document, before: Document | None,
         original_modified: Any) -> Document:
    """``Document._save`` of an existing document (SPEC.md §3.13)."""
    check_permission(ctx, doc, "write")
    doc.modified, doc.modified_by = now_str(), ctx.user
    if before is None:
        raise ctx.log.throw("Record does not exist")
    # check_if_latest: ``if modified and modified != original`` - an empty stored modified
    # skips the check, and the save goes through
    if before.modified and \
            str(original_modified if original_modified is not None else "") != str(before.modified):
        raise ctx.log.throw(f"Error: Document has been modified after you have opened it "
                            f"({before.modified}, {doc.modified}). Please refresh to get the "
                            "latest document.", TimestampMismatchError)
    action = "save" if meta.issingle else _transition(ctx, doc, before.docstatus)
    doc.creation, doc.name = before.creation, before.name
    _name_children(ctx, meta, doc)
    _reset_higher_levels(ctx, meta, doc, before)
    if action != "cancel":
        v.validate_links(ctx, meta, doc)
        v.validate_mandatory(ctx, meta, doc)
        v.validate_values(ctx, meta, doc)
        if action == "update_after_submit":
            _after_submit(ctx, meta, doc, before)
    v.validate_no_lists(ctx, meta, doc)
    _fill_numbers(meta, doc)
    v.validate_unique(ctx, meta, doc, new=False)
    ctx.store.update(doc, ctx.tx)
    if action == "cancel":
        v.linked_from(ctx, doc, "Cancel")
    if meta.track_changes:
        _version(ctx, meta, before, doc)
    return doc


def update_from_body(ctx: Ctx, meta: DocTypeDef, before: Document,
                     body: dict[str, Any]) -> Document:
    """v1/v2 PUT: ``get_doc`` (already loaded), ``doc.update(body)``, ``doc.save()``."""
    body = {k: val for k, val in body.items() if k != "flags"}
    doc = clone(before)
    apply_body(meta, doc, body)
    if "owner" in body:
        doc.owner = str(body["owner"] or "")
    if "docstatus" in body:
        doc.docstatus = _docstatus(ctx, body["docstatus"])
    if meta.istable:
        return _save_child(ctx, meta, doc, body)
    return save(ctx, meta, doc, before, body.get("modified", before.modified))


def _save_child(ctx: Ctx, meta: DocTypeDef, row: Document, body: dict[str, Any]) -> Document:
    check_permission(ctx, row, "write")
    parent_dt = str(row.values.get("parenttype") or "")
    parent = ctx.store.get(parent_dt, str(row.values.get("parent") or ""))
    parent_meta = ctx.store.meta(parent_dt)
    if parent is None or parent_meta is None:
        raise ctx.log.throw("Record does not exist")
    new_parent = clone(parent)
    table = str(row.values.get("parentfield") or "")
    for item in new_parent.values.get(table) or []:
        if item.get("name") == row.name:
            item.update({k: val for k, val in row.values.items()
                         if k not in ("parent", "parentfield", "parenttype")})
    save(ctx, parent_meta, new_parent, parent, parent.modified)
    return row


def from_client_dict(ctx: Ctx, meta: DocTypeDef, data: dict[str, Any]) -> Document:
    """``frappe.get_doc(dict)``: a document built only from what the client sent."""
    doc = Document(doctype=meta.name, name=str(data.get("name") or ""),
                   owner=str(data.get("owner") or ""),
                   docstatus=_docstatus(ctx, data.get("docstatus")),
                   creation=str(data.get("creation") or ""),
                   modified=str(data.get("modified") or ""),
                   modified_by=str(data.get("modified_by") or ""))
    apply_body(meta, doc, data)
    return doc


def _version(ctx: Ctx, meta: DocTypeDef, before: Document, after: Document) -> None:
    changed = [[f.fieldname, before.values.get(f.fieldname), after.values.get(f.fieldname)]
               for f in data_fields(meta)
               if before.values.get(f.fieldname) != after.values.get(f.fieldname)]
    if before.docstatus != after.docstatus:
        changed.append(["docstatus", before.docstatus, after.docstatus])
    if not changed:
        return
    data = {"added": [], "changed": changed, "data_import": None, "removed": [],
            "row_changed": [], "updater_reference": None}
    now = now_str()
    ctx.store.record(Document(
        doctype="Version", name=random_name(), owner=ctx.user, creation=now, modified=now,
        modified_by=ctx.user, values={"ref_doctype": meta.name, "docname": after.name,
                                      "data": json.dumps(data, separators=(",", ":"),
                                                         sort_keys=True)}), ctx.tx)


def delete(ctx: Ctx, doctype: str, name: str) -> None:
    """``frappe.delete_doc`` (SPEC.md §3.13, Delete)."""
    meta = meta_or_404(ctx, doctype)
    doc = ctx.store.get(meta.name, name)
    if doc is None:
        raise DoesNotExistError()
    if ctx.user != ADMIN:
        logs: list[str] = []
        if not allowed(ctx, doc, "delete", logs) or (meta.name == "DocType" and not
                                                     doc.values.get("custom")):
            ctx.log.print_logs(logs)
            raise ctx.log.throw(f"User not allowed to delete {meta.name}: {doc.name}",
                                FrappePermissionError)
    if meta.is_submittable and doc.docstatus == 1:
        raise ctx.log.throw(f"{meta.name} {doc.name}: Submitted Record cannot be deleted. You "
                            f"must {DELETE_LINK} Cancel </a> it first.")
    v.linked_from(ctx, doc, "Delete")
    if meta.istable:
        _delete_row(ctx, doc)
        return
    ctx.store.delete(doc, ctx.tx)
    _deleted_document(ctx, meta, doc)


def _delete_row(ctx: Ctx, row: Document) -> None:
    parent_dt = str(row.values.get("parenttype") or "")
    parent = ctx.store.get(parent_dt, str(row.values.get("parent") or ""))
    if parent is None:
        raise DoesNotExistError()
    new_parent = clone(parent)
    table = str(row.values.get("parentfield") or "")
    new_parent.values[table] = [r for r in new_parent.values.get(table) or []
                                if r.get("name") != row.name]
    ctx.store.update(new_parent, ctx.tx)


def _deleted_document(ctx: Ctx, meta: DocTypeDef, doc: Document) -> None:
    now = now_str()
    data = json.dumps(as_dict(doc, meta, ctx.store.meta), indent=1, sort_keys=True,
                      default=str)
    ctx.store.record(Document(
        doctype="Deleted Document", name=random_name(), owner=ctx.user, creation=now,
        modified=now, modified_by=ctx.user,
        values={"deleted_name": doc.name, "deleted_doctype": meta.name, "restored": 0,
                "data": data}), ctx.tx)
    ctx.store.record(Document(
        doctype="Comment", name=random_name(), owner=ctx.user, creation=now, modified=now,
        modified_by=ctx.user, values={"comment_type": "Deleted", "reference_doctype": meta.name,
                                      "comment_email": ctx.user}), ctx.tx)
