"""Only successful document changes are kept and journaled; failures leave no trace."""

from __future__ import annotations

import copy

from audit.sim.server import SimServer

from .helpers import Client


def test_successful_changes_are_journaled(sim: SimServer, client: Client) -> None:
    made = client.post("/api/resource/Memo", "memo", json_body={"memo_text": "note"})
    name = made.json()["data"]["name"]
    current = client.get(f"/api/resource/Memo/{name}", "memo").json()["data"]["modified"]
    edited = client.put(f"/api/resource/Memo/{name}", "memo",
                        json_body={"memo_text": "edited", "modified": current})
    assert edited.status_code == 200
    assert client.delete(f"/api/resource/Memo/{name}", "memo").status_code == 202
    assert [(e.action, e.doctype, e.name, e.user) for e in sim.journal] == [
        ("insert", "Memo", name, "memo@example.com"),
        ("update", "Memo", name, "memo@example.com"),
        ("delete", "Memo", name, "memo@example.com"),
    ]
    deleted = client.get("/api/resource/Deleted%20Document", "auditor",
                         params={"fields": '["deleted_name", "owner"]', "limit_page_length": 0})
    assert {"deleted_name": name, "owner": "memo@example.com"} in deleted.json()["data"]
    versions = client.get("/api/resource/Version", "auditor",
                          params={"filters": f'{{"docname": "{name}"}}', "fields": '["data"]'})
    assert '"edited"' in versions.json()["data"][0]["data"]


def test_failed_requests_change_nothing(sim: SimServer, client: Client) -> None:
    before = copy.deepcopy(sim.site.documents)
    probes = [
        client.post("/api/resource/Memo", "memo", json_body={"memo_text": ["probe"]}),
        client.post("/api/resource/Vendor", "clerk", json_body={"vendor_name": "Acme Corp"}),
        client.put("/api/resource/Vendor/Acme%20Corp", "clerk",
                   json_body={"modified": "2000-01-01 00:00:00", "notes": "x"}),
        client.put("/api/resource/Payment%20Voucher/mqi73o540p", "manager",
                   json_body={"docstatus": 1, "amended_from": "__nonexistent__"}),
        client.delete("/api/resource/Payment%20Voucher/9lpd33hdpe", "manager"),
        client.delete("/api/resource/Vendor/Globex%20Ltd", "manager"),
        client.post("/api/method/frappe.client.insert_many", "memo", json_body={
            "docs": [{"doctype": "Memo", "memo_text": "ok"},
                     {"doctype": "Memo", "memo_text": ["bad"]}]}),
    ]
    assert [p.status_code for p in probes] == [417, 409, 417, 417, 417, 417, 417]
    assert sim.journal == []
    assert sim.site.documents == before


def test_autoincrement_counter_is_consumed_even_on_failure(sim: SimServer) -> None:
    from audit.sim.model import DocTypeDef, FieldDef, PermRule

    sim.site.doctypes["Ticket"] = DocTypeDef(
        name="Ticket", module="Custom", custom=True, autoname="autoincrement",
        fields=[FieldDef("subject", "Data", reqd=True)],
        permissions=[PermRule("Vendor Clerk", rights=frozenset({"read", "create"}))])
    client = Client(sim)
    assert client.post("/api/resource/Ticket", "clerk", json_body={}).status_code == 417
    made = client.post("/api/resource/Ticket", "clerk", json_body={"subject": "x"})
    assert made.json()["data"]["name"] == "2"
