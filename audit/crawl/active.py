"""``active`` mode: create -> write -> submit -> cancel -> delete on probe documents.

Only with ``[crawl] allow_active = true``. Every document the tool creates is marked
(``permaudit-probe`` in a text field and in its name where the name is chosen), written
to a ledger file the moment it exists, and removed at the end — by the user, else by
the auditor — even after an error.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit.crawl.discovery import GETDOCTYPE, parse_meta
from audit.crawl.inventory import DocTypeInfo, FieldInfo, Inventory
from audit.crawl.probes import UserContext, now
from audit.crawl.verdicts import (
    Kind,
    ask_reading,
    lifecycle_reading,
    read_reading,
    short_message,
)
from audit.http.client import FrappeClient, FrappeReply, TransportError, resource_path
from audit.model import Operation, Outcome, ProbeMethod, ProbeResult
from audit.results.files import append_json_line

MARKER = "permaudit-probe"
SKIP_TYPES = ("Section Break", "Column Break", "Tab Break", "HTML", "Button", "Heading",
              "Fold", "Image", "Read Only", "Table MultiSelect", "Attach", "Attach Image",
              "Signature", "Geolocation", "Password", "Dynamic Link")


@dataclass(frozen=True)
class ProbeDoc:
    doctype: str
    name: str
    created_by: str


class Ledger:
    """Probe documents that exist on the site right now (a JSON-lines file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        # read once: documents an interrupted earlier run left behind are removed too
        self._alive: dict[tuple[str, str], ProbeDoc] = {}
        if path.exists():
            for line in path.read_text("utf-8").splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by the interruption
                self._track(rec["event"], ProbeDoc(rec["doctype"], rec["name"], rec["user"]))

    def _track(self, event: str, doc: ProbeDoc) -> None:
        if event == "created":
            self._alive[(doc.doctype, doc.name)] = doc
        else:
            self._alive.pop((doc.doctype, doc.name), None)

    def _record(self, event: str, doc: ProbeDoc) -> None:
        record = {"event": event, "doctype": doc.doctype, "name": doc.name,
                  "user": doc.created_by}
        with self._lock:
            append_json_line(self.path, record)  # redacted, 0600
            self._track(event, doc)

    def created(self, doc: ProbeDoc) -> None:
        self._record("created", doc)

    def removed(self, doc: ProbeDoc) -> None:
        self._record("removed", doc)

    def outstanding(self) -> list[ProbeDoc]:
        with self._lock:
            return list(self._alive.values())


class DocumentBuilder:
    """A valid new document: mandatory fields filled from what the site already holds."""

    def __init__(self, inventory: Inventory, meta: Callable[[str], DocTypeInfo | None]) -> None:
        self.inventory = inventory
        self.meta = meta

    def build(self, dt: DocTypeInfo, tag: str) -> dict[str, Any] | None:
        if dt.fields is None:
            return None
        body: dict[str, Any] = {}
        naming = dt.naming_field()
        if dt.autoname.lower() in ("prompt", ""):
            body["name"] = f"{MARKER}-{tag}"
        for f in dt.fields:
            value = self._value(f, tag, required=f.reqd or f.fieldname == naming)
            if value is _MISSING:
                return None
            if value is not None:
                body[f.fieldname] = value
        marker = dt.list_probe_field()
        if marker is not None and marker.fieldtype in ("Data", "Small Text", "Text", "Long Text",
                                                       "Text Editor"):
            body[marker.fieldname] = f"{MARKER}-{tag}"
        return body

    def _value(self, f: FieldInfo, tag: str, required: bool) -> Any:
        if not required or f.fieldtype in SKIP_TYPES or (f.read_only and not f.reqd):
            return None
        kind = f.fieldtype
        if kind in ("Data", "Small Text", "Text", "Long Text", "Text Editor", "Code"):
            return f"{MARKER}-{tag}"
        if kind in ("Int", "Float", "Currency", "Percent"):
            return 1
        if kind == "Check":
            return 0
        if kind == "Date":
            return datetime.now(UTC).strftime("%Y-%m-%d")
        if kind == "Datetime":
            return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if kind == "Select":
            options = [o for o in f.options.split("\n") if o.strip()]
            return options[0] if options else _MISSING
        if kind == "Link":
            docs = [t for t in self.inventory.targets.get(f.options, ()) if t.docstatus != 2]
            return docs[0].name if docs else _MISSING
        if kind == "Table":
            child = self.meta(f.options)
            row = self.build(child, tag) if child is not None else None
            return [row] if row is not None else _MISSING
        return _MISSING


_MISSING: Any = object()

# Never given a lifecycle (their safe-mode answers stand): DocTypes whose Frappe-core
# has_permission hook judges content (a hook may refuse the cleanup, SPEC.md §3.7), those
# that govern access, and those that send mail or run code when a document is saved.
ACTIVE_NEVER: frozenset[str] = frozenset({
    "Event", "ToDo", "Note", "User", "Dashboard Chart", "Number Card", "Kanban Board",
    "Contact", "Address", "Communication", "Workflow Action", "File", "Prepared Report",
    "Notification Settings", "Has Role", "Role", "Role Profile", "Module Profile", "DocType",
    "DocPerm", "Custom DocPerm", "User Permission", "DocShare", "OAuth Client",
    "OAuth Bearer Token", "OAuth Authorization Code", "Server Script", "Client Script",
    "Custom Field", "Property Setter", "Module Def", "Report", "Workflow", "Notification",
    "Email Account", "Email Queue", "Newsletter", "Auto Email Report", "Webhook",
    "Scheduled Job Type", "System Settings", "Data Import", "Deleted Document", "Version",
    "Activity Log", "Access Log", "Error Log",
})


class Lifecycle:
    """The lifecycle of one probe document per (user, DocType)."""

    def __init__(self, inventory: Inventory, ledger: Ledger, auditor: FrappeClient | None,
                 meta_client: FrappeClient | None) -> None:
        self.inventory = inventory
        self.ledger = ledger
        self.auditor = auditor
        self._meta_client = meta_client
        self._metas: dict[str, DocTypeInfo | None] = {}
        self._lock = threading.Lock()
        self.builder = DocumentBuilder(inventory, self._meta)

    def _meta(self, doctype: str) -> DocTypeInfo | None:
        with self._lock:
            if doctype in self._metas:
                return self._metas[doctype]
        info = self.inventory.doctypes.get(doctype)
        if (info is None or info.fields is None) and self._meta_client is not None:
            reply = self._meta_client.call(GETDOCTYPE, doctype=doctype)
            info = parse_meta(reply.body)[0] if reply.status == 200 else None
        with self._lock:
            self._metas[doctype] = info
        return info

    def run(self, ctx: UserContext, dt: DocTypeInfo) -> dict[Operation, ProbeResult]:
        out: dict[Operation, ProbeResult] = {}
        if dt.name in ACTIVE_NEVER:
            return out
        tag = uuid.uuid4().hex[:10]
        body = self.builder.build(dt, tag)
        if body is None:
            return out
        doc: ProbeDoc | None = None
        try:
            # Never create what nobody in this run can remove again.
            if not self._someone_can(ctx, dt.name, ("delete",)):
                return out
            reply = ctx.client.post(resource_path(dt.name), json=body)
            out[Operation.CREATE] = self._row(ctx, dt, Operation.CREATE, reply, ok=(200,))
            doc = self._created(reply, dt, ctx.name)
            if doc is None:
                return out
            self._steps(ctx, dt, doc, tag, out)
        except TransportError:
            pass  # the cells keep their safe-mode answers
        finally:
            if doc is not None:
                self.remove(doc, ctx.client)
        return out

    def _steps(self, ctx: UserContext, dt: DocTypeInfo, doc: ProbeDoc, tag: str,
               out: dict[Operation, ProbeResult]) -> None:
        path = resource_path(dt.name, doc.name)
        marker = dt.list_probe_field()
        change = {marker.fieldname: f"{MARKER}-{tag}-w"} if marker else {}
        out[Operation.WRITE] = self._row(ctx, dt, Operation.WRITE,
                                         ctx.client.put(path, json=change), ok=(200,), doc=doc)
        if dt.is_submittable and self._someone_can(ctx, dt.name, ("cancel", "delete")):
            reply = ctx.client.put(path, json={"docstatus": 1})
            out[Operation.SUBMIT] = self._row(ctx, dt, Operation.SUBMIT, reply, ok=(200,), doc=doc)
            if out[Operation.SUBMIT].outcome is Outcome.ALLOWED:
                reply = ctx.client.put(path, json={"docstatus": 2})
                out[Operation.CANCEL] = self._row(ctx, dt, Operation.CANCEL, reply, ok=(200,),
                                                  doc=doc)
        reply = ctx.client.delete(path)
        out[Operation.DELETE] = self._row(ctx, dt, Operation.DELETE, reply, ok=(200, 202),
                                          doc=doc)
        if out[Operation.DELETE].outcome is Outcome.ALLOWED:
            self.ledger.removed(doc)

    def _someone_can(self, ctx: UserContext, doctype: str, perms: tuple[str, ...]) -> bool:
        """Does the user, or else the auditor, hold every one of ``perms`` on the DocType?"""
        for client in (c for c in (ctx.client, self.auditor) if c is not None):
            answers = [client.call("frappe.client.has_permission", doctype=doctype, docname="",
                                   perm_type=perm) for perm in perms]
            if all(ask_reading(a).kind is Kind.ALLOW for a in answers):
                return True
        return False

    def _created(self, reply: FrappeReply, dt: DocTypeInfo, who: str) -> ProbeDoc | None:
        data = reply.data if reply.status == 200 else None
        if not isinstance(data, dict) or not data.get("name"):
            return None
        doc = ProbeDoc(dt.name, str(data["name"]), who)
        self.ledger.created(doc)
        return doc

    def remove(self, doc: ProbeDoc, user_client: FrappeClient | None = None) -> bool:
        """Delete a probe document if it still exists (cancel it first when submitted)."""
        if doc not in self.ledger.outstanding():
            return True
        for client in (c for c in (user_client, self.auditor) if c is not None):
            try:
                path = resource_path(doc.doctype, doc.name)
                current = client.get(path)
                if read_reading(current).kind is Kind.NEXT:  # gone already
                    self.ledger.removed(doc)
                    return True
                data = current.data if isinstance(current.data, dict) else {}
                if int(data.get("docstatus") or 0) == 1:
                    client.put(path, json={"docstatus": 2})
                if lifecycle_reading(client.delete(path), (200, 202)).kind is Kind.ALLOW:
                    self.ledger.removed(doc)
                    return True
            except TransportError:
                continue
        return False

    def _row(self, ctx: UserContext, dt: DocTypeInfo, op: Operation, reply: FrappeReply,
             ok: tuple[int, ...], doc: ProbeDoc | None = None) -> ProbeResult:
        reading = lifecycle_reading(reply, ok)
        outcome = _OUTCOMES.get(reading.kind, Outcome.UNTESTABLE)
        reason = "" if outcome.is_verdict else reading.note
        return ProbeResult(
            user=ctx.name, doctype=dt.name, op=op, outcome=outcome, method=ProbeMethod.REST,
            http_status=reply.status, exc_type=reply.exc_type, message=short_message(reply),
            target=doc.name if doc else "", limits=("probe document",) if doc else (),
            reason=reason, latency_ms=round(reply.latency_ms, 1), at=now())


_OUTCOMES = {Kind.ALLOW: Outcome.ALLOWED, Kind.DENY: Outcome.DENIED, Kind.ERROR: Outcome.ERROR}


def merge(safe: ProbeResult, active: ProbeResult | None) -> ProbeResult:
    """An allowed lifecycle step wins; otherwise the safe-mode answer on existing documents."""
    if active is None:
        return safe
    if active.outcome is Outcome.ALLOWED or safe.outcome not in (Outcome.ALLOWED,
                                                                  Outcome.DENIED):
        return active if active.outcome in (Outcome.ALLOWED, Outcome.DENIED) else safe
    return safe
