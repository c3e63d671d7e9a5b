"""Readings that cannot be faked: only Frappe's own shapes (SPEC.md §4.3) are verdicts.

What a WAF, a proxy or a broken gateway sends instead is ``error`` with the reason, for
every probe reader. The Frappe shapes are the recorded ones (tests/transcripts)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from audit.crawl.verdicts import (
    Kind,
    Reading,
    ask_reading,
    create_reading,
    delete_reading,
    read_reading,
    submit_reading,
    write_reading,
)
from audit.http.client import FrappeReply


def reply(status: int, body: Any, content_type: str = "application/json") -> FrappeReply:
    text = body if isinstance(body, str) else json.dumps(body)
    parsed = None if isinstance(body, str) else body
    return FrappeReply(method="GET", url="http://x/api/resource/Order/SO-1", status=status,
                       body=parsed, text=text, headers={"Content-Type": content_type},
                       latency_ms=1.0)


READERS: dict[str, Callable[[FrappeReply], Reading]] = {
    "read": partial(read_reading, name="SO-1", doctype="Order"),
    "write": write_reading, "create": create_reading, "delete": delete_reading,
    "submit": submit_reading, "ask": ask_reading,
}
FOREIGN = {
    "waf 403": reply(403, {"message": "Request blocked"}),
    "waf 403 html": reply(403, "<html>Forbidden</html>", "text/html"),
    "empty 403": reply(403, ""),
    "empty 200": reply(200, ""),
    "fake 200": reply(200, {"message": "Request accepted"}),
    "fake 200 html": reply(200, "<html>Please wait</html>", "text/html"),
    "empty object 200": reply(200, {}),
    "proxy 404": reply(404, {"message": "Not found"}),
    "gateway 502": reply(502, "<html>Bad Gateway</html>", "text/html"),
    "417 without exc_type": reply(417, {"message": "Expectation failed"}),
    "403 other exception": reply(403, {"exc_type": "CSRFTokenError"}),
}


MUTATING = ("write", "create", "delete", "submit")


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("shape", sorted(FOREIGN))
def test_foreign_replies_are_errors(reader: str, shape: str) -> None:
    """...except a 2xx to a mutating probe: whatever its body, it is an incident."""
    got = READERS[reader](FOREIGN[shape])
    accepted = reader in MUTATING and FOREIGN[shape].ok
    assert got.kind is (Kind.INCIDENT if accepted else Kind.ERROR), got
    assert got.note


DENIED = reply(403, {"exc_type": "PermissionError", "_error_message":
                     "You need the 'write' permission on <strong>Order</strong> SO-1 to "
                     "perform this action."})


@pytest.mark.parametrize("reader", ["read", "write", "create", "delete", "submit"])
def test_frappes_refusal_is_a_denial(reader: str) -> None:
    bare = reply(403, {"exc_type": "PermissionError", "_server_messages": json.dumps([
        json.dumps({"message": "Not permitted"})])})
    create = reply(403, {"exc_type": "PermissionError", "_error_message":
                         "You need the 'create' permission on <strong>Order</strong> to "
                         "perform this action."})
    shape = {"read": bare, "create": create}.get(reader, DENIED)
    assert READERS[reader](shape).kind is Kind.DENY


def test_a_read_needs_the_document_it_asked_for() -> None:
    good = reply(200, {"data": {"name": "SO-1", "doctype": "Order", "owner": "a"}})
    assert READERS["read"](good).kind is Kind.ALLOW
    other = reply(200, {"data": {"name": "SO-2", "doctype": "Order"}})
    assert READERS["read"](other).kind is Kind.ERROR
    assert READERS["read"](reply(200, {"data": []})).kind is Kind.ERROR


@pytest.mark.parametrize("reader", MUTATING)
@pytest.mark.parametrize(("status", "body"), [
    (200, {"data": {"name": "SO-1", "doctype": "Order"}}), (202, {"message": "ok"}),
    (200, {"message": "Request accepted"}), (200, {"result": {"data": "ok"}}), (204, ""),
    (200, "<html>ok</html>"), (200, []), (201, {}), (299, {"exc_type": "PermissionError"}),
    (300, ""), (304, ""), (302, {"location": "/login"}),
])
def test_any_2xx_or_3xx_to_a_mutating_probe_is_an_incident(reader: str, status: int,
                                                           body: Any) -> None:
    got = READERS[reader](reply(status, body))
    assert got.kind is Kind.INCIDENT, got
    assert got.note


def test_a_missing_document_needs_frappes_404() -> None:
    missing = reply(404, {"exc_type": "DoesNotExistError",
                          "_server_messages": json.dumps([json.dumps(
                              {"message": "Order SO-9 not found"})])})
    assert READERS["read"](missing).kind is Kind.NEXT
    assert READERS["read"](FOREIGN["proxy 404"]).kind is Kind.ERROR
