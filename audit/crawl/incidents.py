"""Incidents: a probe built to fail that the site accepted, so data changed.

A 2xx to any safe probe is an incident (DESIGN.md "Probe modes"), in Frappe's shape or
not (a gateway's envelope, a 204), and so is a 3xx (a redirect is never followed, but
whatever sent it may have applied the request). Each one stops every
further mutating probe on that DocType for the rest of the run, is said on stderr in one
line, is appended to ``OUTDIR/incidents.jsonl`` the moment it happens, and ends up in
``RunResults.incidents`` (analysis makes it a critical finding). Its cell is an ``error``,
never a quiet ``allowed``.

A document a create probe made is removed only when the tool can prove it made it: the
name comes from the reply, and reading that document back shows the probing user as its
owner and a ``creation`` no earlier than the moment the probe was sent (on the server's own
clock). Whatever else a reply names is left alone.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from audit.http.client import FrappeClient, FrappeReply, TransportError, resource_path
from audit.results.files import append_json_line
from audit.results.record import Incident

INCIDENTS_FILE = "incidents.jsonl"
CLOCK_MARGIN = timedelta(seconds=2)  # the Date header may come from a proxy's clock
TIME_ZONE_METHOD = "frappe.client.get_time_zone"


class IncidentLog:
    """Thread-safe record of a run's incidents and of the DocTypes they stopped."""

    def __init__(self, path: Path | None, warn: Callable[[str], None] = lambda _m: None) -> None:
        self.path = path
        self.warn = warn
        self._lock = threading.Lock()
        self._incidents: list[Incident] = []
        self._stopped: set[str] = set()

    def load(self) -> None:
        """Read what an interrupted earlier part of this run recorded (``--resume``)."""
        if self.path is None or not self.path.exists():
            return
        for line in self.path.read_text("utf-8").splitlines():
            try:
                incident = Incident.from_json(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line cut short by the interruption
            with self._lock:
                self._incidents.append(incident)
                self._stopped.add(incident.doctype)

    def stopped(self, doctype: str) -> bool:
        with self._lock:
            return doctype in self._stopped

    @property
    def incidents(self) -> tuple[Incident, ...]:
        with self._lock:
            return tuple(self._incidents)

    def record(self, incident: Incident) -> None:
        with self._lock:
            self._incidents.append(incident)
            self._stopped.add(incident.doctype)
            if self.path is not None:  # 0600, redacted (a secret-bearing name fingerprinted)
                append_json_line(self.path, incident.as_json())
        self.warn(describe(incident))


def describe(incident: Incident) -> str:
    """The one stderr line of an incident."""
    if incident.removed is True:
        after = f"the probe document {incident.document!r} was proved ours and deleted"
    elif incident.document:
        after = f"{incident.document!r} was left on the site: {incident.detail}"
    else:
        after = incident.detail
    return (f"INCIDENT: the {incident.op} probe of {incident.user!r} on {incident.doctype} "
            f"changed data (HTTP {incident.http_status}); {after}; no more mutating probes on "
            f"{incident.doctype} in this run")


def server_time(headers: Mapping[str, str]) -> datetime | None:
    """The reply's ``Date`` header as an aware UTC datetime (None when absent or bad)."""
    value = headers.get("Date") or headers.get("date")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def site_datetime(text: str, time_zone: str) -> datetime | None:
    """Frappe's ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in the site's time zone, as UTC."""
    try:
        naive = datetime.fromisoformat(str(text).strip())
        zone = ZoneInfo(time_zone or "UTC")
    except (ValueError, ZoneInfoNotFoundError):
        return None
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=zone)
    return naive.astimezone(UTC)


def not_ours(stored: Mapping[str, Any] | None, *, name: str, user: str,
             sent_at: datetime | None, time_zone: str) -> str:
    """Why ``stored`` cannot be proved to be the document this probe made ("" if it can).

    ``sent_at`` is the earliest moment, on the server's clock, the probe can have reached
    the site; ``time_zone`` is the site's (``creation`` is written in it).
    """
    if stored is None:
        return "it could not be read back"
    if str(stored.get("name") or "") != name:
        return "reading it back gave another document"
    owner = str(stored.get("owner") or "")
    if owner != user:
        return f"its owner is {owner or 'unknown'!r}, not the probing user"
    if sent_at is None:
        return "the site's reply had no usable Date header to date the probe by"
    created = site_datetime(str(stored.get("creation") or ""), time_zone)
    if created is None:
        return "its creation time could not be read"
    if created < sent_at - CLOCK_MARGIN:
        return "it was created before the probe was sent"
    return ""


def remove_if_ours(reply: FrappeReply, started: float, *, doctype: str, user: str,
                   read: Callable[[str], Mapping[str, Any] | None],
                   clients: Sequence[FrappeClient]) -> tuple[str, bool | None, str]:
    """Delete the document a create probe's 2xx names, only when it is provably ours.

    ``started`` is the monotonic time the probe was sent; ``read`` reads a document back
    (the auditor first); ``clients`` delete it (the probing user first). Returns (the name
    the reply gave, removed: None when not attempted, what happened)."""
    data = reply.data if isinstance(reply.data, dict) else {}
    name = str(data.get("name") or "")
    if not name:
        return "", None, "the reply named no document; nothing was deleted"
    date = server_time(reply.headers)
    sent_at = date - timedelta(seconds=time.monotonic() - started) if date else None
    why = not_ours(read(name), name=name, user=user, sent_at=sent_at,
                   time_zone=site_time_zone(clients[0]) if clients else "UTC")
    if why:
        return name, None, f"not deleted: {why}; check it by hand"
    for client in clients:
        try:
            gone = client.delete(resource_path(doctype, name))
        except TransportError:
            continue
        if 200 <= gone.status < 300:
            return name, True, "proved ours (owner, creation) and deleted"
    return name, False, "proved ours, but deleting it failed; delete it by hand"


def site_time_zone(client: FrappeClient) -> str:
    """The site's time zone (``creation`` is written in it); UTC when not told."""
    try:
        reply = client.call(TIME_ZONE_METHOD)
    except TransportError:
        return "UTC"
    zone = reply.message.get("time_zone") if isinstance(reply.message, dict) else None
    return zone if isinstance(zone, str) and zone else "UTC"
