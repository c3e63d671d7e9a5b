"""Reading one Frappe reply as permission evidence (SPEC.md §5, the ``probe-*`` transcripts).

Pure functions: a :class:`~audit.http.client.FrappeReply` in, a :class:`Reading` out.
A reply is only evidence when the failure it shows comes *after* the permission
check; everything else is ``NEXT`` (try another target), ``INCONCLUSIVE`` (ask
instead) or ``ERROR`` (never counted as allowed or denied).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from audit.http.reply import FrappeReply, plain_text

# Failures raised before Frappe's create check: they prove nothing (SPEC.md §5.3).
CREATE_INCONCLUSIVE = frozenset({"LinkValidationError", "CancelledLinkError",
                                 "DocstatusTransitionError", "FrappeTypeError",
                                 "DocumentLockedError"})


HOOK_REFUSAL = "Not allowed via controller permission check"


class Kind(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    NEXT = "next"  # the target is missing: try another one
    INCONCLUSIVE = "inconclusive"  # a failure before the permission check: ask instead
    INCIDENT = "incident"  # the site accepted a probe that should have failed
    ERROR = "error"


@dataclass(frozen=True)
class Reading:
    kind: Kind
    reply: FrappeReply | None = None
    note: str = ""

    @property
    def final_denial(self) -> bool:
        """A refusal at DocType level: no other target can be allowed by role rules."""
        if self.kind is not Kind.DENY or self.reply is None:
            return False
        text = " ".join([*self.reply.server_messages, self.reply.error_message])
        return "doctype access via role permission" in text


def short_message(reply: FrappeReply | None, limit: int = 300) -> str:
    """The most telling human sentence of a reply, without HTML."""
    if reply is None:
        return ""
    texts = [reply.error_message, *reply.server_messages]
    if isinstance(reply.message, str) and reply.status >= 400:
        texts.append(reply.message)
    body = reply.body if isinstance(reply.body, dict) else {}
    exception = body.get("exception")
    if isinstance(exception, str) and ":" in exception:
        texts.append(exception.split(":", 1)[1])
    for text in texts:
        clean = plain_text(text or "")
        if clean:
            return clean[:limit]
    return ""


def _ran_as_guest(reply: FrappeReply) -> bool:
    text = " ".join([*reply.server_messages, reply.error_message])
    return (reply.session_expired or "User <strong>Guest</strong>" in text
            or "User Guest " in text or "not whitelisted" in text)


def _common(reply: FrappeReply) -> Reading | None:
    """What every probe reads the same way: auth loss, 404, server errors, non-JSON."""
    if reply.status == 401:
        return Reading(Kind.ERROR, reply, "the site rejected the credentials mid-run (401)")
    if reply.status == 403 and _ran_as_guest(reply):
        return Reading(Kind.ERROR, reply, "the request ran as Guest: the identity was lost")
    if reply.status == 404:
        return Reading(Kind.NEXT, reply, "target not found")
    if reply.status == 429:
        return Reading(Kind.ERROR, reply, "rate limited (429) after retries")
    if reply.status >= 500:
        return Reading(Kind.ERROR, reply, f"server error {reply.status} {reply.exc_type}".strip())
    if not reply.is_json:
        return Reading(Kind.ERROR, reply, f"unexpected non-JSON reply (HTTP {reply.status})")
    return None


def read_reading(reply: FrappeReply) -> Reading:
    """GET of one document: 200 allowed, 403 denied."""
    common = _common(reply)
    if common:
        return common
    if reply.status == 200 and isinstance(reply.data, dict):
        return Reading(Kind.ALLOW, reply)
    if reply.status == 403:
        return Reading(Kind.DENY, reply)
    return Reading(Kind.ERROR, reply, f"unexpected reply to a read (HTTP {reply.status})")


def _verb_reading(reply: FrappeReply, allowed: Callable[[FrappeReply], bool],
                  denied: Callable[[FrappeReply], Reading | None], what: str,
                  incident: str) -> Reading:
    """The shape every REST verb probe shares: the permission-proving failure is
    ``allowed``, a 403 is ``denied``, a success is an incident, anything else is
    inconclusive (the caller asks instead)."""
    common = _common(reply)
    if common:
        return common
    if allowed(reply):
        return Reading(Kind.ALLOW, reply)
    if reply.status == 403:
        return denied(reply) or Reading(Kind.DENY, reply)
    if reply.exc_type == "DocumentLockedError":  # raised before the permission check
        return Reading(Kind.INCONCLUSIVE, reply, "the document is locked by a background job")
    if 200 <= reply.status < 300:
        return Reading(Kind.INCIDENT, reply, incident)
    return Reading(Kind.INCONCLUSIVE, reply, f"unexpected reply to the {what} probe "
                   f"(HTTP {reply.status} {reply.exc_type})".strip())


def _plain_denial(_reply: FrappeReply) -> Reading | None:
    return None


def _create_denial(reply: FrappeReply) -> Reading | None:
    if any(HOOK_REFUSAL in m for m in reply.server_messages):
        # A has_permission hook judged the probe body (ToDo: allocated_to), not the role.
        return Reading(Kind.INCONCLUSIVE, reply, "a controller hook refused the probe body")
    if "'create' permission" in reply.error_message or not reply.error_message:
        return None
    return Reading(Kind.INCONCLUSIVE, reply, "refused by another check than create")


def write_reading(reply: FrappeReply) -> Reading:
    """Stale-``modified`` PUT: 417 TimestampMismatchError allowed, 403 denied (SPEC §5.2)."""
    return _verb_reading(
        reply, lambda r: r.status == 417 and r.exc_type == "TimestampMismatchError",
        _plain_denial, "write", "the site accepted a PUT with a stale timestamp")


def create_reading(reply: FrappeReply) -> Reading:
    """POST with a list value: any failure after the create check means allowed (SPEC §5.3)."""
    return _verb_reading(
        reply, lambda r: r.status in (409, 417) and r.exc_type not in CREATE_INCONCLUSIVE,
        _create_denial, "create", "the site created the probe document")


def delete_reading(reply: FrappeReply) -> Reading:
    """DELETE of a submitted document: 417 'Submitted Record cannot be deleted' allowed."""

    def allowed(r: FrappeReply) -> bool:
        text = " ".join(r.server_messages) + " " + short_message(r)
        return r.status == 417 and ("cannot be deleted" in text or r.exc_type == "LinkExistsError")

    return _verb_reading(reply, allowed, _plain_denial, "delete", "the site deleted the document")


def submit_reading(reply: FrappeReply) -> Reading:
    """PUT docstatus 1 with a bad ``amended_from``: 417 LinkValidationError allowed (§5.5)."""
    return _verb_reading(
        reply, lambda r: r.status == 417 and r.exc_type == "LinkValidationError",
        _plain_denial, "submit", "the site submitted the draft")


def ask_reading(reply: FrappeReply) -> Reading:
    """``frappe.client.has_permission``: {"message": {"has_permission": bool}}."""
    common = _common(reply)
    if common:
        return common
    message = reply.body.get("message") if isinstance(reply.body, dict) else None
    if reply.status == 200 and isinstance(message, dict) and isinstance(
            message.get("has_permission"), bool):
        return Reading(Kind.ALLOW if message["has_permission"] else Kind.DENY, reply)
    return Reading(Kind.ERROR, reply, f"unexpected reply to has_permission (HTTP {reply.status})")


def lifecycle_reading(reply: FrappeReply, ok: tuple[int, ...]) -> Reading:
    """A real step of active mode on the tool's own probe document: a success (``ok``)
    is allowed, 403 denied; auth loss, 5xx and the like read as for every probe."""
    common = _common(reply)
    if common:
        return common
    if reply.status in ok:
        return Reading(Kind.ALLOW, reply)
    if reply.status == 403:
        return Reading(Kind.DENY, reply)
    return Reading(Kind.INCONCLUSIVE, reply, f"active lifecycle: HTTP {reply.status} "
                   f"{reply.exc_type}".strip())
