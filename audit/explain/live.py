"""Live explain: repeat one request as the user, then read the rules as the auditor.

The request is the crawler's own safe probe for the cell (audit/crawl/probes.py), so
explain never changes data either. With the optional ``[auditor]`` account the
configured rules, roles, User Permissions and shares say exactly why, and the Permission
Inspector's log is attached; an authentication failure is narrowed down the same way
(does a User hold this api_key? is the bearer token expired or revoked?).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from audit.auth.causes import AuthFailure
from audit.auth.identities import AuthFailed, LoginBudget, connect
from audit.config.loader import AuditConfig, UserConfig
from audit.crawl.discovery import Discovery, Scope, list_rows, survey, target_from_row
from audit.crawl.incidents import IncidentLog, describe
from audit.crawl.inventory import DocTypeInfo, Inventory, RuleRow, TargetDoc
from audit.crawl.plan import CellPlan, PlannedTarget, owner_matters
from audit.crawl.probes import CellProber, Fetch, UserContext
from audit.explain.build import from_reply, from_rules
from audit.explain.catalogue import cause as catalogue_cause
from audit.explain.explanation import Explanation
from audit.explain.hints import HeaderShape, Hint, hint_for, read_header
from audit.explain.why import ESCALATION_DOCTYPES, SECRET_DOCTYPES, diagnose
from audit.http.client import (
    ClientOptions,
    FrappeClient,
    RateLimiter,
    TransportError,
    resource_path,
)
from audit.http.reply import plain_text
from audit.model import AuthMethod, Mode, Operation, Outcome, ProbeResult
from audit.results.redact import REDACTOR
from audit.status import UsageError

__all__ = ["LiveRequest", "explain_live"]

log = logging.getLogger(__name__)
PASSIVE_INSPECTOR = ("the Permission Inspector was not asked in passive mode (its debug call "
                     "is a POST to run_doc_method, which commits and runs hooks)")
Verifier = Fetch  # the stored document right before a PUT or DELETE probe


@dataclass(frozen=True)
class LiveRequest:
    config: AuditConfig
    user: str  # config name
    doctype: str
    op: str
    name: str | None = None


class _Prober(CellProber):
    """The crawler's prober and plan; aimed at the one document the user named, if any.

    Every plan it executes is kept, so the explanation can show what was sent and why.
    """

    def __init__(self, inventory: Inventory, mode: Mode, ask_only: tuple[str, ...],
                 target: TargetDoc | None, verifier: Verifier, incidents: IncidentLog,
                 auditor: FrappeClient | None) -> None:
        super().__init__(inventory, mode, ask_only, fetch=verifier, incidents=incidents,
                         auditor=auditor)
        self.target = target
        self.plans: list[CellPlan] = []

    def plan(self, ctx: UserContext, dt: DocTypeInfo, op: Operation) -> CellPlan:
        plan = super().plan(ctx, dt, op)
        if self.target is not None and plan.outcome is None and op is not Operation.CREATE:
            plan = replace(plan, targets=(PlannedTarget(self.target, "named"),), budget=1,
                           max_targets=1)
        self.plans.append(plan)
        return plan


class _Discovery(Discovery):
    """Discovery of one DocType, with the rules of the DocTypes a fix could reach too."""

    def _rules(self, doctypes: Mapping[str, DocTypeInfo]) -> dict[str, tuple[RuleRow, ...]]:
        wider = {name: DocTypeInfo(name=name) for name in ESCALATION_DOCTYPES | SECRET_DOCTYPES}
        return super()._rules({**wider, **doctypes})


class _Session:
    """The clients of one explain; every one is logged out and closed at the end.

    The config's crawl mode holds here as in a run: ``passive`` only asks (GET
    has_permission), never refreshes an OAuth token, never calls the Permission Inspector;
    ``active`` explains with the safe probe (explain never makes probe documents).
    """

    def __init__(self, config: AuditConfig, options: ClientOptions,
                 warn: Callable[[str], None]) -> None:
        self.config = config
        self.options = options
        self.mode = Mode.SAFE if config.crawl.mode is Mode.ACTIVE else config.crawl.mode
        self.incidents = IncidentLog(None, warn)
        self.limiter = RateLimiter(config.crawl.rate_limit, 2)
        self.budget = LoginBudget()
        self.clients: list[FrappeClient] = []
        self.auditor: FrappeClient | None = None
        self.notes: list[str] = []

    def connect(self, user: UserConfig) -> FrappeClient:
        client = connect(user, self.config.site.url, self.options, self.limiter, self.budget,
                         may_refresh=self.mode is not Mode.PASSIVE)
        self.clients.append(client)
        return client

    def connect_auditor(self) -> None:
        if self.config.auditor is None:
            self.notes.append("no [auditor] account: the configured rules and the Permission "
                              "Inspector were not consulted")
            return
        try:
            self.auditor = self.connect(self.config.auditor)
        except AuthFailed as exc:
            self.notes.append(f"the [auditor] account could not authenticate "
                              f"({exc.failure.cause}): rules not consulted")

    def close(self) -> None:
        for client in self.clients:
            try:
                client.identity.logout(client)
            except (TransportError, AuthFailed) as exc:
                log.debug("logout of %s: %s", client.identity.name, exc)
            client.close()


def explain_live(request: LiveRequest, options: ClientOptions,
                 warn: Callable[[str], None] = lambda _m: None) -> Explanation:
    config = request.config
    user = config.user(request.user)
    op = Operation(request.op)
    session = _Session(config, options, warn)
    subject = {"user": user.name, "doctype": request.doctype, "op": op.value}
    if request.name:
        subject["name"] = request.name
    try:
        session.connect_auditor()
        try:
            client = session.connect(user)
        except AuthFailed as exc:
            return _auth_explanation(exc.failure, user, session, subject)
        return _permission_explanation(request, user, op, client, session, subject)
    finally:
        session.close()


# -- authentication ---------------------------------------------------------------------------
def _auth_explanation(failure: AuthFailure, user: UserConfig, session: _Session,
                      subject: dict[str, str]) -> Explanation:
    cause_id = failure.cause_id
    evidence = [f"identity check as {user.name} ({user.auth.value}): "
                + (f"HTTP {failure.status} {failure.exc_type}".strip()
                   if failure.status is not None else "no HTTP reply"),
                f"{failure.cause} -> {failure.fix}"]
    alternatives: tuple[str, ...] = ()
    tell_apart = ""
    auditor = session.auditor
    shape = _configured_header(user)
    if shape is not None and shape.cause is not None and shape.cause != cause_id:
        evidence.append(f"the configured credential makes 'Authorization: {shape.shown}': "
                        f"{shape.note}")
        cause_id = shape.cause
    elif cause_id == "wrong-secret" and user.api_key is not None:
        if auditor is None:
            alternatives = ("unknown-key",)
            tell_apart = ("an [auditor] account can say whether a User holds this api_key "
                          "(then the secret is wrong) or none does (the key is unknown)")
        else:
            cause_id, fact = _key_owner(auditor, user)
            evidence.append(fact)
    elif cause_id == "oauth-token-refused" and user.access_token is not None and auditor:
        evidence.append(_token_state(auditor, user))
    if not cause_id:
        return Explanation("live", f"{user.name} could not authenticate: {failure.cause}", None,
                           tuple(evidence), (failure.fix,), subject=subject,
                           notes=tuple(session.notes))
    entry = catalogue_cause(cause_id)
    hint = Hint(cause_id, entry.title, entry.fix, tuple(evidence), alternatives, tell_apart)
    fix = failure.fix if cause_id == failure.cause_id else entry.fix
    verdict = f"{user.name} could not authenticate: {entry.title} ({cause_id})"
    return Explanation("live", verdict, hint, tuple(evidence), (fix,), subject=subject,
                       notes=tuple(session.notes))


def _configured_header(user: UserConfig) -> HeaderShape | None:
    """How Frappe reads the header a token user sends (a space or ':' inside breaks it)."""
    if user.auth is not AuthMethod.TOKEN or user.api_key is None or user.api_secret is None:
        return None
    return read_header(f"token {user.api_key.reveal()}:{user.api_secret.reveal()}")


def _key_owner(auditor: FrappeClient, user: UserConfig) -> tuple[str, str]:
    assert user.api_key is not None
    rows = list_rows(auditor, "User", ["name", "enabled"],
                     filters=[["api_key", "=", user.api_key.reveal()]])
    if not isinstance(rows, list):
        return "wrong-secret", f"the auditor could not read User (HTTP {rows.status})"
    if rows:
        owner = rows[0].get("name")
        return "wrong-secret", (f"the api_key belongs to {owner}: the api_secret does not "
                                "match (the keys were generated again, or the secret is "
                                "mistyped)")
    return "unknown-key", "no User of this site holds this api_key"


def _token_state(auditor: FrappeClient, user: UserConfig) -> str:
    assert user.access_token is not None
    reply = auditor.get(resource_path("OAuth Bearer Token", user.access_token.reveal()))
    if reply.status == 404:
        return "no OAuth Bearer Token of this site has this access token (unknown or deleted)"
    if reply.status != 200 or not isinstance(reply.data, dict):
        return f"the auditor could not read the OAuth Bearer Token (HTTP {reply.status})"
    status = str(reply.data.get("status") or "")
    expires = str(reply.data.get("expiration_time") or "")
    if status == "Revoked":
        return f"the token was revoked (OAuth Bearer Token status {status})"
    try:
        expired = datetime.fromisoformat(expires) < datetime.now()
    except ValueError:
        expired = False
    if expired:
        return f"the token expired at {expires} (status still {status or 'Active'})"
    return f"the token is {status or 'Active'} until {expires}, scopes {reply.data.get('scopes')}"


# -- permissions ------------------------------------------------------------------------------
def _permission_explanation(request: LiveRequest, user: UserConfig, op: Operation,
                            client: FrappeClient, session: _Session,
                            subject: dict[str, str]) -> Explanation:
    frappe_user = client.identity.frappe_user or ""
    subject["frappe_user"] = frappe_user
    auditor = session.auditor
    inventory = _Discovery(auditor, auditor or client, Scope(only=(request.doctype,)),
                           workers=2).run()
    dt = inventory.doctypes.get(request.doctype)
    if dt is None:
        raise UsageError(f"--doctype {request.doctype!r}: the site has no such DocType")
    facts = inventory.facts(frappe_user)
    ctx = UserContext(name=user.name, frappe_user=frappe_user, client=client, facts=facts)
    REDACTOR.learn_inventory(inventory)  # a token's name is shown only as its fingerprint
    if not (dt.istable or dt.issingle or dt.is_virtual):
        ctx.surveys[dt.name] = survey(dt, facts, client, auditor, owner_matters(inventory, dt))
        REDACTOR.learn_survey(dt.name, ctx.surveys[dt.name])
    if request.name and REDACTOR.secret_doctype(dt.name):
        REDACTOR.learn(request.name)

    def verifier(_ctx: UserContext, doctype: str, name: str) -> dict[str, Any] | None:
        """The document as stored right now (its docstatus, its modified)."""
        for c in (c for c in (auditor, client) if c is not None):
            reply = c.get(resource_path(doctype, name))
            if reply.status == 200 and isinstance(reply.data, dict):
                return reply.data
        return None

    ask_only = session.config.crawl.ask_only
    target = _named_target(inventory, dt, request.name, auditor) if request.name else None
    prober = _Prober(inventory, session.mode, ask_only, target, verifier,
                     session.incidents, auditor)
    row = prober.probe(ctx, dt, op)
    if target is None and row.target:
        target = next((t for t in inventory.targets.get(dt.name, ()) if t.name == row.target),
                      TargetDoc(name=row.target))
    notes = list(session.notes)
    if facts.enabled is False:
        notes.append(f"{frappe_user} is disabled yet authenticated: a disabled-user-key-works "
                     "finding (critical); revoke the key")
    evidence = [f"plan: {p.describe()}" for p in prober.plans[:1]] + [_probe_line(row)]
    case = _Case(user, op, dt, inventory, target, row, evidence, notes, subject)
    if session.incidents.incidents:
        return _incident_explanation(case, describe(session.incidents.incidents[0]))
    problem = _docstatus_problem(op, target) if request.name else ""
    return _judge(case, problem, auditor, session.mode)


def _incident_explanation(case: _Case, said: str) -> Explanation:
    """The probe built to fail was accepted: data changed. Never a quiet "CAN"."""
    fix = (f"check {case.dt.name} on the site by hand (its hooks or validation accepted a "
           "probe built to be refused), and list it under [crawl] ask_only or audit it in "
           "passive mode")
    return replace(case.explained(said.replace(" in this run", ""), None, fixes=(fix,)),
                   incident=True)


@dataclass
class _Case:
    """One probed cell and what is known about it, while its explanation is written."""

    user: UserConfig
    op: Operation
    dt: DocTypeInfo
    inventory: Inventory
    target: TargetDoc | None
    row: ProbeResult
    evidence: list[str]
    notes: list[str]
    subject: dict[str, str]

    def explained(self, verdict: str, hint: Hint | None, *, fixes: tuple[str, ...] = (),
                  extra: tuple[str, ...] = ()) -> Explanation:
        return Explanation("live", verdict, hint, (*self.evidence, *extra), fixes,
                           subject=self.subject, notes=tuple(self.notes))


def _judge(case: _Case, problem: str, auditor: FrappeClient | None, mode: Mode) -> Explanation:
    user, op, dt, row, target = case.user, case.op, case.dt, case.row, case.target
    if problem:
        if row.outcome is Outcome.ALLOWED:
            blocked = _catalogue_hint("docstatus", (problem,))
            return case.explained(f"{user.name} has the {op.value} right on {dt.name}, but "
                                  f"{problem}", blocked, fixes=(blocked.fix,), extra=(problem,))
        case.notes.append(problem)
    facts = case.inventory.facts(case.subject.get("frappe_user", ""))
    if row.outcome is Outcome.ALLOWED:
        where = f" (on {row.target})" if row.target else ""
        limits = f"; limits: {', '.join(row.limits)}" if row.limits else ""
        hidden = diagnose(case.inventory, facts, dt, op, target).notes \
            if case.inventory.rules else ()
        case.notes.extend(hidden)
        hint = _catalogue_hint("permlevel", hidden) if any(
            n.startswith("permlevel:") for n in hidden) else None
        return case.explained(f"{user.name} CAN {op.value} {dt.name}{where}{limits}", hint)
    if row.outcome is Outcome.NOT_APPLICABLE and dt.istable:
        return case.explained(f"{dt.name} is a child table: {row.reason}",
                              _catalogue_hint("child-table", (row.reason,)))
    if row.outcome is not Outcome.DENIED:
        return case.explained(f"{user.name} / {dt.name} / {op.value}: {row.outcome.value} "
                              f"({row.reason or 'no verdict'})", None)
    reply_hint = hint_for(row.http_status, row.exc_type, row.message,
                          credential_kind=_kind(user.auth))
    inspector: tuple[str, ...] = ()
    if mode is Mode.PASSIVE and auditor is not None:
        case.notes.append(PASSIVE_INSPECTOR)  # a POST that commits: never in passive
    else:
        inspector = _inspector(auditor, dt.name, target.name if target else "", op,
                               facts.frappe_user)
    if case.inventory.rules is None:
        return from_reply("live", user.name, op, dt, reply_hint, case.evidence, case.notes,
                          case.subject, inspector)
    diagnosis = diagnose(case.inventory, facts, dt, op, target, user.expect)
    return from_rules("live", user.name, op, dt, target, diagnosis, reply_hint, case.evidence,
                      case.notes, case.subject, inspector)


_DOCSTATUS = {0: "a draft", 1: "submitted", 2: "cancelled"}


def _docstatus_problem(op: Operation, target: TargetDoc | None) -> str:
    """Why this document's docstatus refuses the op whatever the rights (SPEC §3.13)."""
    if target is None:
        return ""
    state = _DOCSTATUS.get(target.docstatus, str(target.docstatus))
    doc = f"{target.name} is {state} (docstatus {target.docstatus})"
    if op is Operation.SUBMIT and target.docstatus != 0:
        return f"{doc}: only a draft can be submitted"
    if op is Operation.CANCEL and target.docstatus != 1:
        return f"{doc}: only a submitted document can be cancelled"
    if op is Operation.DELETE and target.docstatus == 1:
        return f"{doc}: a submitted document cannot be deleted; cancel it first"
    if op is Operation.WRITE and target.docstatus == 2:
        return f"{doc}: a cancelled document cannot be edited; amend it instead"
    return ""


def _catalogue_hint(cause_id: str, evidence: tuple[str, ...]) -> Hint:
    entry = catalogue_cause(cause_id)
    return Hint(cause_id, entry.title, entry.fix, evidence)


def _kind(method: AuthMethod) -> str | None:
    return {AuthMethod.TOKEN: "token", AuthMethod.BASIC: "basic",
            AuthMethod.OAUTH: "bearer"}.get(method)


def _named_target(inventory: Inventory, dt: DocTypeInfo, name: str | None,
                  auditor: FrappeClient | None) -> TargetDoc:
    assert name is not None
    known = next((t for t in inventory.targets.get(dt.name, ()) if t.name == name), None)
    if known is not None:
        return known
    if auditor is not None:
        reply = auditor.get(resource_path(dt.name, name))
        if reply.status == 404:
            raise UsageError(f"--name {name!r}: {dt.name} {name} does not exist")
        if reply.status == 200 and isinstance(reply.data, dict):
            read = target_from_row(reply.data, dt.link_fields())
            if read is not None:
                return read
    return TargetDoc(name=name)


def _probe_line(row: ProbeResult) -> str:
    status = f"HTTP {row.http_status}" if row.http_status is not None else "no HTTP status"
    parts = [f"probe ({row.method.value}) as {row.user}: {row.outcome.value}", status]
    if row.exc_type:
        parts.append(row.exc_type)
    if row.target:
        parts.append(f"target {row.target}")
    line = ", ".join(parts)
    if row.message:
        line += f"; message: {row.message}"
    if row.reason:
        line += f"; {row.reason}"
    return line


def _inspector(auditor: FrappeClient | None, doctype: str, name: str, op: Operation,
               user: str) -> tuple[str, ...]:
    """The Permission Inspector's log (SPEC §6.3); () when it cannot be used."""
    if auditor is None:
        return ()
    docs = {"doctype": "Permission Inspector", "name": "Permission Inspector",
            "ref_doctype": doctype, "docname": name, "user": user, "permission_type": op.value}
    try:
        reply = auditor.call("run_doc_method", http_method="POST", method="debug",
                             docs=json.dumps(docs))
    except TransportError:
        return ()
    body = reply.body if isinstance(reply.body, dict) else {}
    items = body.get("docs")
    if reply.status != 200 or not isinstance(items, list) or not items:
        return ()
    output = str(items[0].get("output") or "") if isinstance(items[0], dict) else ""
    return _compact_log(output)


def _compact_log(output: str) -> tuple[str, ...]:
    """One line per log entry: a JSON dict of rights becomes the list of rights set to 1."""
    out: list[str] = []
    block: list[str] | None = None
    depth = 0
    for raw in output.splitlines():
        line = plain_text(raw.strip())
        if not line or set(line) == {"="}:
            continue
        if block is not None:
            block.append(line)
            depth += line.count("{") - line.count("}")
            if depth <= 0:
                out[-1] += " " + _rights_set(" ".join(block))
                block = None
            continue
        if line.endswith("{"):
            out.append(line[:-1].rstrip())
            block, depth = ["{"], 1
            continue
        out.append(line)
    return tuple(out)


def _rights_set(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    on = [k for k, v in data.items() if v == 1 or v is True]
    owner = data.get("if_owner")
    extra = f" (if_owner: {', '.join(k for k, v in owner.items() if v)})" \
        if isinstance(owner, dict) and any(owner.values()) else ""
    return (", ".join(on) or "nothing") + extra
