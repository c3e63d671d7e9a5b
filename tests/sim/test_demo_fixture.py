"""The demo fixture is consistent, shows the risks it promises, and its config matches it."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import audit.config.loader as config_mod
import audit.sim.permissions as permissions
import audit.sim.store as store_mod
from audit.sim.fixtures import demo
from audit.sim.fixtures.demo_people import COMPANY, PEOPLE, email
from audit.sim.fixtures.kit import problems
from audit.sim.model import Document, SiteData

DEMO_TOML = Path(str(resources.files("audit").joinpath("data/demo.toml")))
STANDARD = Path(str(resources.files("audit").joinpath("data/standard_doctypes.json")))
CATALOGUE = Path(str(resources.files("audit.sim").joinpath("data/frappe15_doctypes.json")))
OPS = ("read", "write", "create", "delete", "submit", "cancel")
SECRET_KEYS = ("api_key", "api_secret", "password", "access_token", "refresh_token", "client_id")
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
STAMP = re.compile(r"2026-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")


@pytest.fixture(scope="module")
def site() -> SiteData:
    return demo.build()


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return tomllib.loads(DEMO_TOML.read_text(encoding="utf-8"))


def users_by_name(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["name"]: u for u in config["users"]}


def variables(value: Any) -> list[str]:
    """Every ``${VAR}`` referenced in a parsed TOML value."""
    if isinstance(value, dict):
        return [v for item in value.values() for v in variables(item)]
    if isinstance(value, list):
        return [v for item in value for v in variables(item)]
    return VAR.findall(value) if isinstance(value, str) else []


def rule_grants(site: SiteData, user: str, doctype: str, right: str,
                owner_rows: bool = False) -> bool:
    """Some level-0 row of one of the user's own roles grants ``right`` (if_owner or not)."""
    roles = set(site.users[user].roles)
    return any(r.role in roles and r.permlevel == 0 and right in r.rights
               and r.if_owner == owner_rows for r in site.effective_rules(doctype))


# ---- internal consistency ----------------------------------------------------------------
def test_the_site_has_no_inconsistency(site: SiteData) -> None:
    assert problems(site) == []


def test_the_required_doctypes_are_there(site: SiteData) -> None:
    wanted = {"Customer", "Supplier", "Item", "Sales Invoice", "Sales Invoice Item",
              "Purchase Invoice", "Purchase Invoice Item", "Payment Entry", "Journal Entry",
              "Journal Entry Account", "Sales Order", "Sales Order Item", "Company", "Account",
              "Cost Center", "Employee", "Task", "ToDo", "Note", "User", "Has Role", "Role",
              "DocShare", "User Permission", "Custom DocPerm", "DocType", "System Settings",
              "Country", "Currency", "Mode of Payment"}
    assert wanted <= set(site.doctypes)
    assert site.doctypes["System Settings"].issingle
    assert site.doctypes["Has Role"].istable
    assert [d for d, dt in site.doctypes.items() if dt.autoname == "autoincrement"]
    assert site.doctypes["Customer"].autoname == "field:customer_name"
    assert site.doctypes["Sales Invoice"].autoname == "naming_series:"
    assert site.doctypes["Note"].autoname == "hash"


def test_every_submittable_doctype_has_drafts_submitted_docs_and_amended_from(
        site: SiteData) -> None:
    submittable = [dt for dt in site.doctypes.values() if dt.is_submittable]
    assert len(submittable) >= 5
    for dt in submittable:
        amended = dt.field("amended_from")
        assert amended and amended.fieldtype == "Link" and amended.options == dt.name
        assert amended.permlevel == 0
        states = {d.docstatus for d in site.docs(dt.name).values()}
        assert {0, 1} <= states, dt.name


def test_document_names_follow_the_naming_rules(site: SiteData) -> None:
    for doctype, docs in site.documents.items():
        dt = site.doctypes[doctype]
        for name, doc in docs.items():
            if dt.autoname.startswith("field:"):
                assert doc.values[dt.autoname[6:]] == name
            elif dt.autoname == "naming_series:":
                series = doc.values["naming_series"].replace(".YYYY.", "2026")
                assert re.fullmatch(re.escape(series) + r"\d{5}(-\d+)?", name), name
            elif dt.autoname == "autoincrement":
                assert name.isdigit()
            elif dt.autoname == "hash" and not dt.issingle:
                assert re.fullmatch(r"[0-9a-z]{10}", name), name
            assert STAMP.fullmatch(doc.creation) and STAMP.fullmatch(doc.modified)


def test_amended_invoice_points_at_a_cancelled_one(site: SiteData) -> None:
    amended = [d for d in site.docs("Sales Invoice").values() if d.values.get("amended_from")]
    assert amended
    for doc in amended:
        assert site.docs("Sales Invoice")[doc.values["amended_from"]].docstatus == 2


def test_series_counters_cover_the_existing_names(site: SiteData) -> None:
    assert site.series["ACC-SINV-2026-"] == 5
    assert site.series["SAL-ORD-2026-"] == len(site.docs("Sales Order"))
    assert site.series["autoincrement:Support Ticket"] == len(site.docs("Support Ticket"))


def test_secrets_are_fresh_placeholders_of_every_credential(site: SiteData) -> None:
    again = demo.build()
    assert set(again.secrets) == set(site.secrets)
    assert all(again.secrets[k] != v for k, v in site.secrets.items())
    for user in site.users.values():
        local = user.name.split("@", 1)[0]
        if user.api_key:
            assert site.secrets[f"<api_key:{local}>"] == user.api_key
            assert site.secrets[f"<api_secret:{local}>"] == user.api_secret
        if user.password:
            assert site.secrets[f"<password:{local}>"] == user.password


def test_doctypes_follow_the_shipped_frappe_data_where_it_has_them(site: SiteData) -> None:
    """Checked against the project's own copies of the Frappe 15.55.1 reference: the
    simulator's catalogue of stock Frappe DocTypes (flags, DocPerm rows, Link / Table
    options) and the shipped list of Frappe + ERPNext DocTypes (flags)."""
    catalogue = {d["name"]: d for d in json.loads(CATALOGUE.read_text("utf-8"))["doctypes"]}
    standard = {d["name"]: d for d in json.loads(STANDARD.read_text("utf-8"))}
    compared = flagged = 0
    for name, dt in site.doctypes.items():
        if name in standard:
            flagged += 1
            for flag in ("istable", "issingle", "is_submittable"):
                assert bool(standard[name][flag]) == getattr(dt, flag), (name, flag)
        ref = catalogue.get(name)
        if ref is None:
            continue
        compared += 1
        for flag in ("istable", "issingle", "is_submittable", "is_tree"):
            assert bool(ref.get(flag)) == getattr(dt, flag), (name, flag)
        mine = sorted((r.role, r.permlevel, r.if_owner, tuple(sorted(r.rights)))
                      for r in dt.permissions)
        theirs = sorted((role, level, bool(owner), tuple(sorted(rights.split())))
                        for role, level, owner, rights in ref.get("permissions", ()))
        assert mine == theirs, name
        options = {f[0]: (f[2] if len(f) > 2 else {}).get("options") for f in ref["fields"]}
        for f in dt.fields:
            if f.fieldname in options and f.fieldtype in ("Link", "Table"):
                assert options[f.fieldname] == f.options, (name, f.fieldname)
    assert compared >= 20 and flagged >= 40, (compared, flagged)


# ---- the risks each demo user shows ----------------------------------------------------------
def test_each_demo_user_exists_with_its_auth_method(site: SiteData,
                                                    config: dict[str, Any]) -> None:
    configured = users_by_name(config)
    assert {p.local for p in PEOPLE} - {"auditor"} == set(configured)
    for person in PEOPLE:
        user = site.users[email(person.local)]
        assert user.roles == list(person.roles)
        if person.local != "auditor":
            assert configured[person.local]["auth"] == person.auth
        assert bool(user.api_key and user.api_secret) == (person.auth in ("token", "basic"))
        assert bool(user.password) == (person.auth == "password")
    assert {p.auth for p in PEOPLE} == {"token", "basic", "password", "oauth"}
    assert config["auditor"]["auth"] == "token"
    assert site.users[email("auditor")].roles == ["System Manager"]


def test_bot_holds_system_manager_and_expects_far_less(site: SiteData,
                                                       config: dict[str, Any]) -> None:
    assert "System Manager" in site.users[email("bot")].roles
    expect = users_by_name(config)["bot"]["expect"]
    sm = {d for d in site.doctypes if rule_grants(site, email("bot"), d, "write")}
    assert {"User", "Role", "Custom DocPerm", "DocType"} <= sm
    assert len(expect) < len(sm) / 4


def test_accounts_can_create_suppliers_and_submit_payments(site: SiteData) -> None:
    user = email("accounts")
    assert rule_grants(site, user, "Supplier", "create")
    assert rule_grants(site, user, "Payment Entry", "submit")
    assert rule_grants(site, user, "Payment Entry", "write")


def test_escalate_can_write_users_and_their_roles(site: SiteData) -> None:
    user = email("escalate")
    assert "System Manager" not in site.users[user].roles
    assert rule_grants(site, user, "User", "write")
    roles_field = site.doctypes["User"].field("roles")
    assert roles_field is not None and roles_field.options == "Has Role"
    roles = set(site.users[user].roles)
    assert any(r.role in roles and r.permlevel == roles_field.permlevel and "write" in r.rights
               for r in site.effective_rules("User"))


def test_clerk_is_restricted_to_one_company_with_documents_on_both_sides(
        site: SiteData) -> None:
    ups = [u for u in site.user_permissions if u.user == email("clerk")]
    assert [(u.allow, u.for_value) for u in ups] == [("Company", COMPANY)]
    companies = {d.values["company"] for d in site.docs("Sales Order").values()}
    assert COMPANY in companies and len(companies) > 1


def test_former_is_disabled_but_keeps_its_key(site: SiteData) -> None:
    former = site.users[email("former")]
    assert not former.enabled and former.api_key and former.api_secret


def test_portal_is_a_website_user_without_desk_roles(site: SiteData) -> None:
    portal = site.users[email("portal")]
    assert portal.user_type == "Website User" and portal.api_key
    assert not any(site.roles[r] for r in portal.roles)


def test_shared_reaches_one_invoice_only_through_a_share(site: SiteData) -> None:
    user = email("shared")
    shares = [s for s in site.shares if s.user == user and s.share_doctype != "User"]
    assert len(shares) == 1 and shares[0].share_doctype == "Sales Invoice"
    assert not rule_grants(site, user, "Sales Invoice", "read")
    assert shares[0].share_name in site.docs("Sales Invoice")


def test_owner_has_only_if_owner_rows_and_owns_drafts_and_submitted_orders(
        site: SiteData) -> None:
    user = email("owner")
    roles = set(site.users[user].roles)
    rows = [r for r in site.effective_rules("Sales Order") if r.role in roles]
    assert rows and all(r.if_owner for r in rows)
    own = [d for d in site.docs("Sales Order").values() if d.owner == user]
    assert {d.docstatus for d in own} >= {0, 1}
    assert any(d.owner != user for d in site.docs("Sales Order").values())


def test_partner_holds_a_refreshable_oauth_token(site: SiteData, config: dict[str, Any]) -> None:
    user = email("partner")
    tokens = [t for t in site.oauth_tokens.values() if t.user == user]
    assert len(tokens) == 1 and tokens[0].refresh_token and tokens[0].status == "Active"
    assert tokens[0].client in site.oauth_clients
    assert site.secrets["<bearer:partner>"] == tokens[0].access_token
    assert site.secrets["<refresh_token:partner>"] == tokens[0].refresh_token
    assert users_by_name(config)["partner"]["auth"] == "oauth"


# ---- the same risks, through the simulator's permission engine -----------------------------
def engine_cells(site: SiteData, user: str) -> dict[str, set[str]]:
    """What ``user`` can do per DocType, judged like a cell of the audit (DESIGN.md)."""
    engine, store = permissions.PermissionEngine(site), store_mod.Store(site)
    wanted = {"submit": (0,), "cancel": (1,), "write": (0, 1)}

    def allowed(doctype: str, op: str, doc: Document | None) -> bool:
        ok = bool(engine.has_permission(user, doctype, op, doc))
        if op in ("submit", "cancel"):
            ok = ok and bool(engine.has_permission(user, doctype, "write", doc))
        return ok

    out: dict[str, set[str]] = {}
    for doctype, dt in site.doctypes.items():
        if dt.istable:
            continue
        for op in OPS:
            if (op in ("submit", "cancel") and not dt.is_submittable) or (
                    op in ("create", "delete") and dt.issingle):
                continue
            if op == "create":
                ok = allowed(doctype, op, None)
            else:
                docs = [d for d in store.all(doctype) if d.docstatus in wanted.get(op, (0, 1, 2))]
                ok = any(allowed(doctype, op, d) for d in docs) if docs else allowed(
                    doctype, op, None)
            if ok:
                out.setdefault(doctype, set()).add(op)
    return out


def test_lean_expectation_matches_its_rights_exactly(site: SiteData,
                                                     config: dict[str, Any]) -> None:
    expect = {d: set(ops) for d, ops in users_by_name(config)["lean"]["expect"].items()}
    assert engine_cells(site, email("lean")) == expect


def test_risks_hold_in_the_permission_engine(site: SiteData) -> None:
    engine = permissions.PermissionEngine(site)
    orders = site.docs("Sales Order")
    accounts = engine_cells(site, email("accounts"))
    assert "create" in accounts["Supplier"] and "submit" in accounts["Payment Entry"]
    bot = engine_cells(site, email("bot"))
    assert {"User", "Role", "Custom DocPerm", "User Permission"} <= set(bot)
    other_user = Document("User", email("bot"), owner="Administrator")
    assert engine.has_permission(email("escalate"), "User", "write", other_user)
    assert 1 in engine.permlevel_access(email("escalate"), "User", "write")
    inside = next(d for d in orders.values() if d.values["company"] == COMPANY)
    outside = next(d for d in orders.values() if d.values["company"] != COMPANY)
    assert engine.has_permission(email("clerk"), "Sales Order", "read", inside)
    assert not engine.has_permission(email("clerk"), "Sales Order", "read", outside)
    invoices = site.docs("Sales Invoice")
    shared = next(s.share_name for s in site.shares if s.user == email("shared")
                  and s.share_doctype == "Sales Invoice")
    assert engine.has_permission(email("shared"), "Sales Invoice", "read", invoices[shared])
    assert engine.has_permission(email("shared"), "Sales Invoice", "write", invoices[shared])
    assert not any(engine.has_permission(email("shared"), "Sales Invoice", "read", d)
                   for n, d in invoices.items() if n != shared)
    own = next(d for d in orders.values() if d.owner == email("owner") and d.docstatus == 0)
    other = next(d for d in orders.values() if d.owner != email("owner") and d.docstatus == 0)
    assert engine.has_permission(email("owner"), "Sales Order", "write", own)
    assert not engine.has_permission(email("owner"), "Sales Order", "write", other)
    assert not engine.has_permission(email("owner"), "Sales Order", "write")  # doctype level
    assert not engine_cells(site, email("portal")).get("Customer")
    assert "read" in engine_cells(site, email("former"))["Payment Entry"]


# ---- the bundled config ------------------------------------------------------------------------
def test_demo_toml_uses_variables_for_every_credential(config: dict[str, Any]) -> None:
    assert config["site"]["url"] == "${PERMAUDIT_DEMO_URL}"
    assert config["site"]["host"] == "demo.localhost"
    for section in [config["auditor"], *config["users"]]:
        for key in SECRET_KEYS:
            if key in section:
                assert VAR.fullmatch(section[key]), (section.get("name"), key)


def test_every_variable_comes_from_demo_environment(site: SiteData) -> None:
    env = demo.demo_environment(site, "http://127.0.0.1:8123")
    used = set(VAR.findall(DEMO_TOML.read_text(encoding="utf-8")))
    assert used == set(env) == set(variables(tomllib.loads(DEMO_TOML.read_text("utf-8"))))
    assert env["PERMAUDIT_DEMO_URL"] == "http://127.0.0.1:8123"
    assert env["DEMO_BOT_API_KEY"] == site.users[email("bot")].api_key
    assert env["DEMO_CLERK_PASSWORD"] == site.users[email("clerk")].password
    text = DEMO_TOML.read_text(encoding="utf-8")
    assert not any(value in text for value in site.secrets.values())


def test_expectations_name_existing_doctypes_and_ops(site: SiteData,
                                                     config: dict[str, Any]) -> None:
    with_expect = [u for u in config["users"] if "expect" in u]
    assert len(with_expect) >= 4
    for user in with_expect:
        for doctype, ops in user["expect"].items():
            assert doctype in site.doctypes, doctype
            assert set(ops) <= set(OPS), (user["name"], doctype)


def test_the_config_loader_accepts_the_demo_config(site: SiteData) -> None:
    env = demo.demo_environment(site, "http://127.0.0.1:8123")
    warnings: list[str] = []
    loaded = config_mod.load_config(DEMO_TOML, env=env, warn=warnings.append)
    assert warnings == []
    assert {u.name for u in loaded.users} == {p.local for p in PEOPLE} - {"auditor"}
    assert loaded.site.host == "demo.localhost"


# ---- the shipped list of standard DocTypes -----------------------------------------------------
def test_standard_doctypes_list_holds_names_and_flags_only() -> None:
    entries = json.loads(STANDARD.read_text(encoding="utf-8"))
    keys = {"name", "app", "module", "istable", "issingle", "is_submittable", "autoname"}
    assert all(set(e) == keys for e in entries)
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names)) and len(names) > 250
    by_name = {e["name"]: e for e in entries}
    assert by_name["Sales Invoice"]["is_submittable"] == 1
    assert by_name["Has Role"]["istable"] == 1
    assert by_name["System Settings"]["issingle"] == 1
    assert {e["app"] for e in entries} == {"frappe", "erpnext"}
