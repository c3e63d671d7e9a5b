"""The plan stage: what each (user, DocType, op) cell will send, decided before any request.

A pure function of the inventory (DocTypes, sample documents, configured rules, System
Settings), the user's facts (roles, User Permissions, shares) and the survey of the
user's documents. The prober only executes a :class:`CellPlan`; ``--plan-only`` prints it.

Target choice follows Frappe 15's document-level check (SPEC.md §3.3-§3.6):

* a document is inside the user's User Permissions only when *every* checked Link field
  (and the name, for rows on the DocType itself) holds an allowed value — Frappe
  requires all of them, not any; rows apply when ``applicable_for`` is blank or names
  the DocType; fields marked ``ignore_user_permissions`` are not checked; an empty value
  passes unless ``apply_strict_user_permissions`` is on;
* shares are tried only for the op they grant (a read-only share never for write);
* the user's own, shared and permitted documents come from direct surveys (filters on
  ``owner``, on the shared names, on the allowed values), not from a window of recent rows;
* the number of targets grows with the evidence; the search stops at the first refusal
  only when the configured rules say no role of the user grants the op and no share does.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from audit.crawl.inventory import DocTypeInfo, Inventory, Survey, TargetDoc, UserFacts, UserPermRow
from audit.model import Mode, Operation, Outcome, ProbeMethod

STALE_MODIFIED = "2000-01-01 00:00:00"
# sent instead when a document's stored modified is the usual stale value (SPEC §5.2's)
STALE_FALLBACK = "1900-01-01 00:00:00"
BOGUS_PREFIX = "permaudit-missing-"  # + 32 random hex digits, new for every run
LIST_PROBE_VALUE = ["permaudit-probe"]
BASE_BUDGET = 4  # targets tried without evidence that another document could differ
MAX_TARGETS = 24  # the most a cell ever tries
GROWTH = 2  # more targets after each refusal that names the document, not the DocType
# which documents each op is aimed at: drafts to submit, submitted ones to cancel,
# anything but cancelled documents to write
WANTED_DOCSTATUS: dict[Operation, tuple[int, ...]] = {
    Operation.SUBMIT: (0,), Operation.CANCEL: (1,), Operation.WRITE: (0, 1),
}
# Frappe core hooks that judge a document by its owner (SPEC.md §3.7)
OWNER_HOOKED = frozenset({"Event", "Note", "Kanban Board", "File"})


@dataclass(frozen=True)
class PlannedTarget:
    doc: TargetDoc
    basis: str  # why it is tried: own, share:write, user_permission, listed, sample, single


@dataclass(frozen=True)
class CellPlan:
    """How one cell is probed: method, ordered targets, body and how far to search."""

    user: str
    doctype: str
    op: Operation
    method: ProbeMethod
    reason: str = ""
    targets: tuple[PlannedTarget, ...] = ()
    body: Mapping[str, object] | None = None  # the JSON body of the REST probe
    budget: int = BASE_BUDGET
    max_targets: int = MAX_TARGETS
    # the configured rules say no role grants the op and no share does: the first
    # Frappe-shaped refusal stands for the whole DocType
    rules_refuse: bool = False
    # surveys this cell depends on that failed: a refusal cannot be trusted then
    gaps: tuple[str, ...] = ()
    outcome: Outcome | None = None  # decided without a request (not_applicable)
    # create: a User Permission on the DocType itself (a new name is never allowed)
    own_doctype_rows: tuple[UserPermRow, ...] = ()

    def describe(self) -> str:
        """One line per cell for ``--plan-only``."""
        head = f"{self.user} | {self.doctype} | {self.op.value}: "
        if self.outcome is not None:
            return head + f"{self.outcome.value} ({self.reason})"
        method = "ask has_permission" if self.method is ProbeMethod.ASK else "rest"
        verb = {Operation.READ: "GET", Operation.WRITE: "PUT", Operation.CREATE: "POST",
                Operation.DELETE: "DELETE", Operation.SUBMIT: "PUT"}.get(self.op, "")
        if self.method is ProbeMethod.REST:
            method = f"rest {verb}"
        parts = [method]
        if self.body is not None and self.method is ProbeMethod.REST:
            parts.append(f"body {dict(self.body)}")
        if self.targets:
            shown = ", ".join(f"{t.doc.name} ({t.basis})" for t in self.targets[:self.budget])
            more = len(self.targets) - self.budget
            parts.append(f"targets {shown}" + (f" (+{more} more as evidence grows)"
                                               if more > 0 else ""))
        elif self.op is not Operation.CREATE:
            parts.append("no target: DocType-level question")
        if self.rules_refuse:
            parts.append("no role or share grants it: the first refusal stands")
        if self.gaps:
            parts.append("survey gaps: " + "; ".join(self.gaps))
        if self.reason:
            parts.append(f"({self.reason})")
        return head + " | ".join(parts)


# -- rules ----------------------------------------------------------------------------------
def needed_rights(op: Operation) -> tuple[str, ...]:
    """Submit and cancel through REST also need write (SPEC.md §3.11)."""
    return (op.value, "write") if op in (Operation.SUBMIT, Operation.CANCEL) else (op.value,)


def share_grants(facts: UserFacts, doctype: str, op: Operation) -> bool:
    return any(s.doctype == doctype and s.grants(op) for s in facts.shares)


def rules_refuse(inventory: Inventory, facts: UserFacts, doctype: str, op: Operation) -> bool:
    """With the configured rules known: no role of the user grants OP at all, nor a share."""
    if not facts.user_type or share_grants(facts, doctype, op):
        return False
    if inventory.unread & {"Has Role", "DocShare"}:
        return False  # roles or shares unknown: "no role grants it" is not known either
    for right in needed_rights(op):
        grants = inventory.role_grants(facts.effective_roles, doctype, right)
        if grants is not None and not any(grants):
            return True
    return False


def owner_matters(inventory: Inventory, dt: DocTypeInfo) -> bool:
    """Could owning a document change a verdict here (if_owner rows, owner-judging hooks)?"""
    if inventory.rules is None or dt.name in OWNER_HOOKED:
        return True
    return any(r.if_owner for r in inventory.rules.get(dt.name, ()))


# -- User Permissions -----------------------------------------------------------------------
def applicable_rows(facts: UserFacts, doctype: str) -> tuple[UserPermRow, ...]:
    return tuple(p for p in facts.user_permissions if p.applies_to(doctype))


def restricted_links(dt: DocTypeInfo, facts: UserFacts) -> dict[str, frozenset[str]]:
    """fieldname -> allowed values, for every checked Link field the user is restricted on
    (``name`` for rows on the DocType itself)."""
    rows = applicable_rows(facts, dt.name)
    allowed: dict[str, set[str]] = {}
    for p in rows:
        allowed.setdefault(p.allow, set()).add(p.for_value)
    out = {f: frozenset(allowed[target]) for f, target in dt.checked_links().items()
           if target in allowed}
    if dt.name in allowed:
        out["name"] = frozenset(allowed[dt.name])
    return out


def inside_user_permissions(dt: DocTypeInfo, doc: TargetDoc, facts: UserFacts,
                            strict: bool) -> bool:
    """Frappe's doc-level User Permission check on what the survey shows of a document:
    every restricted link must hold an allowed value (SPEC.md §3.5)."""
    restricted = restricted_links(dt, facts)
    if not restricted:
        return True
    values = dict(doc.links)
    strict = strict and not dt.issingle
    for fieldname, allowed in restricted.items():
        value = doc.name if fieldname == "name" else values.get(fieldname, "")
        if not value and not strict:
            continue
        if value not in allowed:
            return False
    return True


# -- bodies ---------------------------------------------------------------------------------
def create_body(dt: DocTypeInfo, facts: UserFacts, strict: bool) -> dict[str, object]:
    """A JSON list in a plain field; no docstatus; no Link value except, in strict mode, an
    allowed value for each restricted link (an empty one would fail the User Permission
    check, not the role check — SPEC.md §3.5, §5.3)."""
    target = dt.list_probe_field()
    body: dict[str, object] = {target.fieldname: LIST_PROBE_VALUE} if target else {}
    if strict:
        for fieldname, allowed in sorted(restricted_links(dt, facts).items()):
            if fieldname != "name":
                body[fieldname] = sorted(allowed)[0]
    return body


def submit_link_safe(dt: DocTypeInfo, facts: UserFacts) -> bool:
    """SPEC §5.5: the bogus link must not meet a User Permission on its target DocType (the
    write check would refuse it: a false 403), unless the field ignores them."""
    field_ = dt.submit_probe_field()
    if field_ is None or field_.ignore_user_permissions:
        return field_ is not None
    return all(p.allow != field_.options for p in applicable_rows(facts, dt.name))


def new_bogus_link() -> str:
    """The bad link value of one run's submit probes: random, so no document can be named
    after it beforehand (a planted one would make the link valid and the submit real)."""
    return BOGUS_PREFIX + secrets.token_hex(16)


def submit_body(dt: DocTypeInfo, bogus_link: str) -> dict[str, object] | None:
    field_ = dt.submit_probe_field()
    if field_ is None or not bogus_link:
        return None
    return {"docstatus": 1, field_.fieldname: bogus_link}


def stale_modified(stored: object) -> str | None:
    """The ``modified`` a write probe sends to a document whose stored one is ``stored``.

    Frappe's ``check_if_latest`` compares the text of the stored datetime with the text
    sent, and saves for real when they are equal (or when the stored one is empty): the
    value sent must differ from the stored one in every spelling (microseconds, a ``T``).
    None when the stored value is empty or no datetime at all: then no PUT is safe."""
    text = str(stored or "").strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None
    for candidate in (STALE_MODIFIED, STALE_FALLBACK):
        if datetime.fromisoformat(candidate) != when and candidate != text:
            return candidate
    return None  # unreachable: two different values cannot both equal one


# -- method ---------------------------------------------------------------------------------
def choose_method(dt: DocTypeInfo, op: Operation, mode: Mode,
                  ask_only: Iterable[str]) -> tuple[ProbeMethod, str]:
    if op is Operation.READ:
        return ProbeMethod.REST, ""
    if mode is Mode.PASSIVE:
        return ProbeMethod.ASK, "passive mode asks about every mutating operation"
    if dt.name in set(ask_only):
        return ProbeMethod.ASK, "listed under [crawl] ask_only"
    if op is Operation.CANCEL:
        return ProbeMethod.ASK, "cancel has no safe REST probe"
    if op is Operation.WRITE and dt.issingle:
        return ProbeMethod.ASK, "a Single is asked about, never saved"
    if op is Operation.CREATE:
        if dt.autoincrement:
            return ProbeMethod.ASK, "named by autoincrement: a create probe would consume a number"
        if dt.fields is None:
            return ProbeMethod.ASK, "DocType meta unreadable: no safe create body"
        if dt.list_probe_field() is None:
            # {} could be accepted: defaults may fill every mandatory field (SPEC §5.3)
            return ProbeMethod.ASK, ("no field the site must reject (a writable, stored, "
                                     "plain field): no safe create body")
    if op is Operation.SUBMIT and dt.submit_probe_field() is None:
        return ProbeMethod.ASK, "no safe amended_from link for the submit probe"
    return ProbeMethod.REST, ""


# -- targets --------------------------------------------------------------------------------
def _sendable(name: str) -> bool:
    """False for a name no request can carry: a lone UTF-16 surrogate a reply held (valid
    JSON, but no URL can encode it); such a document is never a target."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def order_targets(inventory: Inventory, dt: DocTypeInfo, op: Operation, facts: UserFacts,
                  survey: Survey) -> list[PlannedTarget]:
    """Every candidate, best first, each once."""
    if dt.issingle:
        return [PlannedTarget(TargetDoc(name=dt.name), "single")]
    user = facts.frappe_user
    strict = bool(inventory.strict_user_permissions)
    sources = {
        "own": list(survey.own or ()), "shared": list(survey.shared or ()),
        "permitted": list(survey.permitted or ()), "listed": list(survey.listed or ()),
        "sample": list(inventory.targets.get(dt.name, ())),
    }
    known: dict[str, TargetDoc] = {}
    for docs in sources.values():
        for t in docs:
            # the same document seen twice: keep the sighting that shows the most links
            if t.name not in known or len(t.links) > len(known[t.name].links):
                known[t.name] = t
    names = {key: [t.name for t in docs] for key, docs in sources.items()}
    everything = list(dict.fromkeys(names["own"] + names["permitted"] + names["listed"]
                                    + names["shared"] + names["sample"]))
    inside = [n for n in everything if inside_user_permissions(dt, known[n], facts, strict)]
    inside_set = set(inside)
    mine = [n for n in everything if known[n].owner == user]
    ordered: list[tuple[str, str]] = []
    if dt.name == "User" and user in known:
        ordered.append((user, "own record"))
    # shares that grant this op (a read-only share only for read), write/submit ones first
    shares = [s for s in facts.shares if s.doctype == dt.name and s.grants(op)]
    shares.sort(key=lambda s: (not (s.write or s.submit), s.everyone))
    ordered += [(s.name, f"share:{_share_kind(s.write, s.submit)}")
                for s in shares if s.name in known]
    ordered += [(n, "own") for n in mine if n in inside_set]
    if applicable_rows(facts, dt.name):
        ordered += [(n, "user_permission") for n in inside]
    ordered += [(n, "own") for n in mine]
    ordered += [(n, "listed") for n in names["listed"] if n in inside_set]
    ordered += [(n, "sample") for n in inside]
    ordered += [(n, "sample") for n in everything]
    statuses = WANTED_DOCSTATUS.get(op, (0, 1, 2))
    seen: set[str] = set()
    out: list[PlannedTarget] = []
    for name, basis in ordered:
        if known[name].docstatus in statuses and name not in seen and _sendable(name):
            seen.add(name)
            out.append(PlannedTarget(known[name], basis))
    if op is Operation.DELETE:
        # Only a submitted document can take the REST delete probe: the best one first.
        first = next((p for p in out if p.doc.docstatus == 1), None)
        if first is not None:
            out = [first, *(p for p in out if p is not first)]
    return out


def _share_kind(write: bool, submit: bool) -> str:
    return "submit" if submit else "write" if write else "read"


def survey_gaps(inventory: Inventory, dt: DocTypeInfo, op: Operation, facts: UserFacts,
                survey: Survey) -> tuple[str, ...]:
    """The failed surveys a verdict of this cell depends on."""
    gaps = []
    if survey.own is None and owner_matters(inventory, dt):
        gaps.append("the list of the user's own documents failed")
    if survey.shared is None and any(s.doctype == dt.name and (s.grants(op))
                                     for s in facts.shares):
        gaps.append("the list of documents shared with the user failed")
    if survey.permitted is None and applicable_rows(facts, dt.name):
        gaps.append("the list of documents inside the user's User Permissions failed")
    if survey.listed is None and not survey.list_refused and dt.name not in inventory.listed:
        gaps.append("the user's own list failed and nobody else enumerated the DocType")
    return tuple(f"{g} ({survey.failure_note})" if survey.failure_note else g for g in gaps)


def plan_cell(inventory: Inventory, user: str, dt: DocTypeInfo, op: Operation,
              facts: UserFacts, survey: Survey, mode: Mode,
              ask_only: Iterable[str] = (), *, bogus_link: str) -> CellPlan:
    """The plan of one cell: no HTTP, the same inputs always give the same plan.

    ``bogus_link`` is the run's :func:`new_bogus_link` (the submit probe's bad link)."""
    if not dt.applicable(op):
        return CellPlan(user, dt.name, op, ProbeMethod.NONE, reason=not_applicable_reason(dt, op),
                        outcome=Outcome.NOT_APPLICABLE)
    method, reason = choose_method(dt, op, mode, ask_only)
    if method is ProbeMethod.REST and op is Operation.SUBMIT and not submit_link_safe(dt, facts):
        method, reason = ProbeMethod.ASK, ("a User Permission on the bad link's target DocType "
                                           "would refuse it before the submit check")
    strict = bool(inventory.strict_user_permissions)
    refuse = rules_refuse(inventory, facts, dt.name, op)
    if op is Operation.CREATE:
        own_rows = tuple(p for p in applicable_rows(facts, dt.name) if p.allow == dt.name)
        return CellPlan(user, dt.name, op, method, reason=reason,
                        body=create_body(dt, facts, strict) if method is ProbeMethod.REST
                        else None, rules_refuse=refuse, own_doctype_rows=own_rows)
    targets = order_targets(inventory, dt, op, facts, survey)
    evidence = sum(1 for t in targets if t.basis not in ("sample", "listed"))
    body: Mapping[str, object] | None = None
    if method is ProbeMethod.REST:
        body = {Operation.WRITE: {"modified": STALE_MODIFIED},
                Operation.SUBMIT: submit_body(dt, bogus_link)}.get(op)
    return CellPlan(user, dt.name, op, method, reason=reason, targets=tuple(targets), body=body,
                    budget=min(MAX_TARGETS, BASE_BUDGET + evidence), rules_refuse=refuse,
                    gaps=survey_gaps(inventory, dt, op, facts, survey))


def not_applicable_reason(dt: DocTypeInfo, op: Operation) -> str:
    if dt.istable:
        return "child table: reached only through its parent"
    if dt.issingle:
        return "a Single has one document: no create or delete"
    return "not submittable"
