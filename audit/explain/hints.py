"""One classifier for 401 / 403 / 429 replies: which cause of the catalogue, and the fix.

:func:`hint_for` reads what a probe row keeps (status, exc_type, message); keyword
arguments add what offline or live explain knows besides (the Authorization header, the
URL, ``session_expired``, the login reply's keys). When the evidence fits several causes,
the hint names the likeliest, lists the others in ``alternatives`` and says in
``tell_apart`` what would separate them. The header is only analysed, never kept: a hint
carries its shape with every credential masked.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from audit.explain.catalogue import cause as catalogue_cause
from audit.http.reply import FrappeReply, plain_text
from audit.results.redact import REDACTOR

__all__ = [
    "Evidence",
    "HeaderShape",
    "Hint",
    "classify",
    "hint_for",
    "hint_for_reply",
    "read_header",
]

MASK = "***"


@dataclass(frozen=True)
class Hint:
    cause: str  # catalogue id
    title: str
    fix: str
    evidence: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()  # other catalogue ids the evidence fits as well
    tell_apart: str = ""  # what would separate cause and alternatives

    @property
    def certain(self) -> bool:
        return not self.alternatives

    def as_dict(self) -> dict[str, object]:
        return {"cause": self.cause, "title": self.title, "fix": self.fix,
                "evidence": list(self.evidence), "alternatives": list(self.alternatives),
                "tell_apart": self.tell_apart, "certain": self.certain}


@dataclass(frozen=True)
class HeaderShape:
    """What an Authorization header looks like to Frappe, with every credential masked."""

    shown: str  # e.g. "token ***:***"
    cause: str | None  # a catalogue id when the shape alone explains a refusal
    kind: str  # "none" | "ignored" | "token" | "basic" | "bearer" | "other"
    note: str = ""


def read_header(value: str | None) -> HeaderShape:
    """How Frappe 15 reads this Authorization value (auth.py validate_auth, SPEC §2.1)."""
    if not value:
        return HeaderShape("(none)", None, "none")
    parts = value.split(" ")
    if len(parts) != 2:
        words = [p for p in parts if p]
        shown = " ".join([words[0] if words and ":" not in words[0] else MASK]
                         + [MASK] * (len(words) - 1))
        return HeaderShape(shown, "header-not-split", "ignored",
                           f"the value splits into {len(parts)} parts on single spaces, not 2, "
                           "so Frappe ignores it and runs the request as Guest")
    scheme, credential = parts
    word = scheme.lower()
    if word == "token":
        return _key_pair(scheme, credential, "token")
    if word == "basic":
        try:
            decoded = base64.b64decode(credential, validate=False).decode("utf-8")
        except (binascii.Error, ValueError):
            return HeaderShape(f"{scheme} {MASK}", "basic-not-base64", "basic",
                               "the Basic value is not valid base64")
        return _key_pair(scheme, decoded, "basic")
    if word == "bearer":
        if credential.count(":") == 1:
            return HeaderShape(f"{scheme} {MASK}:{MASK}", "wrong-scheme", "bearer",
                               "'Bearer' is read as an OAuth token; a key pair needs 'token'")
        return HeaderShape(f"{scheme} {MASK}", "oauth-token-refused", "bearer",
                           "an OAuth bearer token")
    return HeaderShape(f"{scheme} {MASK}", "wrong-scheme", "other",
                       f"Frappe knows no scheme '{scheme}' (token, Basic or Bearer)")


def _key_pair(scheme: str, credential: str, kind: str) -> HeaderShape:
    pieces = credential.split(":")
    if len(pieces) != 2 or not all(pieces):
        shown = f"{scheme} " + ":".join(MASK if p else "" for p in pieces)
        return HeaderShape(shown, "wrong-scheme", kind,
                           f"the credential has {len(pieces)} ':'-separated parts "
                           + ("with an empty one" if len(pieces) == 2 else "instead of "
                              "KEY:SECRET"))
    key = pieces[0]
    if kind == "basic" and "@" in key:
        return HeaderShape(f"{scheme} {MASK} (decodes to {key}:{MASK})", "basic-email-password",
                           kind, "the Basic value decodes to an e-mail address and a password")
    return HeaderShape(f"{scheme} {MASK}:{MASK}", None, kind, "an API key pair")


@dataclass(frozen=True)
class Evidence:
    """Everything known about one failed request (nothing secret is kept)."""

    status: int | None
    exc_type: str = ""
    message: str = ""  # plain text of every message the reply carried
    session_expired: bool = False
    header: HeaderShape | None = None  # None: not known whether a header was sent
    cookie_session: bool = False  # a non-Guest sid cookie was sent
    url: str = ""
    method: str = ""
    location: str = ""  # a redirect's target
    body_keys: frozenset[str] = field(default_factory=frozenset)


def hint_for(status: int | None, exc_type: str, message: str, *,
             session_expired: bool = False, authorization: str | None = None,
             header_known: bool = False, cookie_session: bool = False, url: str = "",
             method: str = "", location: str = "", body_keys: Iterable[str] = (),
             credential_kind: str | None = None) -> Hint | None:
    """The cause of one failed call, or None when the reply is no 401/403/429-type failure.

    ``authorization`` is the raw header value (analysed, never kept); ``header_known``
    says the caller knows what was sent, so ``authorization=None`` means "no header".
    ``credential_kind`` ("token", "basic", "bearer") says a well-formed credential of that
    kind was sent when its value is not at hand (check-auth knows the user's method).
    """
    header = (read_header(authorization) if authorization is not None or header_known
              else None)
    if header is None and credential_kind:
        header = HeaderShape(f"{credential_kind} {MASK}", None, credential_kind)
    return classify(Evidence(status, exc_type or "", plain_text(message or ""),
                             session_expired, header, cookie_session, url, method.upper(),
                             location, frozenset(body_keys)))


def hint_for_reply(reply: FrappeReply, **kwargs: object) -> Hint | None:
    """:func:`hint_for` on a parsed reply, reading every message it carries."""
    texts = [reply.error_message, *reply.server_messages]
    body = reply.body if isinstance(reply.body, dict) else {}
    if isinstance(body.get("message"), str):
        texts.append(str(body["message"]))
    exception = body.get("exception")
    if isinstance(exception, str) and ": " in exception:
        texts.append(exception.split(": ", 1)[1])
    if not reply.is_json:
        texts.append(reply.text[:2000])
    location = reply.headers.get("Location", "")
    return hint_for(reply.status, reply.exc_type, " | ".join(t for t in texts if t),
                    session_expired=reply.session_expired, url=reply.url,
                    method=reply.method, location=location, body_keys=body.keys(),
                    **kwargs)  # type: ignore[arg-type]


# -- the rules ------------------------------------------------------------------------------
_TEXT_RULES: tuple[tuple[str, str], ...] = (
    ("access not allowed from this ip address", "ip-restricted"),
    ("login not allowed at this time", "login-hours"),
    ("has been locked", "account-locked"),
    ("login with username and password is not allowed", "password-login-disabled"),
    ("access not allowed for this url", "auth-hook"),
    ("user disabled or missing", "user-disabled"),
    ("is disabled. please contact", "session-user-disabled"),
    ("invalid login credentials", "login-invalid-credentials"),
    ("incomplete login details", "login-incomplete"),
    ("incorrect verification code", "two-factor"),
    ("login session expired", "two-factor"),
    ("password not found for user", "api-secret-missing"),
    ("failed to decode token", "basic-not-base64"),
    ("you don't have access to report", "report-access"),
    ("not allowed for ", "user-permission"),
    ("because it is linked to", "user-permission"),
    ("not allowed via controller permission check", "controller-hook"),
    ("parent doctype required", "child-table"),
)
_GUEST_CAUSES = ("no-credential", "header-not-split", "proxy-stripped-auth",
                 "redirect-dropped-auth", "session-expired", "two-factor")
_KEY_CAUSES = ("wrong-secret", "unknown-key")
_DOC_CAUSES: tuple[str, ...] = ("right-missing-on-doc", "if-owner", "user-permission",
                                "controller-hook", "select-only", "no-role")
_NAMED_DOCTYPE = re.compile(r"for document ([A-Z]\w*(?: (?!User )[A-Z]\w*)*)")


def classify(ev: Evidence) -> Hint | None:
    """The catalogue cause this evidence points to (None: not an auth or permission refusal)."""
    if ev.status is None:
        return None
    facts = _facts(ev)
    found = _classify(ev)
    if found is None:
        return None
    cause_id, alternatives, tell_apart, extra = found
    entry = catalogue_cause(cause_id)
    alternatives = tuple(a for a in dict.fromkeys(alternatives) if a != cause_id)
    return Hint(cause_id, entry.title, entry.fix, tuple(facts + extra), alternatives,
                tell_apart)


_Found = tuple[str, tuple[str, ...], str, list[str]]


def _classify(ev: Evidence) -> _Found | None:
    text = ev.message.lower()
    status = ev.status or 0
    if 300 <= status < 400:
        return ("redirect-dropped-auth", (), "", [f"redirect to {ev.location or '?'}"])
    if status == 404 and not ev.exc_type and "does not exist" in text:
        return ("wrong-site", (), "", [])
    if status == 429 or ev.exc_type in ("TooManyRequestsError", "RateLimitExceededError"):
        return ("rate-limit", (), "", [])
    if status == 417:  # a validation error: the permission check passed (a safe probe's yes)
        if "is disabled. please contact" in text:
            return ("session-user-disabled", (), "", [])
        return None
    for needle, cause_id in _TEXT_RULES:
        if needle in text:
            return (cause_id, (), "", [])
    if ev.exc_type == "CSRFTokenError":
        return ("csrf-token", (), "", [])
    if ev.exc_type == "InvalidAuthorizationToken":
        return ("basic-not-base64", (), "", [])
    if status == 200:
        if {"verification", "tmp_id"} & ev.body_keys:
            return ("two-factor", (), "", [])
        if "password reset" in text:
            return ("password-expired", (), "", [])
        return None
    if ev.exc_type == "SecurityException":
        return ("account-locked", (), "", [])
    if status == 401:
        return _classify_401(ev)
    if status == 403:
        return _classify_403(ev, text)
    return None


def _classify_401(ev: Evidence) -> _Found:
    header = ev.header
    if header is not None and header.cause is not None and header.cause != "header-not-split":
        return (header.cause, (), "", [])
    if header is not None and header.kind == "bearer":
        return ("oauth-token-refused", (), "", [])
    if header is not None and header.kind in ("token", "basic"):
        return ("wrong-secret", _KEY_CAUSES,
                "live explain asks the auditor account whether a User holds this api_key: "
                "yes means the secret is wrong (or was regenerated), no means the key is "
                "unknown to this site", [])
    return ("wrong-secret", (*_KEY_CAUSES, "wrong-scheme", "basic-email-password",
                             "oauth-token-refused"),
            "the Authorization header tells them apart (pass --header-file or --curl-file): "
            "'Bearer' means an OAuth token, Basic decoding to an e-mail means email:password, "
            "a missing secret means a malformed header; live explain checks the key itself",
            [])


def _is_guest(ev: Evidence, text: str) -> bool:
    if ev.session_expired or "user guest " in text or "frappe.auth.get_logged_user" in text:
        return True
    no_header = ev.header is not None and ev.header.kind in ("none", "ignored")
    return no_header and not ev.cookie_session and "is not whitelisted" in text


def _classify_403(ev: Evidence, text: str) -> _Found:
    if _is_guest(ev, text):
        return _classify_guest(ev)
    if ev.cookie_session and ev.header is not None and ev.header.kind not in ("none", "ignored"):
        return ("cookie-and-token", _DOC_CAUSES,
                "send the request again without cookies: the session's user won, not the "
                "token's", [])
    if "doctype access via role permission" in text or "read or select permission" in text:
        requested = _requested_doctype(ev.url)
        if requested and requested.lower() not in text:
            named = _named_doctype(ev.message) or "another DocType"
            return ("misleading-message", ("linked-doctype-right", "no-role"),
                    f"the message names {named} but the request was for {requested}: the "
                    "right may be missing on a linked DocType; live explain checks both",
                    [f"message names {named}, request names {requested}"])
        return ("no-role", ("website-user",),
                "live explain reads the user's roles and user type; a Website User has no "
                "desk role", [])
    if "is not whitelisted" in text or "method not allowed" in text:
        return ("not-whitelisted", ("session-expired", "no-credential"),
                "call frappe.auth.get_logged_user with the same credential: if it answers, "
                "the function is not exposed (or needs another verb)", [])
    if "does not have access to this document" in text or "you need the '" in text:
        doc_causes = _DOC_CAUSES
        if "does not have access to this document" in text:
            # Frappe logged its reasons: a User Permission or a hook would have said so
            doc_causes = tuple(c for c in _DOC_CAUSES
                               if c not in ("user-permission", "controller-hook"))
        if "/frappe.client.cancel" in ev.url and "'write'" in text:
            doc_causes = ("cancel-needs-write", *_DOC_CAUSES)
        return (doc_causes[0], doc_causes[1:],
                "the reasons do not name the rule; live explain reads the user's rules "
                "(if_owner, User Permissions, shares, hooks) for this document", [])
    if "no permission for" in text or "insufficient permission for" in text:
        return ("no-role", ("user-permission", "right-missing-on-doc", "child-table"),
                "live explain reads the user's rules for this DocType", [])
    if not text.strip() or text.strip() == "not permitted":
        return _classify_bare_403(ev, text)
    return ("no-role", _DOC_CAUSES[:-1],
            "the text names no known reason; live explain reads the rules", [])


def _classify_guest(ev: Evidence) -> _Found:
    header = ev.header
    if ev.session_expired:
        return ("session-expired", ("sessions-cleared",),
                "deny_multiple_sessions in System Settings, and whether the user logged in "
                "elsewhere since", ["session_expired=1: a session cookie was sent but is no "
                                    "longer valid"])
    if header is not None:
        if header.cause == "header-not-split":
            return ("header-not-split", (), "", [])
        if header.kind == "none":
            return ("no-credential", ("redirect-dropped-auth", "two-factor"),
                    "whether the caller meant to send a credential (a redirect drops it; a 2FA "
                    "login opens no session)", [])
        return ("proxy-stripped-auth", ("redirect-dropped-auth",),
                "call the site directly (not through the proxy), and check for a redirect",
                ["a well-formed header was sent, yet Frappe saw Guest"])
    return ("no-credential", _GUEST_CAUSES,
            "the request as sent (pass --header-file or --curl-file) tells them apart: no header, "
            "a malformed header, a stripped header or an expired session", [])


def _classify_bare_403(ev: Evidence, text: str) -> _Found:
    path = unquote(urlsplit(ev.url).path) if ev.url else ""
    query = parse_qs(urlsplit(ev.url).query) if ev.url else {}
    if path.startswith("/api/resource/") and "parent" not in query:
        return ("child-table", ("only-for-gate",),
                "whether the DocType is a child table (istable): then pass parent=<Parent>",
                ["a bare 403 on /api/resource without a parent parameter"])
    if path.startswith("/api/method/"):
        if "not permitted" in text:
            return ("not-whitelisted", ("only-for-gate",),
                    "the verb the function expects (e.g. POST for frappe.client.insert)", [])
        return ("only-for-gate", ("not-whitelisted",),
                "whether the function is limited to System Manager (only_for)", [])
    return ("child-table", ("only-for-gate", "not-whitelisted"),
            "the URL (pass --url): a child-table list without parent, or a role-gated function",
            [])


def _named_doctype(message: str) -> str | None:
    match = _NAMED_DOCTYPE.search(message)
    return match.group(1).strip() if match else None


def _requested_doctype(url: str) -> str | None:
    path = unquote(urlsplit(url).path) if url else ""
    for prefix in ("/api/resource/", "/api/v2/document/"):
        if path.startswith(prefix):
            rest = path[len(prefix):]
            return rest.split("/", 1)[0] or None
    return None


def _facts(ev: Evidence) -> list[str]:
    out = [f"HTTP {ev.status}" + (f" {ev.exc_type}" if ev.exc_type else "")]
    if ev.message:
        # masked whole first: a cut through a secret would leave its start unmasked
        out.append(f"message: {REDACTOR.text(ev.message)[:300]}")
    if ev.session_expired:
        out.append("session_expired=1 in the body")
    if ev.header is not None:
        out.append(f"Authorization: {ev.header.shown}"
                   + (f" ({ev.header.note})" if ev.header.note else ""))
    if ev.cookie_session:
        out.append("a session cookie was sent")
    if ev.method or ev.url:
        out.append(f"request: {ev.method or '?'} {ev.url or '?'}".strip())
    return out
