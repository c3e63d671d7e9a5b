"""The Frappe core permission hooks the simulator models (SPEC.md §3.7).

A DocType opts in through ``DocTypeDef.hook``:

* ``todo``: ``frappe.desk.doctype.todo.todo`` - a user whose roles give the right through a
  non-automatic role sees every ToDo; everybody else only ToDos allocated to or assigned
  by them (document hook and list condition).
* ``note``: ``frappe.desk.doctype.note.note`` - public notes and one's own.
* ``user``: ``frappe.core.doctype.user.user`` - nobody but Administrator reaches the
  Administrator and Guest records.

Document hooks return ``True``/``False`` (``None`` would mean "no opinion"); list hooks return
a row predicate, or ``None`` for "no condition".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from audit.sim.model import Document

if TYPE_CHECKING:
    from audit.sim.permissions import PermissionEngine

ADMIN = "Administrator"
GUEST = "Guest"
AUTOMATIC_ROLES = frozenset({"Administrator", "Guest", "All", "Desk User"})
STANDARD_USERS = (ADMIN, GUEST)

RowPredicate = Callable[[Document], bool]


def value(doc: Document, fieldname: str) -> Any:
    if fieldname == "name":
        return doc.name
    if fieldname == "owner":
        return doc.owner
    return doc.values.get(fieldname)


def _doctype_roles(engine: PermissionEngine, doctype: str, right: str | None) -> set[str]:
    """``frappe.permissions.get_doctype_roles``: roles of rules (any level) granting ``right``."""
    if right is None:
        return set()
    return {r.role for r in engine.site.effective_rules(doctype) if right in r.rights}


def _todo_privileged(engine: PermissionEngine, user: str, right: str | None) -> bool:
    roles = _doctype_roles(engine, "ToDo", right) - AUTOMATIC_ROLES
    return bool(roles & engine.roles(user))


def doc_hook(engine: PermissionEngine, hook: str, doc: Document, ptype: str | None,
             user: str) -> bool | None:
    """The controller ``has_permission`` hook of ``hook`` for ``doc``."""
    if hook == "todo":
        if _todo_privileged(engine, user, ptype):
            return True
        return bool(value(doc, "allocated_to") == user or value(doc, "assigned_by") == user)
    if hook == "note":
        if value(doc, "public") in (1, True, "1") or user == ADMIN:
            return True
        return user == doc.owner
    if hook == "user":
        return not (user != ADMIN and doc.name in STANDARD_USERS)
    return None


def query_hook(engine: PermissionEngine, hook: str, user: str) -> RowPredicate | None:
    """The ``permission_query_conditions`` hook of ``hook`` as a row predicate."""
    if hook == "todo":
        if _todo_privileged(engine, user, "read"):
            return None
        return lambda d: value(d, "allocated_to") == user or value(d, "assigned_by") == user
    if hook == "note":
        if user == ADMIN:
            return None
        return lambda d: d.owner == user or value(d, "public") in (1, True, "1")
    if hook == "user":
        if user == ADMIN:
            return None
        return lambda d: d.name not in STANDARD_USERS
    return None


def hook_label(hook: str) -> str:
    """The dotted path Frappe prints for a hook in debug output."""
    return {
        "todo": "frappe.desk.doctype.todo.todo.has_permission",
        "note": "frappe.desk.doctype.note.note.has_permission",
        "user": "frappe.core.doctype.user.user.has_permission",
    }.get(hook, hook)
