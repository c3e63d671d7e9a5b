"""Every recorded reply of a real Frappe 15.55.1 is read as the evidence it is.

The expectations are written out per transcript step (from the step notes and
SPEC.md §5), so a change in the reading rules cannot silently agree with itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from audit.crawl.verdicts import (
    Kind,
    Reading,
    ask_reading,
    create_reading,
    delete_reading,
    lifecycle_reading,
    read_reading,
    short_message,
    submit_reading,
    write_reading,
)
from audit.http.client import FrappeReply

TRANSCRIPTS = Path(__file__).parent / "transcripts"
A, D, N, INC, E = Kind.ALLOW, Kind.DENY, Kind.NEXT, Kind.INCONCLUSIVE, Kind.ERROR

# file -> (reader, expected kind of each step; None = not a probe of that kind)
CASES: dict[str, tuple[Callable[[FrappeReply], Reading], list[Kind | None]]] = {
    "probe-write-stale-modified.json": (write_reading, [A, D, D, N, N, D, A, D, A, A, D]),
    # missing mandatory / duplicate name / list value: after the create check; invalid Link: before
    "probe-create-vendor.json": (create_reading, [A, A, D, D, A, D, A, D, INC, INC]),
    # docstatus 2 is refused before the create check for everyone
    "probe-create-memo.json": (create_reading, [A, A, D, D, INC, INC]),
    "probe-create-payment-voucher.json": (create_reading, [A, A, D, D, A, D]),
    # 404 first; 403 no delete; 417 submitted or linked = delete right passed
    "probe-delete.json": (delete_reading, [N, N, N, D, A, D, D, A, A, D, N]),
    "probe-submit-bad-amended-from.json": (submit_reading, [A, D, D, None]),
    "read-doc-allowed.json": (read_reading, [A, A]),
    "read-doc-nonexistent.json": (read_reading, [N, N, N]),
    # Guest (no credentials, expired cookie) never reads as a denial of the user
    "auth-garbage-sid.json": (read_reading, [None, E]),
    "auth-logout-reuse.json": (read_reading, [None, None, None, None, E]),
    # active mode's real steps: only a success is allowed; a probe-style 417 proves nothing
    "probe-submit-cancel.json": (lambda r: lifecycle_reading(r, (200,)),
                                 [D, INC, D, INC, D, INC, D, D]),
}

HAS_PERMISSION_FILE = "perm-has-permission.json"


def _reply(step: dict) -> FrappeReply:
    response = step["response"]
    body = response["body"]
    return FrappeReply(method=step["request"]["method"], url="http://x" + step["request"]["path"],
                       status=response["status"], body=body if not isinstance(body, str) else None,
                       text=json.dumps(body), headers={}, latency_ms=1.0)


def _steps(name: str) -> list[dict]:
    return json.loads((TRANSCRIPTS / name).read_text("utf-8"))["steps"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_recorded_probe_replies(name: str) -> None:
    reader, expected = CASES[name]
    steps = _steps(name)
    assert len(steps) == len(expected), f"{name}: expectations out of date"
    for i, (step, kind) in enumerate(zip(steps, expected, strict=True)):
        if kind is None:
            continue
        got = reader(_reply(step))
        assert got.kind is kind, f"{name} step {i} ({step.get('note')}): {got}"


def test_has_permission_replies() -> None:
    for i, step in enumerate(_steps(HAS_PERMISSION_FILE)):
        reply = _reply(step)
        got = ask_reading(reply)
        body = step["response"]["body"]
        if step["response"]["status"] == 200:
            expected = A if body["message"]["has_permission"] else D
        elif step["response"]["status"] == 404:
            expected = N
        else:  # 500 TypeError (docname omitted) and 403 Guest: never a verdict
            expected = E
        assert got.kind is expected, f"step {i} ({step.get('note')})"


def test_read_denied_steps() -> None:
    steps = [s for s in _steps("read-doc-denied.json")
             if s["request"]["path"].count("/") == 4]  # single documents, not lists
    assert steps
    kinds = [read_reading(_reply(s)).kind for s in steps]
    for step, kind in zip(steps, kinds, strict=True):
        status = step["response"]["status"]
        assert kind is {200: A, 403: D}[status], step.get("note")


def test_write_denial_carries_the_frappe_sentence() -> None:
    reply = _reply(_steps("probe-write-stale-modified.json")[1])
    message = short_message(reply)
    assert "write" in message and "<strong>" not in message


def test_guest_403_is_an_error_not_a_denial() -> None:
    steps = _steps("auth-none-guest.json")
    readings = [read_reading(_reply(s)) for s in steps if s["response"]["status"] == 403]
    assert readings and all(r.kind is E for r in readings)


@pytest.mark.parametrize(("status", "body", "ok", "kind"), [
    (200, {"data": {"name": "X"}}, (200,), A),
    (202, {"message": "ok"}, (200, 202), A),
    (403, {"exc_type": "PermissionError"}, (200,), D),
    (404, {"exc_type": "DoesNotExistError"}, (200,), N),
    (401, {"exc_type": "AuthenticationError"}, (200,), E),
    (500, {"exc_type": "OperationalError"}, (200,), E),
    (417, {"exc_type": "ValidationError"}, (200,), INC),
])
def test_active_lifecycle_steps(status: int, body: dict, ok: tuple[int, ...],
                                kind: Kind) -> None:
    reply = FrappeReply(method="PUT", url="http://x/api/resource/Note/N1", status=status,
                        body=body, text=json.dumps(body), headers={}, latency_ms=1.0)
    assert lifecycle_reading(reply, ok).kind is kind


def test_short_message_masks_a_secret_that_straddles_the_cut() -> None:
    from audit.config.secrets import REGISTRY

    secret = "Q7mQ7mZk2pL0x9Vw"
    REGISTRY.register(secret)
    # the secret starts at character 290 of the message: a cut at 300 halves it
    message = "Request context: " + "x" * 268 + " pwd=" + secret + " end"
    assert message.index(secret) < 300 < message.index(secret) + len(secret)
    reply = FrappeReply(method="PUT", url="http://x/api/resource/DT/N", status=417,
                        body={"exc_type": "ValidationError",
                              "_server_messages": json.dumps([json.dumps({"message": message})])},
                        text="", headers={}, latency_ms=1.0)
    short = short_message(reply)
    assert len(short) <= 300
    assert not any(secret[:n] in short for n in range(4, len(secret) + 1)), short
    assert "pwd=*** end" in short


@pytest.mark.parametrize("offset", [280, 295, 299])
def test_short_message_masks_before_it_cuts(offset: int) -> None:
    from audit.config.secrets import REGISTRY

    secret = "Zx9SecretValue12345"
    REGISTRY.register(secret)
    text = "x" * (offset - 1) + " " + secret + " tail"
    reply = FrappeReply("GET", "/api/resource/ToDo", 403, {"exc_type": "PermissionError",
                        "exception": f"frappe.exceptions.PermissionError: {text}"},
                        "", {}, 0.0)
    message = short_message(reply)
    assert secret[:4] not in message and len(message) <= 300, message
