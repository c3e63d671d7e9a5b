"""The three ways Frappe refuses a permission, each with its own reply shape.

* ``check_permission``: ``Document.check_permission`` - reasons in ``_server_messages`` and
  ``_error_message`` "You need the 'P' permission on <strong>DT</strong> NAME ...".
* ``require_doc_permission``: ``Document.has_permission`` + bare ``PermissionError`` (v1 read):
  reasons only.
* ``require_doctype_permission``: ``frappe.has_permission(throw=True)`` (lists): reasons and
  ``_error_message`` "No permission for DT".
"""

from __future__ import annotations

from audit.sim.context import Ctx
from audit.sim.errors import DoesNotExistError, FrappePermissionError, PythonError
from audit.sim.model import DocTypeDef, Document
from audit.sim.permissions import Trace
from audit.sim.util import scrub


def allowed(ctx: Ctx, doc: Document, ptype: str, logs: list[str] | None = None) -> bool:
    return ctx.engine.check(ctx.user, doc.doctype, ptype, doc, trace=Trace(logs=logs))


def check_permission(ctx: Ctx, doc: Document, ptype: str) -> None:
    logs: list[str] = []
    if not allowed(ctx, doc, ptype, logs):
        ctx.log.print_logs(logs)
        ctx.log.error_message = (f"You need the '{ptype}' permission on "
                                 f"<strong>{doc.doctype}</strong> {doc.name or ''} to perform "
                                 "this action.")
        raise FrappePermissionError()


def require_doc_permission(ctx: Ctx, doc: Document, ptype: str = "read") -> None:
    logs: list[str] = []
    if not allowed(ctx, doc, ptype, logs):
        ctx.log.print_logs(logs)
        raise FrappePermissionError()


def require_doctype_permission(ctx: Ctx, doctype: str, ptype: str = "read",
                               parent_doctype: str | None = None) -> None:
    logs: list[str] = []
    if not ctx.engine.check(ctx.user, doctype, ptype, parent_doctype=parent_doctype,
                            trace=Trace(logs=logs)):
        ctx.log.print_logs(logs)
        ctx.log.error_message = f"No permission for {doctype}"
        raise FrappePermissionError()


def meta_or_404(ctx: Ctx, doctype: str) -> DocTypeDef:
    """``frappe.get_meta``: an unknown DocType is a 404 with a message."""
    meta = ctx.store.meta(doctype)
    if meta is None:
        raise ctx.log.throw(f"DocType {doctype} not found", DoesNotExistError)
    return meta


def meta_or_import_error(ctx: Ctx, doctype: str) -> DocTypeDef:
    """``frappe.get_doc``: an unknown DocType fails importing its controller (500)."""
    meta = ctx.store.meta(doctype)
    if meta is None:
        raise PythonError("ImportError", "", exception_line=(
            f"Error: No module named 'frappe.core.doctype.{scrub(doctype)}'"))
    return meta


def doc_or_404(ctx: Ctx, doctype: str, name: str, *, quiet: bool = False) -> Document:
    """``frappe.get_doc``: a missing document is a 404 ("DT NAME not found")."""
    meta = meta_or_import_error(ctx, doctype)
    doc = ctx.store.get(meta.name, name)
    if doc is None:
        if quiet:
            raise DoesNotExistError()
        raise ctx.log.throw(f"{doctype} {name} not found", DoesNotExistError)
    return doc
