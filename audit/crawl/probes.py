"""One cell (user, DocType, op): choose targets, send the probe, read the verdict.

The cell meaning is DESIGN.md's: can this user perform OP through the REST API on
at least one existing document (for create: a new one), judged at document level on
the best targets the user has — shared with it, its own, inside its User
Permissions, one it can list — not by Frappe's DocType-level answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from audit.crawl.discovery import GETDOCTYPE, parse_meta
from audit.crawl.incidents import IncidentLog, remove_if_ours
from audit.crawl.inventory import DocTypeInfo, Inventory, Survey, TargetDoc, UserFacts
from audit.crawl.plan import (
    GROWTH,
    CellPlan,
    PlannedTarget,
    needed_rights,
    new_bogus_link,
    plan_cell,
    stale_modified,
)
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
from audit.http.client import (
    FrappeClient,
    FrappeReply,
    NotSent,
    RedirectError,
    TransportError,
    resource_path,
)
from audit.model import Attempt, Mode, Operation, Outcome, ProbeMethod, ProbeResult
from audit.results.record import Incident

HAS_PERMISSION = "frappe.client.has_permission"
INCIDENT_REASON = "incident: the probe changed data"
STOPPED = "an earlier probe on this DocType changed data (incident): only asked from now on"
META_UNREAD = ("the DocType's meta could not be read just now (fields, naming, is_virtual): "
               "no mutating probe is known to fail safely; asked")
META_MAX_AGE = 60.0  # seconds a fresh read of a DocType's meta is reused for mutating probes


@dataclass
class UserContext:
    name: str  # config name
    frappe_user: str
    client: FrappeClient
    facts: UserFacts
    surveys: dict[str, Survey] = field(default_factory=dict)


# (user context, doctype, name) -> the document as the site stores it right now, or None
Fetch = Callable[[UserContext, str, str], Mapping[str, Any] | None]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CellProber:
    """Executes the :class:`~audit.crawl.plan.CellPlan` of each cell; records every attempt."""

    def __init__(self, inventory: Inventory, mode: Mode, ask_only: tuple[str, ...] = (),
                 fetch: Fetch | None = None, incidents: IncidentLog | None = None,
                 auditor: FrappeClient | None = None) -> None:
        self.inventory = inventory
        self.mode = mode
        self.ask_only = tuple(ask_only)
        # the stored document right before a PUT or DELETE (None: no such probe is sent)
        self.fetch = fetch
        self.incidents = incidents or IncidentLog(None)
        self.auditor = auditor
        # DocType -> (monotonic time of the read, its meta then; None: unreadable)
        self._metas: dict[str, tuple[float, DocTypeInfo | None]] = {}
        self.bogus_link = new_bogus_link()  # the submit probe's bad link, new for each run
        self._lock = threading.Lock()

    def plan(self, ctx: UserContext, dt: DocTypeInfo, op: Operation) -> CellPlan:
        survey = ctx.surveys.get(dt.name) or Survey()
        plan = plan_cell(self.inventory, ctx.name, dt, op, ctx.facts, survey, self.mode,
                         self.ask_only, bogus_link=self.bogus_link)
        if plan.method is ProbeMethod.REST and op is not Operation.READ \
                and self.incidents.stopped(dt.name):
            return replace(plan, method=ProbeMethod.ASK, reason=STOPPED, body=None)
        return plan

    # -- probing ----------------------------------------------------------------------------
    def probe(self, ctx: UserContext, dt: DocTypeInfo, op: Operation) -> ProbeResult:
        plan = self.plan(ctx, dt, op)
        if plan.outcome is not None:
            return self._result(ctx, dt, op, plan.outcome, reason=plan.reason)
        lost = ctx.client.identity.lost
        if lost:
            return self._result(ctx, dt, op, Outcome.ERROR, reason=lost)
        log: list[Attempt] = []
        try:
            if plan.method is ProbeMethod.REST and op.mutating:
                plan = self._plan_now(ctx, dt, plan)
            if op is Operation.CREATE:
                row = self._create(ctx, dt, plan, log)
            else:
                row = self._on_targets(ctx, dt, plan, log)
        except TransportError as exc:
            log.append(Attempt(target="", method=plan.method, note=f"no answer: {exc}"))
            row = self._result(ctx, dt, op, Outcome.ERROR, method=plan.method,
                               reason=f"no answer: {exc}")
        lost = ctx.client.identity.lost  # lost during this cell: say why, not just "401"
        if lost and row.outcome is Outcome.ERROR:
            row = replace(row, reason=lost)
        return replace(row, attempts=tuple(log))

    def _create(self, ctx: UserContext, dt: DocTypeInfo, plan: CellPlan,
                log: list[Attempt]) -> ProbeResult:
        op = Operation.CREATE
        if plan.method is ProbeMethod.REST and self.incidents.stopped(dt.name):
            plan = replace(plan, method=ProbeMethod.ASK, reason=STOPPED)
        if plan.method is ProbeMethod.REST:
            started = time.monotonic()
            reply = mutate(ctx.client, "POST", resource_path(dt.name),
                           json=dict(plan.body or {}), before_send=self._unstopped(dt))
            if reply is None:
                return self._create(ctx, dt, replace(plan, method=ProbeMethod.ASK,
                                                     reason=STOPPED), log)
            reading = _record(log, "", ProbeMethod.REST, create_reading(reply))
            if reading.kind is Kind.INCIDENT:
                return self._incident(ctx, dt, plan, reading, None,
                                      *self._undo_create(ctx, dt, reply, started))
            if reading.kind is Kind.ERROR and reply.status >= 500:
                # a controller may fail before the create check (SPEC §5.3): proves nothing
                reading = Reading(Kind.INCONCLUSIVE, reply, f"HTTP {reply.status} "
                                  f"{reply.exc_type}".strip() + " may come before the check")
            if reading.kind is not Kind.INCONCLUSIVE:
                return self._from_reading(ctx, dt, op, reading, ProbeMethod.REST, None, plan)
            plan = replace(plan, method=ProbeMethod.ASK,
                           reason=f"create probe inconclusive: {reading.note}")
        reading = self._ask(ctx, dt.name, "", op, log)
        if reading.kind is Kind.ALLOW and plan.own_doctype_rows:
            # The DocType-level answer ignores User Permissions; a new document's name is
            # never among the allowed values, so the insert is refused (SPEC.md §3.5, §5.7).
            why = (f"User Permission on {dt.name} itself: a new document's name is never "
                   f"an allowed value")
            return self._from_reading(ctx, dt, op, Reading(Kind.DENY, reading.reply),
                                      ProbeMethod.ASK, None, replace(plan, reason=why),
                                      limits=tuple(p.label for p in plan.own_doctype_rows))
        if reading.kind is Kind.ALLOW and (ctx.frappe_user not in self.inventory.users
                                           or "User Permission" in self.inventory.unread):
            # a User Permission on the DocType itself refuses every insert (SPEC §3.5, §5.7),
            # and this user's User Permissions are not known (no auditor, or its list failed)
            why = ("a DocType-level yes to create, but this user's User Permissions are "
                   "unknown (they may refuse every insert); an [auditor] account settles it")
            return self._result(ctx, dt, op, Outcome.UNTESTABLE, method=ProbeMethod.ASK,
                                reason=why)
        return self._from_reading(ctx, dt, op, reading, ProbeMethod.ASK, None, plan,
                                  limits=("doctype-level",))

    def _unstopped(self, dt: DocTypeInfo) -> Callable[[], bool]:
        """A mutating probe is re-sent (after a 429) only while its DocType is not stopped."""
        return lambda: not self.incidents.stopped(dt.name)

    def _undo_create(self, ctx: UserContext, dt: DocTypeInfo, reply: FrappeReply,
                     started: float) -> tuple[str, bool | None, str]:
        def read(name: str) -> Mapping[str, Any] | None:
            return self._stored(ctx, dt.name, name)

        clients = [c for c in (ctx.client, self.auditor) if c is not None]
        return remove_if_ours(reply, started, doctype=dt.name, user=ctx.frappe_user,
                              read=read, clients=clients)

    def _incident(self, ctx: UserContext, dt: DocTypeInfo, plan: CellPlan, reading: Reading,
                  target: TargetDoc | None, document: str = "", removed: bool | None = None,
                  detail: str = "") -> ProbeResult:
        """Record the incident, stop the DocType, and make the cell an ``error``."""
        op = plan.op
        reply = reading.reply
        document = document or (target.name if target else "")
        self.incidents.record(Incident(
            user=ctx.name, doctype=dt.name, op=op.value, at=now(),
            http_status=reply.status if reply else None, document=document, removed=removed,
            detail=detail or reading.note))
        return self._from_reading(ctx, dt, op, reading, ProbeMethod.REST, target, plan)

    def _on_targets(self, ctx: UserContext, dt: DocTypeInfo, plan: CellPlan,
                    log: list[Attempt]) -> ProbeResult:
        op = plan.op
        if not plan.targets:
            return self._without_target(ctx, dt, plan, log)
        budget = plan.budget
        tried = 0
        last: tuple[Reading, TargetDoc] | None = None
        errors: list[tuple[Reading, TargetDoc]] = []
        for planned in plan.targets:
            if tried >= budget:
                break
            target = planned.doc
            reading, method = self._one(ctx, dt, plan, planned, log)
            tried += 1
            if reading.kind is Kind.INCIDENT:
                return self._incident(ctx, dt, plan, reading, target)
            if reading.kind is Kind.ALLOW:
                return self._from_reading(ctx, dt, op, reading, method, target, plan)
            if reading.kind is Kind.ERROR:
                errors.append((reading, target))
                continue
            if reading.kind is not Kind.DENY:
                continue  # the target is gone (404): the next one
            # keep the most telling denial: a REST refusal over a has_permission "false"
            if last is None or (method is ProbeMethod.REST
                                and reading_method(last[0], plan) is ProbeMethod.ASK):
                last = (reading, target)
            if plan.rules_refuse:
                break  # the configured rules refuse the whole DocType
            if reading.names_the_document:
                budget = min(plan.max_targets, budget + GROWTH)
        if errors:
            reading, target = errors[0]
            return self._from_reading(ctx, dt, op, reading, reading_method(reading, plan),
                                      target, plan)
        if last is None:
            return self._result(ctx, dt, op, Outcome.UNTESTABLE, method=plan.method,
                                status=404, reason="every target document was missing (404)")
        if plan.gaps and not plan.rules_refuse:
            return self._gap_error(ctx, dt, plan, last[0])
        return self._from_reading(ctx, dt, op, last[0], reading_method(last[0], plan), last[1],
                                  plan)

    def _gap_error(self, ctx: UserContext, dt: DocTypeInfo, plan: CellPlan,
                   reading: Reading | None) -> ProbeResult:
        """A refusal while a survey this cell depends on failed: not a verdict."""
        reply = reading.reply if reading else None
        return self._result(ctx, dt, plan.op, Outcome.ERROR, method=plan.method,
                            status=reply.status if reply else None,
                            exc_type=reply.exc_type if reply else "",
                            message=short_message(reply),
                            reason="refused, but a target may be missing: " + "; ".join(plan.gaps))

    def _one(self, ctx: UserContext, dt: DocTypeInfo, plan: CellPlan, planned: PlannedTarget,
             log: list[Attempt]) -> tuple[Reading, ProbeMethod]:
        client = ctx.client
        op = plan.op
        target = planned.doc
        path = resource_path(dt.name, target.name)
        name = target.name
        why = {Operation.DELETE: "only a submitted document is safe to DELETE; asked",
               Operation.SUBMIT: "only a draft can take the submit probe; asked"}.get(op, "")
        rest = plan.method is ProbeMethod.REST
        if rest and op is Operation.READ:
            reading = read_reading(client.get(path), name, dt.name)
            return _record(log, name, ProbeMethod.REST, reading), ProbeMethod.REST
        if rest and self.incidents.stopped(dt.name):
            why = STOPPED
        elif rest and op is Operation.WRITE:
            # Frappe skips its timestamp check when the stored modified is empty, and saves
            # when it equals the one sent (SPEC §3.13): the PUT carries a modified that
            # surely differs from the stored one, or is not sent.
            stale = self._stale_for(ctx, dt, target)
            if stale is not None:
                reply = mutate(client, "PUT", path, json={**(plan.body or {}), "modified": stale},
                               before_send=self._unstopped(dt))
                if reply is None:
                    why = STOPPED
                else:
                    reading = _record(log, name, ProbeMethod.REST, write_reading(reply))
                    if reading.kind is not Kind.INCONCLUSIVE:
                        return reading, ProbeMethod.REST
            else:
                why = ("the target's stored modified is empty or unreadable: a PUT could "
                       "save")
        elif rest and op is Operation.DELETE and self._deletable_probe(ctx, dt, target):
            # the docstatus is read inside the DELETE's limiter slot, after its pace wait,
            # before every attempt: nothing of the crawl waits between the read and the send
            still = self._still(ctx, dt, target, 1)
            reply = mutate(client, "DELETE", path, before_send=still)
            if reply is None:
                why = "the document was no longer submitted right before the DELETE; asked"
            else:
                reading = _record(log, name, ProbeMethod.REST, delete_reading(reply))
                if still.refused:
                    why = "the document changed before the DELETE could be sent again; asked"
                elif reading.kind is not Kind.INCONCLUSIVE:
                    return reading, ProbeMethod.REST
        elif rest and op is Operation.SUBMIT and plan.body is not None and \
                target.docstatus == 0:
            reply = mutate(client, "PUT", path, json=dict(plan.body),
                           before_send=self._still(ctx, dt, target, 0))
            if reply is not None:
                reading = _record(log, name, ProbeMethod.REST, submit_reading(reply))
                if reading.kind is not Kind.INCONCLUSIVE:
                    return reading, ProbeMethod.REST
        reading = self._ask(ctx, dt.name, name, op, log)
        if plan.method is ProbeMethod.REST and op in (Operation.WRITE, Operation.DELETE,
                                                      Operation.SUBMIT):
            why = why or "the REST probe was inconclusive; asked"
        return Reading(reading.kind, reading.reply, reading.note or why), ProbeMethod.ASK

    def _stored(self, ctx: UserContext, doctype: str, name: str) -> Mapping[str, Any] | None:
        return self.fetch(ctx, doctype, name) if self.fetch is not None else None

    def _status_is(self, ctx: UserContext, dt: DocTypeInfo, target: TargetDoc,
                   docstatus: int) -> bool:
        """Re-read the docstatus right before a DELETE or a submit PUT (never hit a draft)."""
        if target.docstatus != docstatus:
            return False
        stored = self._stored(ctx, dt.name, target.name)
        return stored is not None and _int(stored.get("docstatus")) == docstatus

    def _still(self, ctx: UserContext, dt: DocTypeInfo, target: TargetDoc,
               docstatus: int) -> Resend:
        """Asked before every attempt of a DELETE or submit PUT, inside its limiter slot:
        the DocType is not stopped and the docstatus, re-read, is still ``docstatus``
        (SPEC §5.4)."""
        return Resend(lambda: not self.incidents.stopped(dt.name)
                      and self._status_is(ctx, dt, target, docstatus))

    def _stale_for(self, ctx: UserContext, dt: DocTypeInfo, target: TargetDoc) -> str | None:
        """The stale ``modified`` for this target's PUT, from its stored one read now."""
        stored = self._stored(ctx, dt.name, target.name)
        return None if stored is None else stale_modified(stored.get("modified"))

    def _deletable_probe(self, ctx: UserContext, dt: DocTypeInfo, target: TargetDoc) -> bool:
        """A DELETE only to a submitted document of a DocType that is submittable now."""
        return target.docstatus == 1 and self._submittable_now(ctx, dt)

    def _submittable_now(self, ctx: UserContext, dt: DocTypeInfo) -> bool:
        """The DocType's is_submittable as the site says now (:meth:`_meta_now`)."""
        meta = self._meta_now(ctx, dt)
        return meta is not None and meta.is_submittable

    def _meta_now(self, ctx: UserContext, dt: DocTypeInfo) -> DocTypeInfo | None:
        """The DocType's meta as ``getdoctype`` gives it now (Customize Form included), read
        by this run's prober — never discovery's, nor an interrupted run's discovery.json —
        and reused for :data:`META_MAX_AGE` seconds. None when it cannot be read."""
        with self._lock:
            hit = self._metas.get(dt.name)
        if hit is not None and time.monotonic() - hit[0] < META_MAX_AGE:
            return hit[1]
        client = self.auditor or ctx.client
        try:
            reply = client.call(GETDOCTYPE, doctype=dt.name)
        except TransportError:
            reply = None
        info = parse_meta(reply.body)[0] if reply is not None and reply.status == 200 else None
        if info is not None and info.name != dt.name:
            info = None  # not the meta asked for
        with self._lock:
            self._metas[dt.name] = (time.monotonic(), info)
        return info

    def _plan_now(self, ctx: UserContext, dt: DocTypeInfo, plan: CellPlan) -> CellPlan:
        """A mutating REST plan checked against the meta of now: its body (the create
        probe's field, the submit probe's link) is chosen again from it, and the cell is
        asked when the meta cannot be read or no longer allows a safe probe."""
        fresh = self._meta_now(ctx, dt)
        if fresh is None:
            return replace(plan, method=ProbeMethod.ASK, body=None, reason=META_UNREAD)
        current = replace(fresh, name=dt.name, module=dt.module or fresh.module,
                          is_virtual=fresh.is_virtual or dt.is_virtual,
                          autoname=fresh.autoname or dt.autoname)
        survey = ctx.surveys.get(dt.name) or Survey()
        again = plan_cell(self.inventory, ctx.name, current, plan.op, ctx.facts, survey,
                          self.mode, self.ask_only, bogus_link=self.bogus_link)
        if again.outcome is not None or again.method is not ProbeMethod.REST:
            why = again.reason or "no safe probe"
            return replace(plan, method=ProbeMethod.ASK, body=None,
                           reason=f"{why} (the DocType's meta as the site gives it now)")
        return replace(plan, body=again.body)

    def _ask(self, ctx: UserContext, doctype: str, name: str, op: Operation,
             log: list[Attempt]) -> Reading:
        """has_permission; submit and cancel through REST also need write (SPEC §3.11)."""
        reading: Reading | None = None
        for perm in needed_rights(op):
            reply = ctx.client.call(HAS_PERMISSION, doctype=doctype, docname=name,
                                    perm_type=perm)
            reading = _record(log, name, ProbeMethod.ASK, ask_reading(reply), f"({perm})")
            if reading.kind is not Kind.ALLOW:
                note = f"has_permission({perm}) is false" if reading.kind is Kind.DENY else ""
                return Reading(reading.kind, reading.reply, reading.note or note)
        assert reading is not None
        return reading

    def _without_target(self, ctx: UserContext, dt: DocTypeInfo, plan: CellPlan,
                        log: list[Attempt]) -> ProbeResult:
        op = plan.op
        survey = ctx.surveys.get(dt.name) or Survey()
        if op is Operation.READ and survey.list_refused:
            return self._result(ctx, dt, op, Outcome.DENIED, method=ProbeMethod.REST,
                                status=survey.list_status, exc_type=survey.list_exc_type,
                                message=survey.list_message,
                                reason="the list itself was refused")
        if plan.gaps and not plan.rules_refuse:
            # never a DocType-level answer in place of a survey that failed: it says "no"
            # for if_owner rights and ignores shares and User Permissions
            return self._gap_error(ctx, dt, plan, None)
        reading = self._ask(ctx, dt.name, "", op, log)
        if reading.kind is Kind.NEXT:
            return self._result(ctx, dt, op, Outcome.UNTESTABLE, method=ProbeMethod.ASK,
                                reason="no target document and no way to ask")
        if reading.kind is Kind.ALLOW and dt.name not in self.inventory.listed:
            # The user sees no document and nobody enumerated the DocType: a DocType-level
            # yes does not say the user can act on any existing document.
            return self._result(
                ctx, dt, op, Outcome.UNTESTABLE, method=ProbeMethod.ASK,
                status=reading.reply.status if reading.reply else None,
                reason="the user sees no document and the [auditor] account could not list "
                       "any; has_permission says yes at DocType level only",
                limits=("doctype-level",))
        why = "no target document: asked at DocType level"
        return self._from_reading(ctx, dt, op, reading, ProbeMethod.ASK, None,
                                  replace(plan, method=ProbeMethod.ASK, reason=why),
                                  limits=("doctype-level",))

    # -- rows -------------------------------------------------------------------------------
    def _from_reading(self, ctx: UserContext, dt: DocTypeInfo, op: Operation, reading: Reading,
                      method: ProbeMethod, target: TargetDoc | None, plan: CellPlan,
                      limits: tuple[str, ...] = ()) -> ProbeResult:
        reply = reading.reply
        outcome = {Kind.ALLOW: Outcome.ALLOWED, Kind.DENY: Outcome.DENIED,
                   }.get(reading.kind, Outcome.ERROR)  # an incident is an error, never allowed
        if reading.kind is Kind.INCONCLUSIVE:
            outcome = Outcome.UNTESTABLE
        if method is ProbeMethod.ASK:
            reason = plan.reason or reading.note
        else:
            reason = reading.note if outcome is not Outcome.ALLOWED else ""
        if outcome is Outcome.ERROR:
            reason = reading.note or "unexpected reply"
        if reading.kind is Kind.INCIDENT:
            reason = f"{INCIDENT_REASON}: {reading.note}"
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
            seen = ctx.surveys.get(dt.name)
            if seen is not None and seen.listed:
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
        checked = set(dt.checked_links().values()) | {dt.name} if dt.fields is not None else links
        out += [p.label for p in facts.user_permissions
                if p.applies_to(dt.name) and p.allow in checked]
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


def _record(log: list[Attempt], target: str, method: ProbeMethod, reading: Reading,
            extra: str = "") -> Reading:
    """Keep one attempt's evidence; give the reading back."""
    reply = reading.reply
    note = " ".join(x for x in (reading.kind.value, extra, reading.note) if x)
    log.append(Attempt(target=target, method=method, http_status=reply.status if reply else None,
                       exc_type=reply.exc_type if reply else "", message=short_message(reply),
                       note=note))
    return reading


class Resend:
    """``before_resend`` of a probe: remembers whether it ever said no."""

    def __init__(self, check: Callable[[], bool]) -> None:
        self._check = check
        self.refused = False

    def __call__(self) -> bool:
        ok = self._check()
        self.refused = self.refused or not ok
        return ok


def mutate(client: FrappeClient, method: str, path: str, **kwargs: Any) -> FrappeReply | None:
    """A probe's PUT, POST or DELETE; None when its ``before_send`` guard kept it unsent.
    A redirect is its reply, not a transport failure: whatever answered it may have
    applied the request (the verdict makes it an incident)."""
    send: Callable[..., FrappeReply] = getattr(client, method.lower())  # put, post, delete
    try:
        return send(path, **kwargs)
    except NotSent:
        return None
    except RedirectError as exc:
        return FrappeReply(method=method, url=exc.url, status=exc.status, body=None, text="",
                           headers={"Location": exc.location}, latency_ms=0.0)


def _int(value: object) -> int:
    try:
        return int(str(value or 0))
    except ValueError:
        return -1


def reading_method(reading: Reading, plan: CellPlan) -> ProbeMethod:
    reply = reading.reply
    if reply is not None and HAS_PERMISSION in reply.url:
        return ProbeMethod.ASK
    return plan.method
