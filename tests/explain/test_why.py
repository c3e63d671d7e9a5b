"""The rule reading of live explain, on hand-made inventories (no site)."""

from __future__ import annotations

from audit.crawl.inventory import (
    DocTypeInfo,
    FieldInfo,
    Inventory,
    RuleRow,
    ShareRow,
    TargetDoc,
    UserFacts,
    UserPermRow,
)
from audit.explain.why import diagnose
from audit.model import Operation

PV = DocTypeInfo("Payment Voucher", is_submittable=True, fields=(
    FieldInfo("vendor", "Link", "Vendor"), FieldInfo("amount", "Currency"),
    FieldInfo("approval_note", "Small Text", permlevel=1)))
RULES = {
    "Payment Voucher": (
        RuleRow("Payment Voucher", "Clerk", rights=frozenset({"read", "create", "write"})),
        RuleRow("Payment Voucher", "Approver", rights=frozenset({"read", "write", "submit"})),
        RuleRow("Payment Voucher", "Approver", permlevel=1, rights=frozenset({"read"}))),
    "User": (RuleRow("User", "Approver", rights=frozenset({"read", "write"})),),
}
INV = Inventory("auditor", {"Payment Voucher": PV}, rules=RULES)
CLERK = UserFacts("c@x.com", roles=("Clerk",), user_type="System User")


def test_submit_names_the_role_and_the_sod_conflict_it_would_create() -> None:
    got = diagnose(INV, CLERK, PV, Operation.SUBMIT, TargetDoc("PV-1", owner="c@x.com"),
                   expect={"Payment Voucher": frozenset({Operation.READ, Operation.CREATE})})
    assert [b.cause for b in got.blockers] == ["no-role"]
    assert got.granting_roles["submit"] == ("Approver",)
    first = got.fixes[0]
    assert first.change == "add role Approver to c@x.com"
    assert "sod-conflict (high): c@x.com could both create and submit Payment Voucher" in (
        first.side_effects)
    assert any(e.startswith("escalation-path (critical): Approver also gives write/create/"
                            "delete on User") for e in first.side_effects)
    assert any(e.startswith("beyond-need (medium): submit on Payment Voucher")
               for e in first.side_effects)


def test_user_permission_through_a_link_field() -> None:
    facts = UserFacts("c@x.com", roles=("Clerk",), user_type="System User",
                      user_permissions=(UserPermRow("Vendor", "Acme"),))
    target = TargetDoc("PV-2", owner="z@x.com", links=(("vendor", "Globex"),))
    got = diagnose(INV, facts, PV, Operation.READ, target)
    assert [b.cause for b in got.blockers] == ["user-permission"]
    assert "links Vendor Globex in vendor" in got.blockers[0].detail
    assert got.fixes[0].change == "add a User Permission Vendor=Globex for c@x.com"
    inside = diagnose(INV, facts, PV, Operation.READ,
                      TargetDoc("PV-3", links=(("vendor", "Acme"),)))
    assert inside.rules_allow


def test_if_owner_only_on_other_documents_and_share_note() -> None:
    rules = {"Memo": (RuleRow("Memo", "Owner", if_owner=True,
                              rights=frozenset({"read", "write"})),)}
    memo = DocTypeInfo("Memo", fields=())
    shared = UserFacts("m@x.com", roles=("Owner",), user_type="System User",
                       shares=(ShareRow("Memo", "M-2", read=True, write=True),))
    inv = Inventory("auditor", {"Memo": memo}, rules=rules)
    own = diagnose(inv, shared, memo, Operation.WRITE, TargetDoc("M-1", owner="M@x.com"))
    assert own.rules_allow  # owners compare case-insensitively
    other = diagnose(inv, shared, memo, Operation.WRITE, TargetDoc("M-2", owner="a@x.com"))
    assert [b.cause for b in other.blockers] == ["if-owner"]
    assert any("shared with m@x.com for write" in n for n in other.notes)


def test_permlevel_and_select_only() -> None:
    got = diagnose(INV, CLERK, PV, Operation.READ, TargetDoc("PV-1"))
    assert got.rules_allow
    assert any("approval_note" in n for n in got.notes)
    picker = {"Vendor": (RuleRow("Vendor", "Clerk", rights=frozenset({"select"})),)}
    vendor = DocTypeInfo("Vendor")
    only = diagnose(Inventory("auditor", {"Vendor": vendor}, rules=picker), CLERK, vendor,
                    Operation.READ, TargetDoc("Acme"))
    assert [b.cause for b in only.blockers] == ["select-only"]
