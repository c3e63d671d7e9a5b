"""hint_for: every failing step of the recorded transcripts, header shapes, masking."""

from __future__ import annotations

import base64
import json

import pytest

from audit.explain.catalogue import CATALOGUE, cause
from audit.explain.hints import hint_for, hint_for_reply, read_header
from audit.http.reply import FrappeReply
from tests.explain.transcripts import EXPECTED, Step, failing_steps

STEPS = failing_steps()


def reply_of(step: Step) -> FrappeReply:
    try:
        body = json.loads(step.body_text)
    except ValueError:
        body = None
    return FrappeReply(step.method, step.url, step.status, body, step.body_text,
                       step.response_headers, 0.0)


def test_every_failing_step_has_an_expectation() -> None:
    assert {(s.transcript, s.index) for s in STEPS} == set(EXPECTED)


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.label)
def test_transcript_step_names_its_cause(step: Step) -> None:
    expected, certain = EXPECTED[(step.transcript, step.index)]
    cookie = "sid=" in step.headers.get("Cookie", "")
    hint = hint_for_reply(reply_of(step), authorization=step.headers.get("Authorization"),
                          header_known=True, cookie_session=cookie)
    assert hint is not None
    if certain:
        assert (hint.cause, hint.alternatives) == (expected, ()), hint
    else:
        assert expected in (hint.cause, *hint.alternatives), hint
        assert hint.tell_apart
    assert hint.fix == cause(hint.cause).fix


def test_catalogue_ids_unique_and_rows_covered() -> None:
    ids = [c.id for c in CATALOGUE]
    assert len(ids) == len(set(ids))
    rows = sorted(c.row for c in CATALOGUE if c.row is not None)
    assert rows == list(range(1, 36))  # one entry per CAUSES.md row


@pytest.mark.parametrize(("value", "cause_id", "kind"), [
    (None, None, "none"),
    ("token abc:def", None, "token"),
    ("Token abc:def", None, "token"),
    ("token  abc:def", "header-not-split", "ignored"),
    ("token abc:def extra", "header-not-split", "ignored"),
    ("abc:def", "header-not-split", "ignored"),
    ("token abc", "wrong-scheme", "token"),
    ("token abc:", "wrong-scheme", "token"),
    ("token a:b:c", "wrong-scheme", "token"),
    ("Bearer abc:def", "wrong-scheme", "bearer"),
    ("Bearer sometoken", "oauth-token-refused", "bearer"),
    ("Digest x", "wrong-scheme", "other"),
    ("Basic !!!notbase64!!!", "basic-not-base64", "basic"),
    ("Basic " + base64.b64encode(b"clerk@example.com:pw").decode(), "basic-email-password",
     "basic"),
    ("Basic " + base64.b64encode(b"abc:def").decode(), None, "basic"),
    ("Basic " + base64.b64encode(b"abc").decode(), "wrong-scheme", "basic"),
])
def test_read_header(value: str | None, cause_id: str | None, kind: str) -> None:
    shape = read_header(value)
    assert (shape.cause, shape.kind) == (cause_id, kind)
    for secret in ("abc", "def", "pw", "sometoken"):
        assert secret not in shape.shown.replace("***", "")


def test_plain_status_only() -> None:
    """What a probe row keeps is enough for a hint."""
    hint = hint_for(401, "AuthenticationError", "")
    assert hint is not None and hint.cause == "wrong-secret"
    assert "unknown-key" in hint.alternatives and "oauth-token-refused" in hint.alternatives
    limited = hint_for(429, "TooManyRequestsError", "")
    assert limited is not None and limited.cause == "rate-limit" and limited.certain
    assert hint_for(200, "", "") is None
    assert hint_for(417, "ValidationError", "Vendor Name is required") is None
    # a safe delete probe's 417 means the delete right is there: no hint for it
    assert hint_for(417, "ValidationError", "Submitted Record cannot be deleted") is None
    disabled = hint_for(417, "ValidationError", "User x@example.com is disabled. Please "
                        "contact your System Manager.")
    assert disabled is not None and disabled.cause == "session-user-disabled"
    assert hint_for(None, "", "connection refused") is None
    up = hint_for(403, "PermissionError", "Not allowed for Vendor: Globex Ltd User "
                  "restricted@example.com does not have access to this document")
    assert up is not None and up.cause == "user-permission"
    assert hint_for(403, "PermissionError",
                    "You need the 'write' permission on Vendor X to perform this action."
                    ) is not None


def test_cookie_and_token_together() -> None:
    hint = hint_for(403, "PermissionError", "You need the 'write' permission on Vendor X",
                    authorization="token abc:def", cookie_session=True)
    assert hint is not None and hint.cause == "cookie-and-token"


def test_message_names_another_doctype() -> None:
    hint = hint_for(403, "PermissionError", "User <strong>u@x.com</strong> does not have doctype "
                    "access via role permission for document <strong>Page</strong>",
                    url="/api/resource/Sales%20Invoice", method="POST")
    assert hint is not None and hint.cause == "misleading-message"
    assert "Page" in hint.tell_apart and "Sales Invoice" in hint.tell_apart


def test_hint_never_shows_the_header_secret() -> None:
    secret = "verysecret0099"
    hint = hint_for(401, "AuthenticationError", "", authorization=f"token key1234:{secret}")
    assert hint is not None
    assert secret not in json.dumps(hint.as_dict()) and "key1234" not in json.dumps(hint.as_dict())


@pytest.mark.parametrize("offset", [280, 290, 295, 299])
def test_a_secret_across_the_message_cut_is_masked_whole(offset: int) -> None:
    """The message is cut at 300 characters after masking, never before."""
    from audit.config.secrets import REGISTRY

    secret = "Zx9SecretValue12345"
    REGISTRY.register(secret)
    message = "x" * (offset - 1) + " " + secret + " tail"
    hint = hint_for(401, "AuthenticationError", message)
    assert hint is not None
    [shown] = [e for e in hint.evidence if e.startswith("message: ")]
    assert secret[:4] not in shown, shown
    assert len(shown) <= len("message: ") + 300
