"""Plain data passed between the stages: operations, outcomes and one probe row.

No stage hands another a loose dict: these enums and frozen dataclasses are the
vocabulary of DESIGN.md (outcome words, probe columns) and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar


class Operation(StrEnum):
    READ = "read"
    WRITE = "write"
    CREATE = "create"
    DELETE = "delete"
    SUBMIT = "submit"
    CANCEL = "cancel"

    @property
    def mutating(self) -> bool:
        return self is not Operation.READ


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    AUTH_FAILED = "auth_failed"
    NOT_APPLICABLE = "not_applicable"
    UNTESTABLE = "untestable"
    ERROR = "error"
    SKIPPED = "skipped"

    @property
    def is_verdict(self) -> bool:
        """True for the two answers that say something about a permission."""
        return self in (Outcome.ALLOWED, Outcome.DENIED)


class ProbeMethod(StrEnum):
    REST = "rest"  # a real REST verb, built to fail after the permission check
    ASK = "ask"  # frappe.client.has_permission
    NONE = ""  # no request was needed (not_applicable, skipped, auth_failed)


class Severity(StrEnum):
    """Finding severities, lowest first; ``rank`` orders them for --fail-on."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self._value_]


_SEVERITY_RANK = {s.value: i for i, s in enumerate(Severity)}


class Mode(StrEnum):
    PASSIVE = "passive"
    SAFE = "safe"
    ACTIVE = "active"


class AuthMethod(StrEnum):
    TOKEN = "token"
    BASIC = "basic"
    PASSWORD = "password"
    OAUTH = "oauth"


RIGHTS_COLUMNS: tuple[str, ...] = (
    "select", "read", "write", "create", "delete", "submit", "cancel", "amend", "report",
    "export", "import", "share", "print", "email",
)

PROBE_COLUMNS: tuple[str, ...] = (
    "user", "doctype", "op", "outcome", "method", "http_status", "exc_type", "message",
    "target", "limits", "reason", "latency_ms", "at",
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request a cell sent (a target tried, a question asked): the evidence behind a row."""

    target: str
    method: ProbeMethod
    http_status: int | None = None
    exc_type: str = ""
    message: str = ""
    note: str = ""  # what the reply was read as ("timestamp mismatch", "404: next target", ...)

    def as_json(self) -> dict[str, object]:
        return {"target": self.target, "method": self.method.value,
                "http_status": self.http_status, "exc_type": self.exc_type,
                "message": self.message, "note": self.note}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Attempt:
        return cls(target=str(data.get("target") or ""),
                   method=_member(_METHODS, ProbeMethod, data.get("method") or ""),
                   http_status=_status(data.get("http_status")),
                   exc_type=str(data.get("exc_type") or ""),
                   message=str(data.get("message") or ""), note=str(data.get("note") or ""))


@dataclass(frozen=True, slots=True)
class Finding:
    """One row of findings.csv (DESIGN.md "Findings catalogue")."""

    id: str  # stable across runs for the same rule, user and subject
    severity: Severity
    rule: str
    user: str = ""
    doctype: str = ""
    op: str = ""
    detail: str = ""
    evidence: tuple[str, ...] = ()  # cells "user|doctype|op", or other evidence keys
    recommendation: str = ""

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "severity": self.severity.value, "rule": self.rule,
                "user": self.user, "doctype": self.doctype, "op": self.op,
                "detail": self.detail, "evidence": list(self.evidence),
                "recommendation": self.recommendation}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Finding:
        evidence = data.get("evidence") or ()
        return cls(id=str(data["id"]), severity=Severity(str(data["severity"])),
                   rule=str(data["rule"]), user=str(data.get("user") or ""),
                   doctype=str(data.get("doctype") or ""), op=str(data.get("op") or ""),
                   detail=str(data.get("detail") or ""),
                   evidence=tuple(str(e) for e in evidence)
                   if isinstance(evidence, list | tuple) else (),
                   recommendation=str(data.get("recommendation") or ""))


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One row of probes.csv: what one user could do with one operation on one DocType."""

    user: str  # the config name
    doctype: str
    op: Operation
    outcome: Outcome
    method: ProbeMethod = ProbeMethod.NONE
    http_status: int | None = None
    exc_type: str = ""
    message: str = ""
    target: str = ""
    limits: tuple[str, ...] = field(default_factory=tuple)
    reason: str = ""
    latency_ms: float | None = None
    at: str = ""
    attempts: tuple[Attempt, ...] = ()  # every request behind the row (results.json only)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.user, self.doctype, self.op.value)

    def as_row(self) -> dict[str, object]:
        return {
            "user": self.user,
            "doctype": self.doctype,
            "op": self.op.value,
            "outcome": self.outcome.value,
            "method": self.method.value,
            "http_status": self.http_status,
            "exc_type": self.exc_type,
            "message": self.message,
            "target": self.target,
            "limits": ";".join(self.limits),
            "reason": self.reason,
            "latency_ms": self.latency_ms,
            "at": self.at,
        }

    def as_json(self) -> dict[str, object]:
        """The CSV row plus every attempt: one entry of results.json's ``probes``."""
        return {**self.as_row(), "attempts": [a.as_json() for a in self.attempts]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ProbeResult:
        attempts = data.get("attempts") or ()
        return cls.from_row(data, tuple(Attempt.from_json(a) for a in attempts
                                        if isinstance(a, dict))
                            if isinstance(attempts, list | tuple) else ())

    @classmethod
    def from_row(cls, row: dict[str, object], attempts: tuple[Attempt, ...] = ()
                 ) -> ProbeResult:
        """A row of probes.csv (or of results.json, with its ``attempts``); a million are
        read back for a large run, so the common value types take the short way."""
        latency = row.get("latency_ms")
        limits = row.get("limits") or ""
        return cls(
            user=str(row["user"]),
            doctype=str(row["doctype"]),
            op=_member(_OPERATIONS, Operation, row["op"]),
            outcome=_member(_OUTCOMES, Outcome, row["outcome"]),
            method=_member(_METHODS, ProbeMethod, row.get("method") or ""),
            http_status=_status(row.get("http_status")),
            exc_type=str(row.get("exc_type") or ""),
            message=str(row.get("message") or ""),
            target=str(row.get("target") or ""),
            limits=tuple(x for x in str(limits).split(";") if x) if limits else (),
            reason=str(row.get("reason") or ""),
            latency_ms=float(latency) if type(latency) is float or type(latency) is int
            else float(str(latency)) if latency not in (None, "") else None,
            at=str(row.get("at") or ""),
            attempts=attempts,
        )


_E = TypeVar("_E", bound=StrEnum)
_OPERATIONS: dict[str, Operation] = {m.value: m for m in Operation}
_OUTCOMES: dict[str, Outcome] = {m.value: m for m in Outcome}
_METHODS: dict[str, ProbeMethod] = {m.value: m for m in ProbeMethod}


def _member(members: dict[str, _E], kind: type[_E], value: object) -> _E:
    """The member named ``value``; anything else is refused as ``kind(str(value))`` is."""
    found = members.get(value) if type(value) is str else None
    return found if found is not None else kind(str(value))


def _status(value: object) -> int | None:
    """An HTTP status as a row holds it (a number, a text of one, or nothing)."""
    if type(value) is int:
        return value
    return int(str(value)) if value not in (None, "") else None
