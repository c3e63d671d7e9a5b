"""The expected outcome of a cell, from the simulator's own permission engine.

The same cell meaning as DESIGN.md: can the user perform OP through the REST API on
at least one existing document of the DocType (create: a new one)? Submit and cancel
through REST also need write (SPEC.md §3.11).
"""

from __future__ import annotations

from audit.model import Operation, Outcome
from audit.sim.model import Document, SiteData
from audit.sim.permissions import PermissionEngine

WANTED_STATUS = {
    Operation.SUBMIT: (0,),
    Operation.CANCEL: (1,),
    Operation.WRITE: (0, 1),
}


def applicable(site: SiteData, doctype: str, op: Operation) -> bool:
    dt = site.doctypes[doctype]
    if dt.istable:
        return False
    if op in (Operation.SUBMIT, Operation.CANCEL):
        return dt.is_submittable and not dt.issingle
    if op in (Operation.CREATE, Operation.DELETE):
        return not dt.issingle
    return True


def _allowed(engine: PermissionEngine, user: str, doctype: str, op: Operation,
             doc: Document | None) -> bool:
    ok = engine.has_permission(user, doctype, op.value, doc)
    if op in (Operation.SUBMIT, Operation.CANCEL):
        ok = ok and engine.has_permission(user, doctype, "write", doc)
    return ok


def _allowed_links(engine: PermissionEngine, user: str, doctype: str) -> dict[str, str]:
    ups = engine.user_permissions(user)
    meta = engine.meta(doctype)
    out = {}
    for f in meta.fields if meta else []:
        if f.fieldtype != "Link" or f.ignore_user_permissions or f.options not in ups:
            continue
        allowed = engine.allowed_docs(ups[f.options], doctype)
        if allowed:
            out[f.fieldname] = sorted(allowed)[0]
    return out


def truth(site: SiteData, engine: PermissionEngine, user: str, doctype: str,
          op: Operation) -> Outcome:
    if doctype not in site.doctypes:
        # a DocType the site does not have (a guessed catalogue entry): no verdict is right
        return Outcome.ERROR
    if not applicable(site, doctype, op):
        return Outcome.NOT_APPLICABLE
    dt = site.doctypes[doctype]
    if op is Operation.CREATE:
        # A new document owned by the user. Hooked DocTypes (ToDo, Note, User) judge the
        # content, which a caller chooses (a ToDo allocated to itself), so only the rules count;
        # so does a restricted link, which a caller fills with an allowed value (strict mode
        # refuses it empty).
        new = None if dt.hook else Document(doctype=doctype, name="", owner=user,
                                            values=_allowed_links(engine, user, doctype))
        ok = engine.has_permission(user, doctype, "create", new)
        return Outcome.ALLOWED if ok else Outcome.DENIED
    docs = list(engine.documents(doctype))  # system DocTypes (User, Role, ...) included
    if dt.issingle:
        docs = [d for d in docs if d.name == doctype] or docs
    wanted = WANTED_STATUS.get(op)
    if wanted is not None:
        docs = [d for d in docs if d.docstatus in wanted]
    if not docs:
        ok = _allowed(engine, user, doctype, op, None)
    else:
        ok = any(_allowed(engine, user, doctype, op, d) for d in docs)
    return Outcome.ALLOWED if ok else Outcome.DENIED
