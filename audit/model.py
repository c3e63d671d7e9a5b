"""Plain data passed between the stages: operations, outcomes and one probe row.

No stage hands another a loose dict: these enums and frozen dataclasses are the
vocabulary of DESIGN.md (outcome words, probe columns) and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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


@dataclass(frozen=True)
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

    @classmethod
    def from_row(cls, row: dict[str, object]) -> ProbeResult:
        status = row.get("http_status")
        latency = row.get("latency_ms")
        limits = str(row.get("limits") or "")
        return cls(
            user=str(row["user"]),
            doctype=str(row["doctype"]),
            op=Operation(str(row["op"])),
            outcome=Outcome(str(row["outcome"])),
            method=ProbeMethod(str(row.get("method") or "")),
            http_status=int(str(status)) if status not in (None, "") else None,
            exc_type=str(row.get("exc_type") or ""),
            message=str(row.get("message") or ""),
            target=str(row.get("target") or ""),
            limits=tuple(x for x in limits.split(";") if x),
            reason=str(row.get("reason") or ""),
            latency_ms=float(str(latency)) if latency not in (None, "") else None,
            at=str(row.get("at") or ""),
        )
