"""The prober's search on canned Frappe replies (recorded shapes, SPEC.md §3.3 step 7, §4.3).

A refusal that carries the log line of Frappe's *nested* DocType-level read check ("does
not have doctype access via role permission") says nothing about the op on another
document: the search goes on unless the configured rules refuse the op outright."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from audit.crawl.inventory import DocTypeInfo, FieldInfo, Inventory, RuleRow, TargetDoc, UserFacts
from audit.crawl.probes import CellProber, UserContext
from audit.http.client import FrappeReply
from audit.model import Mode, Operation

USER = "w@example.com"
ORDER = DocTypeInfo(name="Order", fields=(FieldInfo("title", "Data"),))


def _reply(status: int, body: dict[str, Any]) -> FrappeReply:
    return FrappeReply(method="PUT", url="http://x/api/resource/Order", status=status, body=body,
                       text=json.dumps(body), headers={"Content-Type": "application/json"},
                       latency_ms=1.0)


def _messages(*lines: str) -> str:
    return json.dumps([json.dumps({"message": line, "indicator": "red"}) for line in lines])


NESTED = _reply(403, {
    "exc_type": "PermissionError",
    "_error_message": "You need the 'write' permission on <strong>Order</strong> O-1 to "
                      "perform this action.",
    "_server_messages": _messages(
        "You are not allowed to access this Order record because it is linked to Company "
        "'B' in field Company<br>User <strong>w@example.com</strong> does not have doctype "
        "access via role permission for document <strong>Order</strong>"),
})
MISMATCH = _reply(417, {"exc_type": "TimestampMismatchError", "_server_messages": _messages(
    "Error: Document has been modified after you have opened it.")})


class StubClient:
    """Answers each document's PUT from a table and records what was sent."""

    identity = SimpleNamespace(lost="")  # never loses its credentials

    def __init__(self, puts: dict[str, FrappeReply]) -> None:
        self.puts = puts
        self.sent: list[str] = []

    def call(self, dotted: str, **_params: Any) -> FrappeReply:
        """``getdoctype``: the meta a mutating probe is planned from right before it."""
        assert dotted.endswith("getdoctype"), dotted
        return _reply(200, {"docs": [{"name": "Order", "fields": [
            {"fieldname": "title", "fieldtype": "Data"}]}]})

    def put(self, path: str, json: Any = None, **_kwargs: Any) -> FrappeReply:
        name = path.rsplit("/", 1)[-1]
        self.sent.append(name)
        return self.puts[name]


def _prober(rights: frozenset[str]) -> tuple[CellProber, UserContext, StubClient]:
    targets = (TargetDoc("O-1"), TargetDoc("O-2"))
    inventory = Inventory(source="auditor", doctypes={"Order": ORDER},
                          targets={"Order": targets},
                          rules={"Order": (RuleRow("Order", "Writer", rights=rights),)},
                          listed=frozenset({"Order"}))
    facts = UserFacts(frappe_user=USER, roles=("Writer",), user_type="System User")
    client = StubClient({"O-1": NESTED, "O-2": MISMATCH})
    ctx = UserContext(name="writer", frappe_user=USER, client=client,  # type: ignore[arg-type]
                      facts=facts)
    def stored(_ctx: UserContext, _doctype: str, name: str) -> dict[str, Any]:
        return {"name": name, "modified": "2026-10-01 09:00:00.000000"}  # write probes need it

    return CellProber(inventory, Mode.SAFE, fetch=stored), ctx, client


def test_a_nested_doctype_level_line_does_not_end_the_search() -> None:
    prober, ctx, client = _prober(frozenset({"write"}))  # write, but no read
    row = prober.probe(ctx, ORDER, Operation.WRITE)
    assert (row.outcome.value, row.target) == ("allowed", "O-2")
    assert client.sent == ["O-1", "O-2"]
    assert [a.http_status for a in row.attempts] == [403, 417]


def test_the_search_ends_when_the_rules_refuse_the_op() -> None:
    prober, ctx, client = _prober(frozenset({"read"}))  # no role grants write
    row = prober.probe(ctx, ORDER, Operation.WRITE)
    assert row.outcome.value == "denied"
    assert client.sent == ["O-1"]
