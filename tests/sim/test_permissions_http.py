"""Every permission rule, seen through the REST API on loopback (reference fixture)."""

from __future__ import annotations

import pytest

from audit.sim.model import DocShare, UserPermission
from audit.sim.server import SimServer

from .helpers import Client, messages

STALE = {"modified": "2000-01-01 00:00:00"}


def names(reply: object) -> list[str]:
    return [row["name"] for row in reply.json()["data"]]  # type: ignore[attr-defined]


# ---- role rules -----------------------------------------------------------------------------
def test_role_grants_and_denies(client: Client) -> None:
    assert client.get("/api/resource/Vendor/Acme%20Corp", "clerk").status_code == 200
    denied = client.get("/api/resource/Vendor/Acme%20Corp", "memo")
    assert denied.status_code == 403 and "_error_message" not in denied.json()
    listed = client.get("/api/resource/Vendor", "memo")
    assert listed.status_code == 403
    assert listed.json()["_error_message"] == "No permission for Vendor"


def test_write_create_delete_follow_the_role(client: Client) -> None:
    put = client.put("/api/resource/Vendor/Acme%20Corp", "readonly", json_body=STALE)
    assert put.status_code == 403
    assert "'write' permission" in put.json()["_error_message"]
    assert client.put("/api/resource/Vendor/Acme%20Corp", "clerk",
                      json_body=STALE).json()["exc_type"] == "TimestampMismatchError"
    create = client.post("/api/resource/Vendor", "readonly", json_body={"notes": "x"})
    assert create.status_code == 403 and "'create'" in create.json()["_error_message"]
    gone = client.delete("/api/resource/Vendor/Initech%20GmbH", "clerk")
    assert gone.status_code == 403
    assert messages(gone)[-1] == "User not allowed to delete Vendor: Initech GmbH"


# ---- if_owner -------------------------------------------------------------------------------
def test_if_owner_rules(client: Client) -> None:
    assert client.get("/api/resource/Memo/igcq72cqcc", "memo").status_code == 200
    assert client.get("/api/resource/Memo/dtjfe7c79i", "memo").status_code == 403
    assert names(client.get("/api/resource/Memo", "memo")) == ["b6m4b22h68", "igcq72cqcc"]
    own = client.put("/api/resource/Memo/igcq72cqcc", "memo", json_body=STALE)
    assert own.json()["exc_type"] == "TimestampMismatchError"
    created = client.post("/api/resource/Memo", "memo", json_body={"memo_text": "mine"})
    assert created.status_code == 200
    assert created.json()["data"]["owner"] == "memo@example.com"


# ---- user permissions -----------------------------------------------------------------------
def test_user_permission_on_the_doctype_and_its_links(client: Client) -> None:
    assert names(client.get("/api/resource/Vendor", "restricted")) == ["Acme Corp"]
    globex = client.get("/api/resource/Vendor/Globex%20Ltd", "restricted")
    assert globex.status_code == 403
    assert messages(globex)[0].startswith("Not allowed for Vendor: Globex Ltd<br>")
    assert client.get("/api/resource/Payment%20Voucher", "restricted").json() == {"data": []}
    voucher = client.get("/api/resource/Payment%20Voucher/mqi73o540p", "restricted")
    assert voucher.status_code == 403
    assert "is linked to Vendor 'Globex Ltd' in field Vendor" in messages(voucher)[0]


def test_new_user_permission_takes_effect_at_once(sim: SimServer, client: Client) -> None:
    sim.site.user_permissions.append(UserPermission(user="clerk@example.com", allow="Country",
                                                    for_value="Germany"))
    assert names(client.get("/api/resource/Vendor", "clerk",
                            params={"order_by": "name asc"})) == ["Globex Ltd", "Initech GmbH"]
    sim.site.settings.apply_strict_user_permissions = True
    client.post("/api/resource/Vendor", "manager", json_body={"vendor_name": "No Country"})
    assert "No Country" not in names(client.get("/api/resource/Vendor", "clerk"))


# ---- shares ---------------------------------------------------------------------------------
def test_shares(sim: SimServer, client: Client) -> None:
    assert client.get("/api/resource/Vendor/Acme%20Corp", "memo").status_code == 403
    sim.site.shares.append(DocShare("Vendor", "Acme Corp", user="memo@example.com", write=True))
    assert client.get("/api/resource/Vendor/Acme%20Corp", "memo").status_code == 200
    assert names(client.get("/api/resource/Vendor", "memo")) == ["Acme Corp"]
    put = client.put("/api/resource/Vendor/Acme%20Corp", "memo", json_body=STALE)
    assert put.json()["exc_type"] == "TimestampMismatchError"
    assert client.delete("/api/resource/Vendor/Acme%20Corp", "memo").status_code == 403


def test_share_created_through_rest(client: Client) -> None:
    made = client.post("/api/resource/DocShare", "auditor", json_body={
        "share_doctype": "Memo", "share_name": "dtjfe7c79i", "user": "memo@example.com",
        "read": 1})
    assert made.status_code == 200
    assert client.get("/api/resource/Memo/dtjfe7c79i", "memo").status_code == 200
    assert client.delete(f"/api/resource/DocShare/{made.json()['data']['name']}",
                         "auditor").status_code == 202
    assert client.get("/api/resource/Memo/dtjfe7c79i", "memo").status_code == 403


# ---- controller hooks -----------------------------------------------------------------------
def test_todo_hook(client: Client) -> None:
    assert names(client.get("/api/resource/ToDo", "clerk")) == ["dv0ml5ckt4", "m3vmpblu24"]
    assert len(names(client.get("/api/resource/ToDo", "auditor"))) == 4
    other = client.get("/api/resource/ToDo/7pro40hjsl", "clerk")
    assert other.status_code == 403
    assert messages(other)[0].startswith("Not allowed via controller permission check")
    assert client.get("/api/method/frappe.client.get_count", "clerk",
                      params={"doctype": "ToDo"}).json() == {"message": 4}


def test_note_and_user_hooks(client: Client) -> None:
    assert names(client.get("/api/resource/Note", "readonly")) == ["5ebeuit273"]
    assert client.get("/api/resource/Note/54j4tj1nr7", "readonly").status_code == 403
    users = names(client.get("/api/resource/User", "auditor", params={"limit_page_length": 0}))
    assert "Administrator" not in users and "clerk@example.com" in users
    assert client.get("/api/resource/User/Administrator", "auditor").status_code == 403
    assert client.get("/api/resource/User/Administrator", "Administrator").status_code == 200


# ---- Administrator and System Manager -------------------------------------------------------
def test_administrator_passes_every_check_but_not_validation(client: Client) -> None:
    assert client.get("/api/resource/Memo/dtjfe7c79i", "Administrator").status_code == 200
    put = client.put("/api/resource/Memo/dtjfe7c79i", "Administrator", json_body=STALE)
    assert put.json()["exc_type"] == "TimestampMismatchError"
    gone = client.delete("/api/resource/Payment%20Voucher/9lpd33hdpe", "Administrator")
    assert gone.status_code == 417 and "Submitted Record cannot be deleted" in messages(gone)[0]


def test_system_manager_is_an_ordinary_role(client: Client) -> None:
    assert client.get("/api/resource/System%20Settings/System%20Settings",
                      "auditor").status_code == 200
    assert client.get("/api/resource/Note/54j4tj1nr7", "auditor").status_code == 403
    assert client.get("/api/resource/Version", "readonly").status_code == 403
    assert client.get("/api/resource/Version", "auditor").status_code == 200
    bare = client.get("/api/method/frappe.core.page.permission_manager.permission_manager."
                      "get_permissions", "clerk", params={"doctype": "Vendor"})
    assert bare.status_code == 403 and "_server_messages" not in bare.json()


# ---- Singles and child tables ---------------------------------------------------------------
def test_single_doctype(client: Client) -> None:
    assert client.get("/api/resource/System%20Settings/System%20Settings",
                      "clerk").status_code == 403
    single = client.get("/api/resource/System%20Settings/System%20Settings", "auditor").json()
    assert single["data"]["idx"] == "0" and "creation" not in single["data"]
    listed = client.get("/api/resource/System%20Settings", "auditor")
    assert listed.status_code == 500 and listed.json()["exc_type"] == "ProgrammingError"
    value = client.get("/api/method/frappe.client.get_single_value", "auditor",
                       params={"doctype": "System Settings", "field": "time_zone"})
    assert value.json() == {"message": "UTC"}


def test_child_tables(client: Client) -> None:
    bare = client.get("/api/resource/Has%20Role", "auditor")
    assert bare.status_code == 403 and set(bare.json()) == {"exception", "exc_type", "exc"}
    rows = client.get("/api/resource/Has%20Role", "auditor",
                      params={"parent": "User", "fields": '["parent", "role"]',
                              "filters": '[["parent", "=", "clerk@example.com"]]'})
    assert rows.json()["data"] == [{"parent": "clerk@example.com", "role": "Vendor Clerk"}]
    perms = client.get("/api/resource/DocPerm", "auditor",
                       params={"parent": "DocType", "fields": '["role"]',
                               "filters": '{"parent": "Vendor"}', "limit_page_length": 0})
    assert sorted(r["role"] for r in perms.json()["data"]) == [
        "Readonly Auditor", "System Manager", "Vendor Clerk", "Vendor Manager"]
    assert client.get("/api/resource/Has%20Role", "memo",
                      params={"parent": "Vendor"}).status_code == 403


# ---- submittable DocTypes -------------------------------------------------------------------
def _modified(client: Client, name: str) -> str:
    reply = client.get(f"/api/resource/Payment%20Voucher/{name}", "manager")
    return str(reply.json()["data"]["modified"])


def test_submit_and_cancel_rules(client: Client) -> None:
    clerk = client.put("/api/resource/Payment%20Voucher/mqi73o540p", "clerk",
                       json_body={"docstatus": 1})
    assert clerk.status_code == 403 and "'write'" in clerk.json()["_error_message"]
    back = client.put("/api/resource/Payment%20Voucher/9lpd33hdpe", "manager",
                      json_body={"docstatus": 0})
    assert back.json()["exc_type"] == "DocstatusTransitionError"
    after = client.put("/api/resource/Payment%20Voucher/9lpd33hdpe", "manager",
                       json_body={"amount": 1})
    assert after.json()["exc_type"] == "UpdateAfterSubmitError"
    probe = client.put("/api/resource/Payment%20Voucher/mqi73o540p", "manager",
                       json_body={"docstatus": 1, "amended_from": "__nonexistent__"})
    assert probe.json()["exc_type"] == "LinkValidationError"
    submitted = client.put("/api/resource/Payment%20Voucher/mqi73o540p", "manager",
                           json_body={"docstatus": 1, "modified": _modified(client, "mqi73o540p")})
    assert submitted.status_code == 200 and submitted.json()["data"]["docstatus"] == 1
    cancelled = client.put("/api/resource/Payment%20Voucher/mqi73o540p", "manager",
                           json_body={"docstatus": 2})
    assert cancelled.status_code == 200 and cancelled.json()["data"]["docstatus"] == 2
    edit = client.put("/api/resource/Payment%20Voucher/mqi73o540p", "manager",
                      json_body={"amount": 5})
    assert edit.status_code == 417 and edit.json()["exception"].endswith(
        "Cannot edit cancelled document")


def test_submit_needs_a_submittable_doctype(client: Client) -> None:
    reply = client.put("/api/resource/Vendor/Acme%20Corp", "auditor", json_body={"docstatus": 1})
    assert reply.status_code == 403 and "'submit'" in reply.json()["_error_message"]
    new = client.post("/api/resource/Payment%20Voucher", "clerk",
                      json_body={"vendor": "Acme Corp", "amount": 5, "docstatus": 1})
    assert new.status_code == 403 and "'submit'" in new.json()["_error_message"]


def test_cancel_checks_back_links_from_submitted_documents(client: Client) -> None:
    client.put("/api/resource/Payment%20Voucher/mqi73o540p", "manager",
               json_body={"docstatus": 1, "amended_from": None})
    amended = client.post("/api/resource/Payment%20Voucher", "manager",
                          json_body={"vendor": "Initech GmbH", "amount": 1500,
                                     "amended_from": "9lpd33hdpe", "docstatus": 1})
    assert amended.status_code == 200
    cancel = client.post("/api/method/frappe.client.cancel", "manager",
                         json_body={"doctype": "Payment Voucher", "name": "9lpd33hdpe"})
    assert cancel.status_code == 200  # amended_from links are ignored on cancel


@pytest.mark.parametrize("user", ["clerk", "manager", "readonly", "memo", "restricted"])
def test_has_permission_method_agrees_with_the_engine(sim: SimServer, client: Client,
                                                      user: str) -> None:
    email = f"{user}@example.com"
    for doctype in ("Vendor", "Payment Voucher", "Memo", "ToDo", "Note"):
        for doc in sim.engine.documents(doctype):
            for ptype in ("read", "write", "delete", "submit", "cancel", "create"):
                reply = client.get("/api/method/frappe.client.has_permission", user,
                                   params={"doctype": doctype, "docname": doc.name,
                                           "perm_type": ptype})
                expected = sim.engine.has_permission(email, doctype, ptype, doc)
                assert reply.json() == {"message": {"has_permission": expected}}, \
                    (doctype, doc.name, ptype)
