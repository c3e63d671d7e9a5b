"""Reading one Frappe reply as permission evidence (SPEC.md §4, §5, the ``probe-*`` transcripts).

Pure functions: a :class:`~audit.http.client.FrappeReply` in, a :class:`Reading` out.
A reply is only evidence when the failure it shows comes *after* the permission
check; everything else is ``NEXT`` (try another target), ``INCONCLUSIVE`` (ask
instead) or ``ERROR`` (never counted as allowed or denied).

Readings cannot be faked by what stands between the auditor and Frappe: ``denied``
needs Frappe's refusal shape (``exc_type`` PermissionError, SPEC.md §4.3), ``allowed``
the very reply the probe is built to provoke (the document it asked for, the
exception class that comes after the check, or Frappe's has_permission answer).
A WAF's ``{"message": "Request blocked"}``, a 200 without Frappe's shape or an empty
body is ``error`` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from audit.config.secrets import REGISTRY
from audit.http.reply import FrappeReply, plain_text

# Failures raised before Frappe's create check: they prove nothing (SPEC.md §5.3).
CREATE_INCONCLUSIVE = frozenset({"LinkValidationError", "CancelledLinkError",
                                 "DocstatusTransitionError", "FrappeTypeError",
                                 "DocumentLockedError"})


HOOK_REFUSAL = "Not allowed via controller permission check"
# reasons Frappe logs when one document (not the DocType) is refused (SPEC.md §3.3 step 7)
DOCUMENT_REASONS = (HOOK_REFUSAL, "Not allowed for ", "because it is linked to")
UNSHAPED = "without Frappe's error shape (a proxy or WAF in front?)"


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
    def names_the_document(self) -> bool:
        """A refusal for this document's content (User Permission, hook): another
        document may be allowed, so the search widens."""
        if self.kind is not Kind.DENY or self.reply is None:
            return False
        text = " ".join(self.reply.server_messages)
        return any(reason in text for reason in DOCUMENT_REASONS)


def short_message(reply: FrappeReply | None, limit: int = 300) -> str:
    """The most telling human sentence of a reply, without HTML, secrets masked.

    Masked before it is cut: a cut through a secret would leave a part no mask matches.
    """
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
            return REGISTRY.mask(clean)[:limit]
    return ""


def _ran_as_guest(reply: FrappeReply) -> bool:
    text = " ".join([*reply.server_messages, reply.error_message])
    return (reply.session_expired or "User <strong>Guest</strong>" in text
            or "User Guest " in text or "not whitelisted" in text)


def frappe_refusal(reply: FrappeReply) -> bool:
    """A 403 in Frappe's shape, for the user itself (not a request that ran as Guest)."""
    return (reply.status == 403 and isinstance(reply.body, dict)
            and reply.exc_type == "PermissionError" and not _ran_as_guest(reply))


def _common(reply: FrappeReply) -> Reading | None:
    """What every probe reads the same way: auth loss, 404, server errors, foreign shapes."""
    if reply.status == 401:
        return Reading(Kind.ERROR, reply, "the site rejected the credentials mid-run (401)")
    if reply.status == 429:
        return Reading(Kind.ERROR, reply, "rate limited (429) after retries")
    if reply.status >= 500:
        return Reading(Kind.ERROR, reply, f"server error {reply.status} {reply.exc_type}".strip())
    if not isinstance(reply.body, dict):
        what = "an empty body" if not reply.text.strip() else "a body that is not a JSON object"
        return Reading(Kind.ERROR, reply, f"HTTP {reply.status} with {what}")
    if reply.status >= 400 and not reply.exc_type:
        return Reading(Kind.ERROR, reply, f"HTTP {reply.status} {UNSHAPED}")
    if reply.status == 403 and _ran_as_guest(reply):
        return Reading(Kind.ERROR, reply, "the request ran as Guest: the identity was lost")
    if reply.status == 404:
        if reply.exc_type != "DoesNotExistError":
            return Reading(Kind.ERROR, reply, f"HTTP 404 {reply.exc_type} is not a missing "
                           "document")
        return Reading(Kind.NEXT, reply, "target not found")
    if reply.status == 403 and reply.exc_type != "PermissionError":
        return Reading(Kind.ERROR, reply, f"HTTP 403 {reply.exc_type} is not a permission "
                       "refusal")
    return None


def names_document(reply: FrappeReply, name: str | None, doctype: str | None) -> bool:
    """``{"data": {"name": NAME, "doctype": DT, ...}}``: Frappe's document reply."""
    data = reply.data
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return False
    if name is not None and data["name"] != name:
        return False
    return doctype is None or data.get("doctype", doctype) == doctype


def read_reading(reply: FrappeReply, name: str | None = None,
                 doctype: str | None = None) -> Reading:
    """GET of one document: 200 with that document allowed, Frappe's 403 denied."""
    common = _common(reply)
    if common:
        return common
    if reply.status == 200 and names_document(reply, name, doctype):
        return Reading(Kind.ALLOW, reply)
    if reply.status == 200:
        return Reading(Kind.ERROR, reply, "HTTP 200 without the requested document "
                       "(not Frappe's reply)")
    if frappe_refusal(reply):
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
    if reply.status >= 400 and allowed(reply):
        return Reading(Kind.ALLOW, reply)
    if frappe_refusal(reply):
        return denied(reply) or Reading(Kind.DENY, reply)
    if reply.exc_type == "DocumentLockedError":  # raised before the permission check
        return Reading(Kind.INCONCLUSIVE, reply, "the document is locked by a background job")
    if 200 <= reply.status < 300:
        if _frappe_success(reply):
            return Reading(Kind.INCIDENT, reply, incident)
        return Reading(Kind.ERROR, reply, f"HTTP {reply.status} without Frappe's shape: the "
                       "probe may have reached the site; check it")
    return Reading(Kind.INCONCLUSIVE, reply, f"unexpected reply to the {what} probe "
                   f"(HTTP {reply.status} {reply.exc_type})".strip())


def _frappe_success(reply: FrappeReply) -> bool:
    """A document reply (insert, save) or delete's ``{"data": "ok"}``."""
    return names_document(reply, None, None) or reply.data == "ok" or reply.message == "ok"


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
        if _frappe_success(reply):
            return Reading(Kind.ALLOW, reply)
        return Reading(Kind.ERROR, reply, f"HTTP {reply.status} without Frappe's shape")
    if frappe_refusal(reply):
        return Reading(Kind.DENY, reply)
    return Reading(Kind.INCONCLUSIVE, reply, f"active lifecycle: HTTP {reply.status} "
                   f"{reply.exc_type}".strip())
