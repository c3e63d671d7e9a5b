"""The plan stage alone: target choice as a pure function of the inventory, the user's
facts and the survey (no HTTP). Each expectation is Frappe 15's rule written out by hand
(SPEC.md §3.3-§3.6), not derived from the planner."""

from __future__ import annotations

import pytest

from audit.crawl.inventory import (
    DocTypeInfo,
    FieldInfo,
    Inventory,
    RuleRow,
    ShareRow,
    Survey,
    TargetDoc,
    UserFacts,
    UserPermRow,
)
from audit.crawl.plan import (
    BASE_BUDGET,
    STALE_FALLBACK,
    STALE_MODIFIED,
    CellPlan,
    new_bogus_link,
    plan_cell,
    stale_modified,
)
from audit.model import Mode, Operation, Outcome, ProbeMethod

USER = "u@example.com"
BOGUS = new_bogus_link()
ORDER = DocTypeInfo(name="Order", is_submittable=True, fields=(
    FieldInfo("title", "Data", reqd=True),
    FieldInfo("company", "Link", options="Company"),
    FieldInfo("customer", "Link", options="Customer"),
    FieldInfo("billing_company", "Link", options="Company", ignore_user_permissions=True),
    FieldInfo("amended_from", "Link", options="Order"),
))
RULES = {"Order": (RuleRow("Order", "Clerk", rights=frozenset({"read", "write", "create"})),
                   RuleRow("Order", "Owner", if_owner=True,
                           rights=frozenset({"read", "write", "delete"})))}


def doc(name: str, owner: str = "Administrator", docstatus: int = 0,
        **links: str) -> TargetDoc:
    return TargetDoc(name=name, owner=owner, docstatus=docstatus, links=tuple(links.items()))


def plan(op: Operation, facts: UserFacts, targets: tuple[TargetDoc, ...] = (),
         survey: Survey | None = None, strict: bool = False, mode: Mode = Mode.SAFE,
         dt: DocTypeInfo = ORDER) -> CellPlan:
    inventory = Inventory(source="auditor", doctypes={dt.name: dt}, targets={dt.name: targets},
                          rules=RULES, users={USER: facts}, listed=frozenset({dt.name}),
                          strict_user_permissions=strict)
    return plan_cell(inventory, "u", dt, op, facts, survey or Survey(listed=()), mode,
                     bogus_link=BOGUS)


def facts(*ups: UserPermRow, shares: tuple[ShareRow, ...] = (),
          roles: tuple[str, ...] = ("Clerk",)) -> UserFacts:
    return UserFacts(frappe_user=USER, roles=roles, user_type="System User",
                     user_permissions=ups, shares=shares)


MULTI = facts(UserPermRow("Company", "A"), UserPermRow("Customer", "X"))
# the newest first, as the auditor's sample lists them; the one allowed document last
POOL = (doc("AY", company="A", customer="Y"), doc("BX", company="B", customer="X"),
        doc("AX", company="A", customer="X", billing_company="C"))


def names(p: CellPlan, basis: str | None = None) -> list[str]:
    return [t.doc.name for t in p.targets if basis is None or t.basis == basis]


def test_every_restricted_link_must_match_not_any() -> None:
    p = plan(Operation.WRITE, MULTI, POOL)
    assert names(p)[0] == "AX"
    assert names(p, "user_permission") == ["AX"]  # AY and BX each match one link only


def test_ignore_user_permissions_fields_are_not_checked() -> None:
    # billing_company = C is outside the allowed companies, but the field is ignored
    assert names(plan(Operation.READ, MULTI, POOL), "user_permission") == ["AX"]


def test_applicable_for_limits_a_row_to_one_doctype() -> None:
    elsewhere = facts(UserPermRow("Customer", "X", applicable_for="Invoice"),
                      UserPermRow("Company", "A"))
    p = plan(Operation.READ, elsewhere, POOL)
    assert names(p, "user_permission") == ["AY", "AX"]


def test_empty_links_pass_except_in_strict_mode() -> None:
    pool = (doc("empty"), *POOL)
    assert "empty" in names(plan(Operation.READ, MULTI, pool), "user_permission")
    assert "empty" not in names(plan(Operation.READ, MULTI, pool, strict=True),
                                "user_permission")


def test_a_row_on_the_doctype_itself_restricts_names() -> None:
    own = facts(UserPermRow("Order", "BX"))
    assert names(plan(Operation.READ, own, POOL), "user_permission") == ["BX"]
    create = plan(Operation.CREATE, own)
    assert create.own_doctype_rows == (UserPermRow("Order", "BX"),)


def test_shares_are_tried_only_for_the_op_they_grant() -> None:
    shares = (ShareRow("Order", "AY", read=True), ShareRow("Order", "BX", read=True, write=True))
    sharer = facts(shares=shares, roles=("Nobody",))
    write = plan(Operation.WRITE, sharer, POOL)
    assert names(write, "share:write") == ["BX"] and "share:read" not in {
        t.basis for t in write.targets}
    read = plan(Operation.READ, sharer, POOL)
    assert names(read)[:2] == ["BX", "AY"]  # write shares first, read-only ones after
    assert plan(Operation.DELETE, sharer, POOL).rules_refuse  # a share never grants delete
    assert not write.rules_refuse  # the write share may grant what no role does


def test_own_shared_and_permitted_documents_come_from_the_survey() -> None:
    old = doc("old-own", owner=USER)
    shared = doc("old-shared", company="B")
    permitted = doc("old-permitted", company="A", customer="X")
    survey = Survey(listed=(), own=(old,), shared=(shared,), permitted=(permitted,))
    user = facts(UserPermRow("Company", "A"), UserPermRow("Customer", "X"),
                 shares=(ShareRow("Order", "old-shared", write=True),), roles=("Owner",))
    p = plan(Operation.WRITE, user, POOL, survey)
    # none of them is among the sampled documents: the survey found them by filter
    assert names(p)[:3] == ["old-shared", "old-own", "old-permitted"]


def test_the_budget_grows_with_the_evidence() -> None:
    plain = plan(Operation.READ, facts(), POOL)
    assert plain.budget == BASE_BUDGET
    many = tuple(doc(f"s{i}") for i in range(10))
    shares = tuple(ShareRow("Order", t.name, write=True) for t in many)
    p = plan(Operation.WRITE, facts(shares=shares), many)
    assert p.budget == BASE_BUDGET + 10 and len(p.targets) == 10


def test_early_stop_only_when_the_rules_refuse() -> None:
    assert plan(Operation.DELETE, facts(), POOL).rules_refuse  # Clerk has no delete
    assert not plan(Operation.WRITE, facts(), POOL).rules_refuse
    assert not plan(Operation.DELETE, facts(roles=("Owner",)), POOL).rules_refuse  # if_owner
    unknown = UserFacts(frappe_user=USER)  # no auditor: nothing is known about the user
    assert not plan(Operation.DELETE, unknown, POOL).rules_refuse


def test_a_failed_survey_is_a_gap_for_the_cells_that_depend_on_it() -> None:
    failed = Survey(listed=(), own=None, failure_note="HTTP 403")
    p = plan(Operation.WRITE, facts(roles=("Owner",)), POOL, failed)
    assert p.gaps and "own documents" in p.gaps[0] and "HTTP 403" in p.gaps[0]
    assert not plan(Operation.WRITE, facts(), POOL, Survey(listed=(), own=())).gaps


def test_strict_create_fills_restricted_links_with_allowed_values() -> None:
    body = plan(Operation.CREATE, MULTI, strict=True).body
    assert body == {"title": ["permaudit-probe"], "company": "A", "customer": "X"}
    assert plan(Operation.CREATE, MULTI).body == {"title": ["permaudit-probe"]}


def test_the_bad_link_value_is_new_for_every_run() -> None:
    values = {new_bogus_link() for _ in range(50)}
    assert len(values) == 50 and all(len(v) >= 32 for v in values)


def test_methods_bodies_and_not_applicable() -> None:
    assert plan(Operation.WRITE, facts(), POOL).body == {"modified": "2000-01-01 00:00:00"}
    submit = plan(Operation.SUBMIT, facts(), POOL)
    assert submit.body == {"docstatus": 1, "amended_from": BOGUS}
    assert plan(Operation.WRITE, facts(), POOL, mode=Mode.PASSIVE).method is ProbeMethod.ASK
    plain = DocTypeInfo(name="Order", fields=ORDER.fields)
    assert plan(Operation.SUBMIT, facts(), dt=plain).outcome is Outcome.NOT_APPLICABLE
    assert "rest PUT" in plan(Operation.WRITE, MULTI, POOL).describe()


@pytest.mark.parametrize(("stored", "sent"), [
    ("2026-10-01 09:00:00.123456", STALE_MODIFIED),
    ("2000-01-01 00:00:00", STALE_FALLBACK),
    ("2000-01-01 00:00:00.000000", STALE_FALLBACK),  # the same datetime in the database
    ("2000-01-01T00:00:00", STALE_FALLBACK),
    (" 2000-01-01 00:00:00 ", STALE_FALLBACK),
    ("2000-01-01", STALE_FALLBACK),
    ("1900-01-01 00:00:00", STALE_MODIFIED),
    ("", None), (None, None), ("   ", None), ("not a date", None), (17, None),
])
def test_the_stale_modified_always_differs_from_the_stored_one(stored: object,
                                                              sent: str | None) -> None:
    assert stale_modified(stored) == sent


def test_the_create_probe_field_is_never_one_a_template_fills_or_reads() -> None:
    # set_title_field overwrites the title field from its template, and a format: autoname
    # reads its {fields} into the name, before validation (SPEC.md §3.13 insert steps 8-11)
    fields = (FieldInfo("title", "Data", options="{customer_name} - {notes}"),
              FieldInfo("customer_name", "Data"), FieldInfo("notes", "Data"),
              FieldInfo("code", "Data"), FieldInfo("remarks", "Small Text"))
    dt = DocTypeInfo(name="Deal", fields=fields, title_field="title",
                     autoname="format:DEAL-{code}-{####}")
    assert dt.templated_fields() == {"title", "customer_name", "notes", "code"}
    chosen = dt.list_probe_field()
    assert chosen is not None and chosen.fieldname == "remarks"
    only_title = DocTypeInfo(name="Memo", fields=(FieldInfo("subject", "Data"),),
                             title_field="subject")
    assert only_title.list_probe_field() is None
    assert plan(Operation.CREATE, facts(), dt=only_title).method is ProbeMethod.ASK
