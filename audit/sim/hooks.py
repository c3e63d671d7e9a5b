"""The Frappe core permission hooks the simulator models (SPEC.md §3.7).

A DocType opts in through ``DocTypeDef.hook``:

* ``todo``: ``frappe.desk.doctype.todo.todo`` - a user whose roles give the right through a
  non-automatic role sees every ToDo; everybody else only ToDos allocated to or assigned
  by them (document hook and list condition).
* ``note``: ``frappe.desk.doctype.note.note`` - public notes and one's own.
* ``user``: ``frappe.core.doctype.user.user`` - nobody but Administrator reaches the
  Administrator and Guest records.
* the other document hooks Frappe 15.55.1 core registers, as SPEC.md §3.7 describes them:
  ``event``, ``file``, ``contact`` / ``address``, ``communication``, ``dashboard_chart``,
  ``number_card``, ``kanban_board``, ``prepared_report``, ``notification_settings``,
  ``workflow_action`` (document hooks only: their list conditions are not modelled).
* ``deny``: an installed app's hook that refuses every document to everyone but
  Administrator (lists are not filtered: Frappe's lists never call document hooks).

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


def _truthy(raw: Any) -> bool:
    return raw in (1, True, "1")


def _table_roles(doc: Document, fieldname: str) -> set[str]:
    rows = doc.values.get(fieldname) or []
    return {str(r.get("role")) for r in rows if isinstance(r, dict) and r.get("role")}


def _allowed_report(engine: PermissionEngine, user: str, report: Any) -> bool:
    """``get_allowed_reports``: a report whose roles the user holds."""
    roles = engine.site.settings.report_roles.get(str(report or ""), ())
    return bool(set(roles) & engine.roles(user))


def _doctype_with_read(engine: PermissionEngine, user: str, doctype: Any) -> bool:
    """``get_doctypes_with_read``: role read or select on the DocType."""
    perms = engine.role_permissions(user, str(doctype or ""))
    return bool(perms.get("read") or perms.get("select"))


def _linked(engine: PermissionEngine, user: str, doctype: Any, name: Any, ptype: str) -> bool:
    target = engine.document(str(doctype), str(name)) if doctype and name else None
    return target is not None and engine.has_permission(user, str(doctype), ptype, target)


CONTACT_LINKS = ("Customer", "Supplier", "Company", "Sales Partner")


def _contact(engine: PermissionEngine, doc: Document, ptype: str | None, user: str) -> bool:
    """``address_and_contact.has_permission``: judged by Customer / Supplier / Company /
    Sales Partner links only when one points at a DocType the user cannot read."""
    meta = engine.meta(doc.doctype)
    links = [f for f in (meta.fields if meta else []) if f.fieldtype == "Link"
             and f.options in CONTACT_LINKS]
    if all(_doctype_with_read(engine, user, f.options) for f in links):
        return True
    names = [doc.values.get(f.fieldname) for f in links]
    if any(v and _linked(engine, user, f.options, v, ptype or "read")
           for f, v in zip(links, names, strict=True)):
        return True
    return not any(names)


def _file(engine: PermissionEngine, doc: Document, ptype: str | None, user: str) -> bool:
    if ptype == "create":
        return engine.has_permission(user, "File", "create")
    if _truthy(doc.values.get("is_folder")) and doc.owner == ADMIN and \
            ptype in ("write", "delete") and user != ADMIN:
        return False
    if not _truthy(doc.values.get("is_private")) and ptype in ("read", "select"):
        return True
    if user != GUEST and doc.owner == user:
        return True
    ref_dt, ref_name = doc.values.get("attached_to_doctype"), doc.values.get("attached_to_name")
    if ref_dt and ref_name:
        right = "write" if ptype in ("write", "create", "delete") else "read"
        return _linked(engine, user, ref_dt, ref_name, right)
    return False


def _chart(engine: PermissionEngine, doc: Document, user: str, kind_field: str) -> bool:
    """Dashboard Chart (``roles`` table first) and Number Card."""
    if "System Manager" in engine.roles(user):
        return True
    allowed = _table_roles(doc, "roles") if kind_field == "chart_type" else set()
    if allowed:
        return bool(allowed & engine.roles(user))
    if doc.values.get(kind_field) == "Report":
        return _allowed_report(engine, user, doc.values.get("report_name"))
    return _doctype_with_read(engine, user, doc.values.get("document_type"))


def _more(engine: PermissionEngine, hook: str, doc: Document, ptype: str | None,
          user: str) -> bool | None:
    """The hooks of SPEC.md §3.7 beyond ToDo, Note and User."""
    if hook == "event":
        return doc.values.get("event_type") == "Public" or doc.owner == user
    if hook == "kanban_board":
        return not _truthy(doc.values.get("private")) or user == ADMIN or doc.owner == user
    if hook in ("contact", "address"):
        return _contact(engine, doc, ptype, user)
    if hook == "communication":
        ref_dt, ref_name = doc.values.get("reference_doctype"), doc.values.get("reference_name")
        if ptype != "read" or (ref_dt == "Communication" and ref_name == doc.name):
            return None
        return True if ref_dt and ref_name and _linked(engine, user, ref_dt, ref_name,
                                                        "read") else None
    if hook == "file":
        return _file(engine, doc, ptype, user)
    if hook == "dashboard_chart":
        return _chart(engine, doc, user, "chart_type")
    if hook == "number_card":
        return _chart(engine, doc, user, "type")
    if hook == "prepared_report":
        return user == ADMIN or "System Manager" in engine.roles(user) or \
            _allowed_report(engine, user, doc.values.get("report_name"))
    if hook == "notification_settings":
        if user == ADMIN:
            return True
        if "System Manager" in engine.roles(user):
            return doc.name != ADMIN
        return doc.name == user
    if hook == "workflow_action":
        return bool(_table_roles(doc, "permitted_roles") & engine.roles(user))
    return None


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
    if hook == "deny":
        return user == ADMIN
    return _more(engine, hook, doc, ptype, user)


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
        "event": "frappe.desk.doctype.event.event.has_permission",
        "file": "frappe.core.doctype.file.file.has_permission",
        "contact": "frappe.contacts.address_and_contact.has_permission",
        "address": "frappe.contacts.address_and_contact.has_permission",
        "communication": "frappe.core.doctype.communication.communication.has_permission",
        "dashboard_chart": "frappe.desk.doctype.dashboard_chart.dashboard_chart.has_permission",
        "number_card": "frappe.desk.doctype.number_card.number_card.has_permission",
        "kanban_board": "frappe.desk.doctype.kanban_board.kanban_board.has_permission",
        "prepared_report": "frappe.core.doctype.prepared_report.prepared_report.has_permission",
        "notification_settings": ("frappe.desk.doctype.notification_settings."
                                  "notification_settings.has_permission"),
        "workflow_action": "frappe.workflow.doctype.workflow_action.workflow_action."
                           "has_permission",
        "deny": "custom_app.permissions.has_permission",
    }.get(hook, hook)
