"""The Permission Inspector (a virtual Single): ``has_permission(..., debug=True)``'s log."""

from __future__ import annotations

from typing import Any

from audit.sim.context import Ctx
from audit.sim.errors import DoesNotExistError
from audit.sim.permissions import Trace

SEPARATOR = "\n==============================\n"


def debug_output(ctx: Ctx, values: dict[str, Any]) -> str | None:
    ref_doctype = values.get("ref_doctype")
    user = values.get("user")
    if not (ref_doctype and user):
        return None
    ptype = str(values.get("permission_type") or "read")
    docname = values.get("docname")
    doc = None
    if docname:
        doc = ctx.store.get(str(ref_doctype), str(docname))
        if doc is None:
            raise ctx.log.throw(f"{ref_doctype} {docname} not found", DoesNotExistError)
    debug: list[str] = []
    result = ctx.engine.check(str(user), str(ref_doctype), ptype, doc,
                              trace=Trace(debug=debug), session_user=ctx.user)
    return SEPARATOR.join(debug) + "\n\n" + f"Ouput of has_permission: {result}"


def inspector_doc(values: dict[str, Any]) -> dict[str, Any]:
    """The virtual document as ``run_doc_method`` returns it (no owner, no timestamps)."""
    out: dict[str, Any] = {"name": "Permission Inspector", "docstatus": 0, "idx": 0}
    for key in ("ref_doctype", "docname", "user", "permission_type", "output"):
        if values.get(key) not in (None, ""):
            out[key] = values[key]
    out["doctype"] = "Permission Inspector"
    return out
