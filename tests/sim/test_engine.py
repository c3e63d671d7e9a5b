"""The permission engine on its own: the answers the recorded server gave."""

from __future__ import annotations

import pytest

from audit.sim.context import SiteRuntime
from audit.sim.fixtures import reference
from audit.sim.model import Document, SiteData, UserPermission
from audit.sim.permissions import PermissionEngine, Trace


@pytest.fixture
def site() -> SiteData:
    return reference.build()


@pytest.fixture
def engine(site: SiteData) -> PermissionEngine:
    return SiteRuntime(site).engine


def doc(site: SiteData, doctype: str, name: str) -> Document:
    found = SiteRuntime(site).store.get(doctype, name)
    assert found is not None
    return found


def test_roles_follow_frappe(engine: PermissionEngine) -> None:
    assert engine.role_list("clerk@example.com") == ["Vendor Clerk", "All", "Guest", "Desk User"]
    assert engine.role_list("website@example.com") == ["All", "Guest"]
    assert engine.role_list("Guest") == ["Guest"]
    assert {"System Manager", "Vendor Clerk", "All", "Administrator"} <= \
        engine.roles("Administrator")


@pytest.mark.parametrize(("user", "dt", "name", "ptype", "expected"), [
    ("clerk", "Vendor", "Acme Corp", "read", True),
    ("clerk", "Vendor", "Acme Corp", "write", True),
    ("clerk", "Vendor", "Acme Corp", "delete", False),
    ("clerk", "Vendor", "Acme Corp", "create", True),
    ("manager", "Vendor", "Acme Corp", "delete", True),
    ("clerk", "Payment Voucher", "mqi73o540p", "submit", False),
    ("manager", "Payment Voucher", "mqi73o540p", "submit", True),
    ("manager", "Payment Voucher", "9lpd33hdpe", "cancel", True),
    ("restricted", "Vendor", "Globex Ltd", "read", False),
    ("restricted", "Vendor", "Acme Corp", "read", True),
    ("memo", "Memo", "dtjfe7c79i", "read", False),
    ("memo", "Memo", "igcq72cqcc", "delete", True),
    ("memo", "Vendor", "Acme Corp", "read", False),
    ("readonly", "Vendor", "Acme Corp", "write", False),
    ("disabled", "Vendor", "Acme Corp", "write", True),
    ("clerk", "ToDo", "7pro40hjsl", "read", False),
    ("clerk", "ToDo", "m3vmpblu24", "read", True),
    ("readonly", "Note", "5aup69jr5g", "read", False),
    ("readonly", "Note", "5ebeuit273", "read", True),
    ("auditor", "User", "Administrator", "read", False),
    ("website", "User", "website@example.com", "read", True),
])
def test_document_level_answers(site: SiteData, engine: PermissionEngine, user: str, dt: str,
                                name: str, ptype: str, expected: bool) -> None:
    email = f"{user}@example.com"
    assert engine.has_permission(email, dt, ptype, doc(site, dt, name)) is expected


@pytest.mark.parametrize(("user", "ptype", "expected"), [
    ("clerk", "delete", False), ("clerk", "create", True), ("manager", "delete", True),
    ("memo", "read", False), ("Guest", "read", False), ("Administrator", "delete", True),
])
def test_doctype_level_answers(engine: PermissionEngine, user: str, ptype: str,
                               expected: bool) -> None:
    email = user if user in ("Guest", "Administrator") else f"{user}@example.com"
    assert engine.has_permission(email, "Vendor", ptype) is expected


def test_if_owner_rights_are_false_at_doctype_level(engine: PermissionEngine) -> None:
    assert engine.has_permission("memo@example.com", "Memo", "read") is True
    assert engine.has_permission("memo@example.com", "Memo", "write") is False
    assert engine.has_permission("memo@example.com", "Memo", "create") is True


def test_doc_permissions_match_the_recording(site: SiteData, engine: PermissionEngine) -> None:
    own = engine.doc_permissions("memo@example.com", "Memo", doc(site, "Memo", "igcq72cqcc"))
    assert own["if_owner"] == {"read": 1, "write": 1, "delete": 1}
    assert (own["read"], own["write"], own["create"], own["select"]) == (1, 1, 1, 0)
    other = engine.doc_permissions("memo@example.com", "Memo", doc(site, "Memo", "dtjfe7c79i"))
    assert (other["read"], other["write"], other["delete"], other["create"]) == (0, 0, 0, 1)
    assert engine.doc_permissions("restricted@example.com", "Vendor",
                                  doc(site, "Vendor", "Globex Ltd")) == {}
    assert list(own)[:2] == ["if_owner", "has_if_owner_enabled"]


def test_controller_hook_denial_is_null_key_without_ptype(site: SiteData,
                                                          engine: PermissionEngine) -> None:
    perms = engine.doc_permissions("clerk@example.com", "ToDo", doc(site, "ToDo", "7pro40hjsl"))
    assert perms == {"null": 0}


def test_reasons_are_logged_like_frappe(site: SiteData, engine: PermissionEngine) -> None:
    logs: list[str] = []
    engine.check("memo@example.com", "Vendor", "read", doc(site, "Vendor", "Acme Corp"),
                 trace=Trace(logs=logs))
    assert logs == ["User <strong>memo@example.com</strong> does not have doctype access via "
                    "role permission for document <strong>Vendor</strong>",
                    "User <strong>memo@example.com</strong> does not have access to this document"]
    logs.clear()
    engine.check("restricted@example.com", "Vendor", "write", doc(site, "Vendor", "Globex Ltd"),
                 trace=Trace(logs=logs))
    assert logs == ["Not allowed for Vendor: Globex Ltd",
                    "User <strong>restricted@example.com</strong> does not have access to this "
                    "document: Vendor - Globex Ltd"]


def test_shares_grant_read_write_but_never_delete(site: SiteData,
                                                  engine: PermissionEngine) -> None:
    from audit.sim.model import DocShare

    acme = doc(site, "Vendor", "Acme Corp")
    site.shares.append(DocShare("Vendor", "Acme Corp", user="memo@example.com", write=True))
    assert engine.has_permission("memo@example.com", "Vendor", "read", acme)
    assert engine.has_permission("memo@example.com", "Vendor", "write", acme)
    assert not engine.has_permission("memo@example.com", "Vendor", "delete", acme)
    assert engine.has_permission("memo@example.com", "Vendor", "read")  # doctype level via share
    everyone = DocShare("Vendor", "Initech GmbH", everyone=True)
    site.shares.append(everyone)
    initech = doc(site, "Vendor", "Initech GmbH")
    assert engine.has_permission("memo@example.com", "Vendor", "read", initech)
    assert not engine.has_permission("Guest", "Vendor", "read", initech)


def test_link_field_user_permissions_and_strict_mode(site: SiteData,
                                                     engine: PermissionEngine) -> None:
    site.user_permissions.append(UserPermission(user="clerk@example.com", allow="Country",
                                                for_value="India"))
    acme, globex = doc(site, "Vendor", "Acme Corp"), doc(site, "Vendor", "Globex Ltd")
    assert engine.has_permission("clerk@example.com", "Vendor", "read", acme)
    assert not engine.has_permission("clerk@example.com", "Vendor", "read", globex)
    empty = Document("Vendor", "Nowhere Inc", owner="manager@example.com",
                     values={"vendor_name": "Nowhere Inc"})
    assert engine.has_permission("clerk@example.com", "Vendor", "read", empty)
    site.settings.apply_strict_user_permissions = True
    assert not engine.has_permission("clerk@example.com", "Vendor", "read", empty)
    flt = engine.list_filter("clerk@example.com", "Vendor")
    assert [d.name for d in site.documents["Vendor"].values() if flt(d)] == ["Acme Corp"]


def test_applicable_for_limits_a_user_permission(site: SiteData,
                                                 engine: PermissionEngine) -> None:
    site.user_permissions.append(UserPermission(user="clerk@example.com", allow="Vendor",
                                                for_value="Acme Corp",
                                                applicable_for="Payment Voucher",
                                                apply_to_all_doctypes=False))
    assert engine.has_permission("clerk@example.com", "Vendor", "read",
                                 doc(site, "Vendor", "Globex Ltd"))
    assert not engine.has_permission("clerk@example.com", "Payment Voucher", "read",
                                      doc(site, "Payment Voucher", "mqi73o540p"))


def test_submit_is_zero_on_non_submittable(site: SiteData, engine: PermissionEngine) -> None:
    assert not engine.has_permission("auditor@example.com", "Vendor", "submit")
    perms = engine.doc_permissions("Administrator", "Vendor", doc(site, "Vendor", "Acme Corp"))
    assert perms["submit"] == 0 and perms["read"] == 1


def test_child_tables_need_a_parent(site: SiteData, engine: PermissionEngine) -> None:
    assert not engine.has_permission("auditor@example.com", "Has Role", "read")
    assert engine.check("auditor@example.com", "Has Role", "read", parent_doctype="User")
    assert not engine.check("auditor@example.com", "Has Role", "read", parent_doctype="Vendor")


def test_custom_docperm_replaces_standard(site: SiteData, engine: PermissionEngine) -> None:
    assert engine.has_permission("readonly@example.com", "ToDo", "read",
                                 doc(site, "ToDo", "m3vmpblu24"))
    del site.custom_perms["ToDo"]
    assert not engine.has_permission("readonly@example.com", "ToDo", "read",
                                     doc(site, "ToDo", "m3vmpblu24"))


def test_engine_lists_system_documents_too(engine: PermissionEngine) -> None:
    users = [d.name for d in engine.documents("User")]
    assert "clerk@example.com" in users and "Administrator" in users
    assert engine.document("Role", "Vendor Clerk") is not None
    assert PermissionEngine(engine.site).documents("User") == []  # stored documents only


def test_list_filters(site: SiteData, engine: PermissionEngine) -> None:
    def names(user: str, dt: str) -> list[str]:
        flt = engine.list_filter(user, dt)
        return sorted(d.name for d in site.documents[dt].values() if flt(d))

    assert names("memo@example.com", "Memo") == ["b6m4b22h68", "igcq72cqcc"]
    assert names("clerk@example.com", "ToDo") == ["dv0ml5ckt4", "m3vmpblu24"]
    assert names("readonly@example.com", "ToDo") == sorted(site.documents["ToDo"])
    assert names("restricted@example.com", "Vendor") == ["Acme Corp"]
    assert names("restricted@example.com", "Payment Voucher") == []
    assert names("readonly@example.com", "Note") == ["5ebeuit273"]
