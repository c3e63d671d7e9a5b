"""Frappe 15.55.1's core ``has_permission`` hooks as SPEC.md §3.7 describes them, each case
written out from that table; and no User Permission bypass for users who may write them."""

from __future__ import annotations

from typing import Any

import pytest

from audit.sim.fixtures.kit import doctype
from audit.sim.model import Document, PermRule, SiteData, UserDef, UserPermission
from audit.sim.permissions import PermissionEngine

CLERK = "clerk@x.example"
OTHER = "other@x.example"
ADMIN_USER = "sm@x.example"
ALL_RIGHTS = "Clerk: read write create delete"


def _site() -> SiteData:
    site = SiteData(name="hooks.localhost")
    hooked = {"Event": "event", "Kanban Board": "kanban_board", "Workflow Action":
              "workflow_action", "Notification Settings": "notification_settings",
              "Prepared Report": "prepared_report", "File": "file", "Dashboard Chart":
              "dashboard_chart", "Number Card": "number_card", "Contact": "contact",
              "Communication": "communication"}
    for name, hook in hooked.items():
        fields = ["customer:Link:Customer:"] if name == "Contact" else []
        site.doctypes[name] = doctype(name, "Core", "frappe", fields,
                                      [ALL_RIGHTS, "System Manager: read write create delete"],
                                      hook=hook)
    site.doctypes["Note Pad"] = doctype("Note Pad", "Core", "frappe",
                                        ["company:Link:Company:"], [ALL_RIGHTS])
    site.doctypes["Secret"] = doctype("Secret", "Core", "frappe", [], ["Other: read write"])
    site.doctypes["Customer"] = doctype("Customer", "Core", "frappe", [], ["Other: read"])
    site.doctypes["Company"] = doctype("Company", "Core", "frappe", [], [ALL_RIGHTS])
    site.doctypes["User Permission"] = doctype("User Permission", "Core", "frappe", [], [
        "Clerk: read write create delete"])
    site.users[CLERK] = UserDef(CLERK, roles=["Clerk"])
    site.users[OTHER] = UserDef(OTHER, roles=["Other"])
    site.users[ADMIN_USER] = UserDef(ADMIN_USER, roles=["System Manager"])
    site.settings.report_roles = {"Clerk Report": ("Clerk",), "Other Report": ("Other",)}
    site.docs("Note Pad")["mine"] = Document("Note Pad", "mine", values={"company": "B"})
    site.docs("Note Pad")["ok"] = Document("Note Pad", "ok", values={"company": "A"})
    site.docs("Secret")["s1"] = Document("Secret", "s1")
    site.docs("Customer")["C1"] = Document("Customer", "C1")
    return site


def _doc(doctype_: str, owner: str = "Administrator", name: str = "D1",
         **values: Any) -> Document:
    return Document(doctype_, name, owner=owner, values=values)


CASES: list[tuple[str, Document, str, str, bool]] = [
    ("event public", _doc("Event", event_type="Public"), CLERK, "write", True),
    ("event private, not the owner", _doc("Event", event_type="Private"), CLERK, "read", False),
    ("event private, the owner", _doc("Event", CLERK, event_type="Private"), CLERK, "read", True),
    ("kanban private", _doc("Kanban Board", private=1), CLERK, "read", False),
    ("kanban private, owner", _doc("Kanban Board", CLERK, private=1), CLERK, "write", True),
    ("kanban shared", _doc("Kanban Board", private=0), CLERK, "read", True),
    ("workflow action, permitted role", _doc("Workflow Action", permitted_roles=[
        {"role": "Clerk"}]), CLERK, "read", True),
    ("workflow action, other role", _doc("Workflow Action", permitted_roles=[
        {"role": "Other"}]), CLERK, "read", False),
    ("notification settings, own", _doc("Notification Settings", name=CLERK), CLERK, "write",
     True),
    ("notification settings, another's", _doc("Notification Settings", name=OTHER), CLERK,
     "read", False),
    ("notification settings, System Manager", _doc("Notification Settings", name=CLERK),
     ADMIN_USER, "read", True),
    ("notification settings, Administrator's", _doc("Notification Settings",
                                                    name="Administrator"), ADMIN_USER,
     "read", False),
    ("prepared report allowed", _doc("Prepared Report", report_name="Clerk Report"), CLERK,
     "read", True),
    ("prepared report not allowed", _doc("Prepared Report", report_name="Other Report"), CLERK,
     "read", False),
    ("public file", _doc("File", is_private=0), CLERK, "read", True),
    ("private file of another", _doc("File", is_private=1), CLERK, "read", False),
    ("own private file", _doc("File", CLERK, is_private=1), CLERK, "write", True),
    ("file attached to a readable document", _doc(
        "File", is_private=1, attached_to_doctype="Note Pad", attached_to_name="ok"), CLERK,
     "read", True),
    ("file attached to an unreadable document", _doc(
        "File", is_private=1, attached_to_doctype="Secret", attached_to_name="s1"), CLERK,
     "read", False),
    ("Administrator's folder", _doc("File", is_folder=1, is_private=0), CLERK, "write", False),
    ("chart for my role", _doc("Dashboard Chart", roles=[{"role": "Clerk"}]), CLERK, "read",
     True),
    ("chart for another role", _doc("Dashboard Chart", roles=[{"role": "Other"}],
                                    document_type="Note Pad"), CLERK, "read", False),
    ("chart on a readable DocType", _doc("Dashboard Chart", document_type="Note Pad"), CLERK,
     "read", True),
    ("chart on an unreadable DocType", _doc("Dashboard Chart", document_type="Secret"), CLERK,
     "read", False),
    ("chart of an allowed report", _doc("Dashboard Chart", chart_type="Report",
                                        report_name="Clerk Report"), CLERK, "read", True),
    ("number card, unreadable DocType", _doc("Number Card", document_type="Secret"), CLERK,
     "read", False),
    ("number card, other report", _doc("Number Card", type="Report",
                                       report_name="Other Report"), CLERK, "read", False),
    ("number card, System Manager", _doc("Number Card", document_type="Secret"), ADMIN_USER,
     "read", True),
    ("contact without customer", _doc("Contact"), CLERK, "read", True),
    ("contact of an unreadable customer", _doc("Contact", customer="C1"), CLERK, "read", False),
    ("communication: the hook never refuses", _doc(
        "Communication", reference_doctype="Secret", reference_name="s1"), CLERK, "read", True),
]


@pytest.mark.parametrize(("label", "doc", "user", "ptype", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_core_hooks(label: str, doc: Document, user: str, ptype: str, expected: bool) -> None:
    engine = PermissionEngine(_site())
    assert engine.has_permission(user, doc.doctype, ptype, doc) is expected, label


def test_write_on_user_permission_does_not_bypass_user_permissions() -> None:
    site = _site()
    site.user_permissions.append(UserPermission(user=CLERK, allow="Company", for_value="A"))
    engine = PermissionEngine(site)
    assert engine.role_permissions(CLERK, "User Permission")["write"]
    assert not engine.has_permission(CLERK, "Note Pad", "read", site.docs("Note Pad")["mine"])
    assert engine.has_permission(CLERK, "Note Pad", "read", site.docs("Note Pad")["ok"])


def test_hook_rules_still_need_a_role() -> None:
    site = _site()
    site.doctypes["Event"].permissions = [PermRule(role="Other", rights=frozenset({"read"}))]
    engine = PermissionEngine(site)
    assert not engine.has_permission(CLERK, "Event", "read", _doc("Event", event_type="Public"))
