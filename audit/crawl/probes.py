"""One cell (user, DocType, op): choose targets, send the probe, read the verdict.

The cell meaning is DESIGN.md's: can this user perform OP through the REST API on
at least one existing document (for create: a new one), judged at document level on
the best targets the user has — shared with it, its own, inside its User
Permissions, one it can list — not by Frappe's DocType-level answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from audit.crawl.inventory import DocTypeInfo, Inventory, TargetDoc, UserFacts
from audit.crawl.verdicts import (
    Kind,
    Reading,
    ask_reading,
    create_reading,
    delete_reading,
    read_reading,
    short_message,
    submit_reading,
    write_reading,
)
from audit.http.client import FrappeClient, FrappeReply, TransportError, resource_path
from audit.model import Mode, Operation, Outcome, ProbeMethod, ProbeResult

STALE_MODIFIED = "2000-01-01 00:00:00"
BOGUS_LINK = "__permaudit_nonexistent__"
LIST_PROBE_VALUE = ["permaudit-probe"]
MAX_TARGETS = 4
HAS_PERMISSION = "frappe.client.has_permission"
# which documents each op is aimed at: drafts to submit, submitted ones to cancel,
# anything but cancelled documents to write
WANTED_DOCSTATUS: dict[Operation, tuple[int, ...]] = {
    Operation.SUBMIT: (0,), Operation.CANCEL: (1,), Operation.WRITE: (0, 1),
}


@dataclass(frozen=True)
class Visible:
    """What a user's own list of a DocType returned (None rows: the list was refused)."""

    rows: tuple[TargetDoc, ...] | None
    reply_status: int | None = None
    message: str = ""
    exc_type: str = ""


@dataclass
class UserContext:
    name: str  # config name
    frappe_user: str
    client: FrappeClient
    facts: UserFacts
    visible: dict[str, Visible] = field(default_factory=dict)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Plan:
    """How one op is probed on one DocType for one user."""

    method: ProbeMethod
    reason: str = ""


class CellProber:
    def __init__(self, inventory: Inventory, mode: Mode, ask_only: tuple[str, ...] = (),
                 verifier: Callable[[UserContext, str, str], int | None] | None = None) -> None:
        self.inventory = inventory
        self.mode = mode
        self.ask_only = set(ask_only)
        # (doctype, name) -> current docstatus as the site says, before any DELETE / submit PUT
        self.verifier = verifier

    # -- planning ---------------------------------------------------------------------------
    def plan(self, dt: DocTypeInfo, op: Operation) -> Plan:
        if op is Operation.READ:
            return Plan(ProbeMethod.REST)
        if self.mode is Mode.PASSIVE:
            return Plan(ProbeMethod.ASK, "passive mode asks about every mutating operation")
        if dt.name in self.ask_only:
            return Plan(ProbeMethod.ASK, "listed under [crawl] ask_only")
        if op is Operation.CANCEL:
            return Plan(ProbeMethod.ASK, "cancel has no safe REST probe")
        if op is Operation.WRITE and dt.issingle:
            return Plan(ProbeMethod.ASK, "a Single is asked about, never saved")
        if op is Operation.CREATE:
            if dt.autoincrement:
                return Plan(ProbeMethod.ASK,
                            "named by autoincrement: a create probe would consume a number")
            if dt.fields is None:
                return Plan(ProbeMethod.ASK, "DocType meta unreadable: no safe create body")
        if op is Operation.SUBMIT and dt.submit_probe_field() is None:
            return Plan(ProbeMethod.ASK, "no safe amended_from link for the submit probe")
        return Plan(ProbeMethod.REST)

    # -- targets ----------------------------------------------------------------------------
    def candidates(self, ctx: UserContext, dt: DocTypeInfo, op: Operation) -> list[TargetDoc]:
        if dt.issingle:
            return [TargetDoc(name=dt.name)]
        known: dict[str, TargetDoc] = {t.name: t for t in self.inventory.targets.get(dt.name, ())}
        seen = ctx.visible.get(dt.name)
        mine = [known.get(t.name, t) for t in (seen.rows or ())] if seen else []
        for t in mine:
            known.setdefault(t.name, t)
        user = ctx.frappe_user
        facts = ctx.facts
        shared = [known[s.name] for s in facts.shares if s.doctype == dt.name and s.name in known]
        allowed_values = {(p.allow, p.for_value) for p in facts.user_permissions
                          if p.applies_to(dt.name)}
        links = dt.link_fields()

        def inside_ups(t: TargetDoc) -> bool:
            if (dt.name, t.name) in allowed_values:
                return True
            return any((links.get(f), v) in allowed_values for f, v in t.links)

        pool = list(known.values())
        ordered: list[TargetDoc] = []
        if dt.name == "User" and user in known:
            ordered.append(known[user])
        ordered += shared
        ordered += [t for t in pool if t.owner == user]
        ordered += [t for t in pool if allowed_values and inside_ups(t)]
        ordered += mine
        ordered += pool
        statuses = WANTED_DOCSTATUS.get(op, (0, 1, 2))
        out: list[TargetDoc] = []
        chosen: set[str] = set()
        for t in ordered:
            if t.docstatus in statuses and t.name not in chosen:
                out.append(t)
                chosen.add(t.name)
            if len(out) >= MAX_TARGETS:
                break
        if op is Operation.DELETE:
            # Only a submitted document can take the REST delete probe: try the best one first.
            submitted = next((t for t in ordered if t.docstatus == 1), None)
            if submitted is not None:
                out = [submitted, *(t for t in out if t.name != submitted.name)]
        return out

    # -- probing ----------------------------------------------------------------------------
    def probe(self, ctx: UserContext, dt: DocTypeInfo, op: Operation) -> ProbeResult:
        if not dt.applicable(op):
            return self._result(ctx, dt, op, Outcome.NOT_APPLICABLE, reason=_why_na(dt, op))
        plan = self.plan(dt, op)
        try:
            if op is Operation.CREATE:
                return self._create(ctx, dt, plan)
            return self._on_targets(ctx, dt, op, plan)
        except TransportError as exc:
            return self._result(ctx, dt, op, Outcome.ERROR, method=plan.method,
                                reason=f"no answer: {exc}")

    def _create(self, ctx: UserContext, dt: DocTypeInfo, plan: Plan) -> ProbeResult:
        op = Operation.CREATE
        if plan.method is ProbeMethod.REST:
            body = self._create_body(dt)
            reading = create_reading(ctx.client.post(resource_path(dt.name), json=body))
            if reading.kind is Kind.INCIDENT:
                self._undo_create(ctx, dt, reading.reply)
            if reading.kind is not Kind.INCONCLUSIVE:
                return self._from_reading(ctx, dt, op, reading, ProbeMethod.REST, None, plan)
            plan = Plan(ProbeMethod.ASK, f"create probe inconclusive: {reading.note}")
        reading = self._ask(ctx, dt.name, "", op)
        own = [p for p in ctx.facts.user_permissions
               if p.allow == dt.name and p.applies_to(dt.name)]
        if reading.kind is Kind.ALLOW and own:
            # The DocType-level answer ignores User Permissions; a new document's name is
            # never among the allowed values, so the insert is refused (SPEC.md §3.5, §5.7).
            why = (f"User Permission on {dt.name} itself: a new document's name is never "
                   f"an allowed value")
            return self._from_reading(ctx, dt, op, Reading(Kind.DENY, reading.reply),
                                      ProbeMethod.ASK, None, Plan(ProbeMethod.ASK, why),
                                      limits=tuple(p.label for p in own))
        return self._from_reading(ctx, dt, op, reading, ProbeMethod.ASK, None, plan,
                                  limits=("doctype-level",))

    def _create_body(self, dt: DocTypeInfo) -> dict[str, object]:
        target = dt.list_probe_field()
        # No Link value and no docstatus: those fail before the create check (SPEC §5.3).
        return {target.fieldname: LIST_PROBE_VALUE} if target else {}

    def _undo_create(self, ctx: UserContext, dt: DocTypeInfo, reply: FrappeReply | None) -> None:
        data = reply.data if reply is not None else None
        if isinstance(data, dict) and data.get("name") and int(data.get("docstatus") or 0) == 0:
            ctx.client.delete(resource_path(dt.name, str(data["name"])))

    def _on_targets(self, ctx: UserContext, dt: DocTypeInfo, op: Operation,
                    plan: Plan) -> ProbeResult:
        targets = self.candidates(ctx, dt, op)
        if not targets:
            return self._without_target(ctx, dt, op, plan)
        last: Reading | None = None
        last_target: TargetDoc | None = None
        errors: list[tuple[Reading, TargetDoc]] = []
        for target in targets:
            reading, method = self._one(ctx, dt, op, target, plan)
            if reading.kind is Kind.ALLOW or reading.kind is Kind.INCIDENT:
                return self._from_reading(ctx, dt, op, reading, method, target, plan)
            if reading.kind is Kind.ERROR:
                errors.append((reading, target))
                continue
            if reading.kind is Kind.NEXT:
                continue
            # keep the most telling denial: a REST refusal over a has_permission "false"
            if last is None or (method is ProbeMethod.REST
                                and reading_method(last, plan) is ProbeMethod.ASK):
                last, last_target = reading, target
            if not self._may_differ(ctx, dt, op) and (
                    reading.final_denial or self._no_rule_grants(ctx, dt, op)):
                break
        if errors:
            reading, target = errors[0]
            return self._from_reading(ctx, dt, op, reading, reading_method(reading, plan),
                                      target, plan)
        if last is None:
            return self._result(ctx, dt, op, Outcome.UNTESTABLE, method=plan.method,
                                status=404, reason="every target document was missing (404)")
        return self._from_reading(ctx, dt, op, last, reading_method(last, plan), last_target,
                                  plan)

    def _no_rule_grants(self, ctx: UserContext, dt: DocTypeInfo, op: Operation) -> bool:
        """With the configured rules known: no role of the user grants OP at all."""
        needs = [op.value] + (["write"] if op in (Operation.SUBMIT, Operation.CANCEL) else [])
        for perm in needs:
            grants = self.inventory.role_grants(ctx.facts.effective_roles, dt.name, perm)
            if grants is not None and not any(grants) and ctx.facts.user_type:
                return True
        return False

    def _may_differ(self, ctx: UserContext, dt: DocTypeInfo, op: Operation) -> bool:
        """Could another document still be allowed after a DocType-level refusal? (shares)"""
        return any(s.doctype == dt.name and (s.grants(op) or op is Operation.READ)
                   for s in ctx.facts.shares)

    def _one(self, ctx: UserContext, dt: DocTypeInfo, op: Operation, target: TargetDoc,
             plan: Plan) -> tuple[Reading, ProbeMethod]:
        client = ctx.client
        path = resource_path(dt.name, target.name)
        if plan.method is ProbeMethod.REST:
            if op is Operation.READ:
                return read_reading(client.get(path)), ProbeMethod.REST
            if op is Operation.WRITE:
                reading = write_reading(client.put(path, json={"modified": STALE_MODIFIED}))
                if reading.kind is not Kind.INCONCLUSIVE:
                    return reading, ProbeMethod.REST
            elif op is Operation.DELETE and self._status_is(ctx, dt, target, 1):
                reading = delete_reading(client.delete(path))
                if reading.kind is not Kind.INCONCLUSIVE:
                    return reading, ProbeMethod.REST
            elif op is Operation.SUBMIT and self._status_is(ctx, dt, target, 0):
                field_ = dt.submit_probe_field()
                assert field_ is not None
                body = {"docstatus": 1, field_.fieldname: BOGUS_LINK}
                reading = submit_reading(client.put(path, json=body))
                if reading.kind is not Kind.INCONCLUSIVE:
                    return reading, ProbeMethod.REST
        reading = self._ask(ctx, dt.name, target.name, op)
        why = {Operation.DELETE: "only a submitted document is safe to DELETE; asked",
               Operation.SUBMIT: "only a draft can take the submit probe; asked"}.get(op, "")
        if plan.method is ProbeMethod.REST and op in (Operation.WRITE, Operation.DELETE,
                                                      Operation.SUBMIT):
            why = why or "the REST probe was inconclusive; asked"
        return Reading(reading.kind, reading.reply, reading.note or why), ProbeMethod.ASK

    def _status_is(self, ctx: UserContext, dt: DocTypeInfo, target: TargetDoc,
                   docstatus: int) -> bool:
        """Re-check the docstatus just before a DELETE or a submit PUT (never hit a draft)."""
        if target.docstatus != docstatus:
            return False
        if self.verifier is None:
            return False
        return self.verifier(ctx, dt.name, target.name) == docstatus

    def _ask(self, ctx: UserContext, doctype: str, name: str, op: Operation) -> Reading:
        """has_permission; submit and cancel through REST also need write (SPEC §3.11)."""
        needs = [op.value] + (["write"] if op in (Operation.SUBMIT, Operation.CANCEL) else [])
        reading: Reading | None = None
        for perm in needs:
            reply = ctx.client.call(HAS_PERMISSION, doctype=doctype, docname=name,
                                    perm_type=perm)
            reading = ask_reading(reply)
            if reading.kind is not Kind.ALLOW:
                note = f"has_permission({perm}) is false" if reading.kind is Kind.DENY else ""
                return Reading(reading.kind, reading.reply, reading.note or note)
        assert reading is not None
        return reading

    def _without_target(self, ctx: UserContext, dt: DocTypeInfo, op: Operation, plan: Plan,
                        note: str = "") -> ProbeResult:
        seen = ctx.visible.get(dt.name)
        if op is Operation.READ and seen is not None and seen.rows is None and \
                seen.reply_status == 403:
            return self._result(ctx, dt, op, Outcome.DENIED, method=ProbeMethod.REST,
                                status=403, exc_type=seen.exc_type, message=seen.message,
                                reason="the list itself was refused")
        reading = self._ask(ctx, dt.name, "", op)
        if reading.kind is Kind.NEXT:
            return self._result(ctx, dt, op, Outcome.UNTESTABLE, method=ProbeMethod.ASK,
                                reason=note or "no target document and no way to ask")
        if reading.kind is Kind.ALLOW and dt.name not in self.inventory.listed:
            # The user sees no document and nobody enumerated the DocType: a DocType-level
            # yes does not say the user can act on any existing document.
            return self._result(
                ctx, dt, op, Outcome.UNTESTABLE, method=ProbeMethod.ASK,
                status=reading.reply.status if reading.reply else None,
                reason="the user sees no document and the [auditor] account could not list "
                       "any; has_permission says yes at DocType level only",
                limits=("doctype-level",))
        why = note or "no target document: asked at DocType level"
        return self._from_reading(ctx, dt, op, reading, ProbeMethod.ASK, None,
                                  Plan(ProbeMethod.ASK, why), limits=("doctype-level",))

    # -- rows -------------------------------------------------------------------------------
    def _from_reading(self, ctx: UserContext, dt: DocTypeInfo, op: Operation, reading: Reading,
                      method: ProbeMethod, target: TargetDoc | None, plan: Plan,
                      limits: tuple[str, ...] = ()) -> ProbeResult:
        reply = reading.reply
        outcome = {Kind.ALLOW: Outcome.ALLOWED, Kind.DENY: Outcome.DENIED,
                   Kind.INCIDENT: Outcome.ALLOWED}.get(reading.kind, Outcome.ERROR)
        if reading.kind is Kind.INCONCLUSIVE:
            outcome = Outcome.UNTESTABLE
        if method is ProbeMethod.ASK:
            reason = plan.reason or reading.note
        else:
            reason = reading.note if outcome is not Outcome.ALLOWED else ""
        if outcome is Outcome.ERROR:
            reason = reading.note or "unexpected reply"
        if reading.kind is Kind.INCIDENT:
            reason = f"incident: {reading.note}"
        all_limits = limits + self._limits(ctx, dt, op, target, outcome)
        return self._result(
            ctx, dt, op, outcome, method=method, status=reply.status if reply else None,
            exc_type=reply.exc_type if reply else "", message=short_message(reply),
            target=target.name if target else "", limits=all_limits, reason=reason,
            latency=reply.latency_ms if reply else None)

    def _limits(self, ctx: UserContext, dt: DocTypeInfo, op: Operation,
                target: TargetDoc | None, outcome: Outcome) -> tuple[str, ...]:
        out: list[str] = []
        facts = ctx.facts
        if outcome is Outcome.DENIED and op is Operation.READ:
            seen = ctx.visible.get(dt.name)
            if seen is not None and seen.rows:
                out.append("select only")
            return tuple(out)
        if outcome is not Outcome.ALLOWED or target is None:
            return tuple(out)
        grants = self.inventory.role_grants(facts.effective_roles, dt.name, op.value)
        if grants is not None and grants[1] and target.owner == ctx.frappe_user:
            out.append("if_owner")
        shared = any(s.doctype == dt.name and s.name == target.name for s in facts.shares)
        if shared and (grants is None or not (grants[0] or grants[1])):
            out.append("share")
        links = set(dt.link_fields().values()) | {dt.name}
        out += [p.label for p in facts.user_permissions
                if p.applies_to(dt.name) and p.allow in links]
        return tuple(out)

    def _result(self, ctx: UserContext, dt: DocTypeInfo, op: Operation, outcome: Outcome, *,
                method: ProbeMethod = ProbeMethod.NONE, status: int | None = None,
                exc_type: str = "", message: str = "", target: str = "",
                limits: tuple[str, ...] = (), reason: str = "",
                latency: float | None = None) -> ProbeResult:
        return ProbeResult(
            user=ctx.name, doctype=dt.name, op=op, outcome=outcome, method=method,
            http_status=status, exc_type=exc_type, message=message, target=target,
            limits=limits, reason=reason,
            latency_ms=round(latency, 1) if latency is not None else None, at=now())


def reading_method(reading: Reading, plan: Plan) -> ProbeMethod:
    reply = reading.reply
    if reply is not None and HAS_PERMISSION in reply.url:
        return ProbeMethod.ASK
    return plan.method


def _why_na(dt: DocTypeInfo, op: Operation) -> str:
    if dt.istable:
        return "child table: reached only through its parent"
    if dt.issingle:
        return "a Single has one document: no create or delete"
    return "not submittable"


def visible_from_reply(reply: FrappeReply) -> Visible:
    from audit.crawl.discovery import target_from_row

    if reply.status == 200 and isinstance(reply.data, list):
        return Visible(rows=tuple(target_from_row(r) for r in reply.data if isinstance(r, dict)),
                       reply_status=200)
    return Visible(rows=None, reply_status=reply.status, message=short_message(reply),
                   exc_type=reply.exc_type)


def list_params(limit: int = 50) -> dict[str, str]:
    return {"fields": json.dumps(["name", "owner", "docstatus"]),
            "limit_page_length": str(limit), "order_by": "modified desc"}
