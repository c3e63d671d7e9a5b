"""Why the configured rules refuse one (user, DocType, op, document), and the smallest fix.

Pure: it reads the inventory the auditor account discovered (rules, roles, User
Permissions, shares) and never talks to the site. Frappe's order is followed (SPEC §3.3):
role rules at level 0, the if_owner overlay, User Permissions, then the share fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from audit.crawl.inventory import DocTypeInfo, Inventory, TargetDoc, UserFacts
from audit.crawl.plan import needed_rights
from audit.model import Operation

__all__ = ["Blocker", "Diagnosis", "Fix", "diagnose", "needed_rights"]

PRIVILEGED_ROLES = frozenset({"System Manager", "Administrator"})
# DocTypes whose write/create/delete lets a user change who may do what (DESIGN.md findings)
ESCALATION_DOCTYPES = frozenset({
    "User", "Has Role", "Role", "Role Profile", "DocPerm", "Custom DocPerm", "User Permission",
    "DocShare", "Server Script", "Client Script", "System Console", "Custom Field",
    "Property Setter", "Customize Form", "Report", "Print Format", "Notification", "Webhook",
    "Email Template", "OAuth Client", "Social Login Key", "LDAP Settings", "System Settings",
    "Scheduled Job Type",
})
SECRET_DOCTYPES = frozenset({"OAuth Bearer Token", "OAuth Authorization Code", "Email Account",
                             "Social Login Key", "LDAP Settings"})
SHAREABLE = frozenset({"read", "write", "submit", "share"})
# one user holding both sides of one of these on a DocType is a segregation-of-duties conflict
SOD_PAIRS = (("create", "submit"),)


@dataclass(frozen=True)
class Blocker:
    cause: str  # catalogue id
    detail: str


@dataclass(frozen=True)
class Fix:
    change: str
    side_effects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diagnosis:
    user_roles: tuple[str, ...]
    granting_roles: Mapping[str, tuple[str, ...]]  # right -> roles granting it (plain rows)
    owner_roles: Mapping[str, tuple[str, ...]]  # right -> roles granting it only if_owner
    blockers: tuple[Blocker, ...]
    fixes: tuple[Fix, ...]
    notes: tuple[str, ...] = ()

    @property
    def rules_allow(self) -> bool:
        return not self.blockers


def _roles_for(inventory: Inventory, doctype: str, right: str,
               if_owner: bool) -> tuple[str, ...]:
    rows = (inventory.rules or {}).get(doctype, ())
    roles = {r.role for r in rows if r.permlevel == 0 and right in r.rights
             and r.if_owner is if_owner}
    return tuple(sorted(roles, key=lambda r: (r in PRIVILEGED_ROLES, r)))


def _rights_of(inventory: Inventory, roles: set[str], doctype: str) -> set[str]:
    rows = (inventory.rules or {}).get(doctype, ())
    return {right for r in rows if r.permlevel == 0 and r.role in roles for right in r.rights}


def diagnose(inventory: Inventory, facts: UserFacts, dt: DocTypeInfo, op: Operation,
             target: TargetDoc | None,
             expect: Mapping[str, frozenset[Operation]] | None = None) -> Diagnosis:
    user = facts.frappe_user
    mine = set(facts.effective_roles)
    granting: dict[str, tuple[str, ...]] = {}
    owner_only: dict[str, tuple[str, ...]] = {}
    blockers: list[Blocker] = []
    fixes: list[Fix] = []
    doc = f"{dt.name} {target.name}" if target else dt.name
    for right in needed_rights(op):
        plain = _roles_for(inventory, dt.name, right, False)
        owner = _roles_for(inventory, dt.name, right, True)
        granting[right], owner_only[right] = plain, owner
        add_role = [Fix(f"add role {r} to {user}", _role_side_effects(inventory, facts, r, dt,
                                                                     expect)) for r in plain]
        share = _share_fix(facts, dt, op, right, target, expect)
        if mine & set(plain):
            continue
        if mine & set(owner):
            if target is None or target.owner.lower() == user.lower():
                continue
            held = ", ".join(sorted(mine & set(owner)))
            blockers.append(Blocker("if-owner", (
                f"{held} grants {right} on {dt.name} only on documents {user} created "
                f"(if_owner); {target.name} was created by {target.owner or 'someone else'}")))
            rule = Fix(f"or change the {held} rule on {dt.name} to grant {right} without "
                       f"'Only if Creator' (it then applies to every {held} user)")
            fixes += [*share, *add_role, rule]
            continue
        blockers.append(_no_role(inventory, facts, dt, right, plain))
        own = ", ".join(facts.roles)
        widen = [Fix(f"or grant {right} on {dt.name} to {own} (Role Permission Manager; it "
                     f"then applies to every {own} user)")] if facts.roles else []
        fixes += [*add_role, *share, *widen]
    if not blockers and target is not None:
        up = _user_permission_blocker(facts, dt, target)
        if up is not None:
            blockers.append(up[0])
            fixes += [*up[1], *_share_fix(facts, dt, op, op.value, target, expect)]
    notes = _permlevel_notes(inventory, facts, dt, op)
    if blockers and target is not None and _shared(facts, dt, op, target):
        notes += (f"{doc} is shared with {user} for {op.value}: the share should allow it "
                  "(Frappe's share fallback), so a refusal is a rule-mismatch",)
    return Diagnosis(tuple(sorted(mine)), granting, owner_only, tuple(blockers),
                     tuple(dict.fromkeys(fixes)), notes)


def _no_role(inventory: Inventory, facts: UserFacts, dt: DocTypeInfo, right: str,
             plain: tuple[str, ...]) -> Blocker:
    user = facts.frappe_user
    held = ", ".join(facts.roles) or "no role of its own"
    who = ", ".join(plain) if plain else "no role at all"
    if facts.user_type == "Website User":
        return Blocker("website-user", (
            f"{user} is a Website User ({held}): no role of it grants {right} on {dt.name}; "
            f"roles that grant it: {who}"))
    if right == "read" and "select" in _rights_of(inventory, set(facts.effective_roles),
                                                  dt.name):
        return Blocker("select-only", (
            f"{user} ({held}) has only select on {dt.name}: names in link pickers, no "
            f"documents; roles that grant read: {who}"))
    return Blocker("no-role", (
        f"no role of {user} ({held}) grants {right} on {dt.name}; roles that grant it: {who}"))


def _user_permission_blocker(facts: UserFacts, dt: DocTypeInfo,
                             target: TargetDoc) -> tuple[Blocker, list[Fix]] | None:
    user = facts.frappe_user
    rows = [p for p in facts.user_permissions if p.applies_to(dt.name)]
    if not rows:
        return None
    own = sorted(p.for_value for p in rows if p.allow == dt.name)
    if own and target.name not in own:
        labels = ", ".join(f"{dt.name}={v}" for v in own)
        return (Blocker("user-permission", (
            f"User Permission {labels} limits {user} to {', '.join(own)}; {target.name} is "
            f"not among them")),
            [Fix(f"add a User Permission {dt.name}={target.name} for {user}"),
             Fix(f"remove the User Permission {labels} of {user} (it then reaches every "
                 f"{dt.name}, and every document linking to one)")])
    links = dt.link_fields()
    for fieldname, value in target.links:
        linked = links.get(fieldname, "")
        allowed = sorted(p.for_value for p in rows if p.allow == linked)
        if allowed and value not in allowed:
            labels = ", ".join(f"{linked}={v}" for v in allowed)
            return (Blocker("user-permission", (
                f"User Permission {labels} limits {user}; {target.name} links {linked} "
                f"{value} in {fieldname}")),
                [Fix(f"add a User Permission {linked}={value} for {user}"),
                 Fix(f"remove the User Permission {labels} of {user}")])
    return None


def _shared(facts: UserFacts, dt: DocTypeInfo, op: Operation, target: TargetDoc) -> bool:
    return any(s.doctype == dt.name and s.name == target.name and s.grants(op)
               for s in facts.shares)


def _share_fix(facts: UserFacts, dt: DocTypeInfo, op: Operation, right: str,
               target: TargetDoc | None,
               expect: Mapping[str, frozenset[Operation]] | None) -> list[Fix]:
    if target is None or right not in SHAREABLE or dt.issingle:
        return []
    effects = _doctype_side_effects(dt.name, op, expect)
    return [Fix(f"share {dt.name} {target.name} with {facts.frappe_user} ({right})", effects)]


def _role_side_effects(inventory: Inventory, facts: UserFacts, role: str, dt: DocTypeInfo,
                       expect: Mapping[str, frozenset[Operation]] | None) -> tuple[str, ...]:
    out: list[str] = []
    if role in PRIVILEGED_ROLES:
        out.append(f"privileged-role (high): {role} gives {facts.frappe_user} the reach of a "
                   "site administrator")
    before = set(facts.effective_roles)
    after = before | {role}
    escalation: list[str] = []
    secrets: list[str] = []
    for doctype in sorted(inventory.rules or {}):
        gained = _rights_of(inventory, after, doctype) - _rights_of(inventory, before, doctype)
        now = _rights_of(inventory, after, doctype)
        for a, b in SOD_PAIRS:
            if {a, b} <= now and ({a, b} & gained):
                out.append(f"sod-conflict (high): {facts.frappe_user} could both {a} and {b} "
                           f"{doctype}")
        if doctype in ESCALATION_DOCTYPES and gained & {"write", "create", "delete"}:
            escalation.append(doctype)
        elif doctype in SECRET_DOCTYPES and "read" in gained:
            secrets.append(doctype)
        elif doctype != dt.name and gained & {"write", "create", "delete", "submit", "cancel"} \
                and expect is not None and doctype not in expect:
            out.append(f"beyond-need (medium): {role} also gives "
                       f"{'/'.join(sorted(gained))} on {doctype}, not a declared need")
    if escalation:
        out.append(f"escalation-path (critical): {role} also gives write/create/delete on "
                   f"{_few(escalation)}")
    if secrets:
        out.append(f"secret-read (high): {role} also gives read on {_few(secrets)}")
    ops = [o for o in Operation if o.value in
           _rights_of(inventory, after, dt.name) - _rights_of(inventory, before, dt.name)]
    for op in ops:
        out += _doctype_side_effects(dt.name, op, expect)
    return tuple(dict.fromkeys(out))


def _few(names: list[str], shown: int = 4) -> str:
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def _doctype_side_effects(doctype: str, op: Operation,
                          expect: Mapping[str, frozenset[Operation]] | None) -> tuple[str, ...]:
    out: list[str] = []
    if doctype in ESCALATION_DOCTYPES and op.value in ("write", "create", "delete"):
        out.append(f"escalation-path (critical): {op.value} on {doctype}")
    elif doctype in SECRET_DOCTYPES and op is Operation.READ:
        out.append(f"secret-read (high): read on {doctype}")
    if expect is not None and op not in expect.get(doctype, frozenset()):
        out.append(f"beyond-need (medium): {op.value} on {doctype} is not a declared need")
    return tuple(out)


def _permlevel_notes(inventory: Inventory, facts: UserFacts, dt: DocTypeInfo,
                     op: Operation) -> tuple[str, ...]:
    if op not in (Operation.READ, Operation.WRITE) or not dt.fields:
        return ()
    rows = (inventory.rules or {}).get(dt.name, ())
    mine = set(facts.effective_roles)
    levels = {r.permlevel for r in rows if r.role in mine and op.value in r.rights}
    hidden = sorted(f.fieldname for f in dt.fields if f.permlevel > 0 and f.permlevel not in levels)
    if not hidden:
        return ()
    verb = "missing from replies" if op is Operation.READ else "silently ignored in writes"
    return (f"permlevel: fields {', '.join(hidden)} sit above level 0 with no rule of the "
            f"user's roles at that level: they are {verb} (no 403)",)
