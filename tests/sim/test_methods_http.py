"""Whitelisted methods beyond the transcripts: reports, v2 routes, desk and admin calls."""

from __future__ import annotations

import json

from audit.sim.server import SimServer

from .helpers import Client, messages

REPORT = "/api/method/frappe.desk.query_report.run"


def test_report_roles_then_report_right(sim: SimServer, client: Client) -> None:
    params = {"report_name": "Permitted Documents For User"}
    denied = client.get(REPORT, "clerk", params=params)
    assert denied.status_code == 403
    assert messages(denied) == ["You don't have access to Report: Permitted Documents For User"]
    assert client.get(REPORT, "auditor", params=params).status_code == 200
    sim.site.settings.report_roles = {"Permitted Documents For User": ("Vendor Clerk",)}
    second = client.get(REPORT, "clerk", params=params)
    assert messages(second) == ["You don't have permission to get a report on: User"]


def test_v2_routes(client: Client) -> None:
    ok = client.get("/api/v2/document/Vendor/Acme%20Corp", "clerk")
    assert ok.json()["data"]["name"] == "Acme Corp"
    denied = client.get("/api/v2/document/Vendor/Acme%20Corp", "memo").json()
    assert denied["errors"][0]["type"] == "PermissionError" and "exc_type" not in denied
    assert client.get("/api/v2/method/frappe.auth.get_logged_user", "memo").json() == {
        "data": "memo@example.com"}
    meta = client.get("/api/v2/doctype/Vendor/meta", "memo").json()["data"]
    assert {p["role"] for p in meta["permissions"]} >= {"Vendor Clerk", "Vendor Manager"}
    assert client.get("/api/v2/doctype/Vendor/count", "restricted").json() == {"data": 1}


def test_desk_and_client_reads(client: Client) -> None:
    doc = client.get("/api/method/frappe.desk.form.load.getdoc", "clerk",
                     params={"doctype": "Vendor", "name": "Acme Corp"}).json()
    assert doc["docinfo"]["permissions"]["write"] == 1
    got = client.get("/api/method/frappe.client.get", "clerk",
                     params={"doctype": "Vendor", "filters": '{"country": "India"}'})
    assert got.json()["message"]["name"] == "Acme Corp"
    denied = client.get("/api/method/frappe.client.get", "memo",
                        params={"doctype": "Vendor", "name": "Acme Corp"})
    assert "'read' permission" in denied.json()["_error_message"]
    link = client.get("/api/method/frappe.client.validate_link", "clerk",
                      params={"doctype": "Vendor", "docname": "acme corp"})
    assert link.json() == {"message": {"name": "Acme Corp"}}
    value = client.get("/api/method/frappe.client.get_value", "restricted",
                       params={"doctype": "Vendor", "fieldname": "country",
                               "filters": '{"name": "Globex Ltd"}'})
    assert value.json() == {"message": {}}  # filtered like a list
    search = client.get("/api/method/frappe.desk.search.search_link", "clerk",
                        params={"doctype": "Vendor", "txt": "gl"})
    assert search.json() == {"message": [{"value": "Globex Ltd", "description": ""}]}


def test_unknown_and_refused_methods(client: Client) -> None:
    unknown = client.get("/api/method/frappe.client.nope", "clerk")
    assert unknown.status_code == 417
    assert "has no attribute 'nope'" in messages(unknown)[0]
    app = client.get("/api/method/erpnext.api.thing", "clerk")
    assert messages(app)[0] == "App erpnext is not installed"
    verb = client.get("/api/method/frappe.client.insert", "clerk")
    assert verb.status_code == 403 and messages(verb) == ["Not permitted"]
    missing = client.get("/api/method/frappe.client.get_value", "clerk",
                         params={"doctype": "Vendor"})
    assert missing.status_code == 500 and missing.json()["exc_type"] == "TypeError"
    assert client.get("/api/nothing/here", "clerk").json() == {"exc_type": "DoesNotExistError"}
    wrong_verb = client.request("PATCH", "/api/resource/Vendor/Acme%20Corp", "clerk")
    assert wrong_verb.status_code == 405 and "text/html" in wrong_verb.headers["Content-Type"]
    html = client.get("/api/resource/Vendor/Acme%20Corp", "memo",
                      headers={"Accept": "text/html"})
    assert html.status_code == 403 and "Not Permitted" in html.text


def test_admin_calls(sim: SimServer, client: Client) -> None:
    roles = client.get("/api/method/frappe.core.doctype.user.user.get_roles", "memo",
                       params={"uid": "auditor@example.com"})
    assert roles.json()["message"][0] == "System Manager"
    ups = client.get("/api/method/frappe.core.doctype.user_permission.user_permission."
                     "get_user_permissions", "clerk", params={"user": "restricted@example.com"})
    assert ups.json() == {"message": {"Vendor": [{"doc": "Acme Corp", "applicable_for": None,
                                                  "is_default": 0}]}}
    keys = client.post("/api/method/frappe.core.doctype.user.user.generate_keys", "auditor",
                       json_body={"user": "manager@example.com"})
    secret = keys.json()["message"]["api_secret"]
    assert sim.site.users["manager@example.com"].api_secret == secret
    assert [(e.action, e.doctype) for e in sim.journal] == [("update", "User")]
    inspector = client.post("/api/method/run_doc_method", "auditor", json_body={
        "method": "debug", "docs": json.dumps({
            "doctype": "Permission Inspector", "name": "Permission Inspector",
            "ref_doctype": "Memo", "docname": "dtjfe7c79i", "user": "memo@example.com",
            "permission_type": "write"})})
    output = inspector.json()["docs"][0]["output"]
    assert output.endswith("Ouput of has_permission: False")
    assert ("User <strong>memo@example.com</strong> does not have access to this document: "
            "Memo - dtjfe7c79i") in output


def test_list_options(client: Client) -> None:
    rows = client.get("/api/resource/Vendor", "clerk",
                      params={"fields": '["name", "country"]', "order_by": "name desc",
                              "limit_start": 1, "limit_page_length": 1}).json()["data"]
    assert rows == [{"name": "Globex Ltd", "country": "Germany"}]
    counted = client.get("/api/resource/Vendor", "clerk", params={
        "fields": '["country", "count(name) as n"]', "group_by": "country"}).json()["data"]
    assert counted == [{"country": "Germany", "n": 2}, {"country": "India", "n": 1}]
    debug = client.get("/api/resource/Vendor", "restricted", params={"debug": 1}).json()
    assert "`tabVendor`.`name` in ('Acme Corp')" in json.loads(debug["_debug_messages"])[0]
    users = client.get("/api/resource/User", "auditor",
                       params={"fields": '["name", "api_key"]', "limit_page_length": 0})
    assert all("api_key" in row for row in users.json()["data"])
    as_list = client.get("/api/resource/Vendor", "clerk", params={"as_dict": 0})
    assert as_list.json()["data"][0] == ["Acme Corp"]
