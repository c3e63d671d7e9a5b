"""``RunResults``: the complete, schema-versioned record of one run (results.json).

Everything after the crawl (findings, reports, ``report``, ``diff``, ``--baseline``,
``explain --from-results``, ``--resume``'s identity check) reads this record and nothing
else. It never holds a secret: users are described by their config name, Frappe user and
facts; the config is only present as a digest.

Reading is forward compatible within a major schema: unknown keys are ignored, missing
optional keys take their defaults. A file written by a newer major schema is refused with
:class:`SchemaError` (one sentence, the CLI turns it into exit 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from audit.crawl.inventory import DocTypeInfo, Inventory, RuleRow, UserFacts
from audit.model import Finding, Operation, ProbeResult

SCHEMA_VERSION = 2  # 1: the crawler's first results.json (no rules, no attempts)


T = TypeVar("T")
_DECODE_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


class _Malformed(Exception):
    """Where in a results.json a value could not be read, and why."""

    def __init__(self, where: str, exc: Exception) -> None:
        super().__init__(where)
        self.where = where
        self.exc = exc


def _part(where: str, read: Callable[[], T]) -> T:
    try:
        return read()
    except _DECODE_ERRORS as exc:
        raise _Malformed(where, exc) from None


def _rows(where: str, read: Callable[[Any], T], items: Iterable[Any]) -> tuple[T, ...]:
    """Each item read; a bad one is named by its index (a million rows: read in C, and
    list.extend keeps what it read before the bad one, so its length is the index)."""
    out: list[T] = []
    try:
        out.extend(map(read, items))
    except _DECODE_ERRORS as exc:
        raise _Malformed(f"{where}[{len(out)}]", exc) from None
    return tuple(out)


class SchemaError(Exception):
    """results.json cannot be read (not JSON, not ours, or a newer schema)."""


@dataclass(frozen=True)
class RunInfo:
    """Run metadata. ``config_digest`` and ``site_id`` let ``--resume`` refuse a mismatch."""

    site: str
    host: str | None
    mode: str
    started: str
    finished: str
    complete: bool
    discovery: str  # inventory source: auditor | catalogue | config
    tool_version: str = ""
    config_digest: str = ""  # sha256 over the config's non-secret content
    site_id: str = ""  # url + host, normalised
    frappe_version: str = ""
    notes: tuple[str, ...] = ()
    pace: Mapping[str, Any] = field(default_factory=dict)  # final pacing figures

    def as_json(self) -> dict[str, Any]:
        return {
            "site": self.site, "host": self.host, "mode": self.mode, "started": self.started,
            "finished": self.finished, "complete": self.complete, "discovery": self.discovery,
            "tool_version": self.tool_version, "config_digest": self.config_digest,
            "site_id": self.site_id, "frappe_version": self.frappe_version,
            "notes": list(self.notes), "pace": dict(self.pace),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunInfo:
        return cls(
            site=str(data.get("site") or ""), host=data.get("host"),
            mode=str(data.get("mode") or ""), started=str(data.get("started") or ""),
            finished=str(data.get("finished") or ""), complete=bool(data.get("complete")),
            discovery=str(data.get("discovery") or ""),
            tool_version=str(data.get("tool_version") or ""),
            config_digest=str(data.get("config_digest") or ""),
            site_id=str(data.get("site_id") or ""),
            frappe_version=str(data.get("frappe_version") or ""),
            notes=tuple(str(n) for n in data.get("notes") or ()),
            pace=dict(data.get("pace") or {}),
        )


@dataclass(frozen=True)
class UserRecord:
    """One configured user as results.json describes it (no secret, ever)."""

    name: str  # the config name: every file's ``user`` column
    auth: str
    frappe_user: str | None
    roles: tuple[str, ...] = ()
    user_type: str = ""
    enabled: bool | None = None
    has_api_key: bool | None = None
    restrict_ip: str | None = None  # None: not known
    last_login: str | None = None
    auth_failure: str = ""  # the classified cause, when it could not authenticate
    expect: Mapping[str, tuple[str, ...]] | None = None  # declared need: DocType -> ops

    @property
    def authenticated(self) -> bool:
        return not self.auth_failure

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "auth": self.auth, "frappe_user": self.frappe_user,
            "roles": list(self.roles), "user_type": self.user_type, "enabled": self.enabled,
            "has_api_key": self.has_api_key, "restrict_ip": self.restrict_ip,
            "last_login": self.last_login, "auth_failure": self.auth_failure,
            "expect": None if self.expect is None else {k: list(v) for k, v in self.expect.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UserRecord:
        expect = data.get("expect")
        return cls(
            name=str(data["name"]), auth=str(data.get("auth") or ""),
            frappe_user=data.get("frappe_user"), roles=_texts(data.get("roles") or (), "roles"),
            user_type=str(data.get("user_type") or ""), enabled=data.get("enabled"),
            has_api_key=data.get("has_api_key"), restrict_ip=data.get("restrict_ip"),
            last_login=data.get("last_login"), auth_failure=str(data.get("auth_failure") or ""),
            expect=None if expect is None else {
                str(k): _ops(v, f"expect[{k!r}]") for k, v in expect.items()},
        )


def _texts(value: Any, key: str) -> tuple[str, ...]:
    """A list of texts as results.json holds it (a text alone is no list: not its letters)."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of texts")
    return tuple(value)


def _ops(value: Any, key: str) -> tuple[str, ...]:
    ops = _texts(value, key)
    unknown = [o for o in ops if o not in _OP_WORDS]
    if unknown:
        raise ValueError(f"{key}: unknown operation {unknown[0]!r}")
    return ops


_OP_WORDS = frozenset(o.value for o in Operation)


@dataclass(frozen=True)
class Incident:
    """A probe that changed data on the site (a 2xx to a probe built to fail)."""

    user: str
    doctype: str
    op: str
    at: str
    http_status: int | None
    document: str = ""  # the name the site reported (masked when secret-bearing)
    removed: bool | None = None  # None: not attempted; True: proved ours and deleted
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"user": self.user, "doctype": self.doctype, "op": self.op, "at": self.at,
                "http_status": self.http_status, "document": self.document,
                "removed": self.removed, "detail": self.detail}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Incident:
        return cls(user=str(data["user"]), doctype=str(data["doctype"]), op=str(data["op"]),
                   at=str(data.get("at") or ""), http_status=data.get("http_status"),
                   document=str(data.get("document") or ""), removed=data.get("removed"),
                   detail=str(data.get("detail") or ""))


@dataclass(frozen=True)
class RunResults:
    """The record of a run. Built by the pipeline, read by analysis, renderers, diff."""

    run: RunInfo
    users: tuple[UserRecord, ...]
    inventory: Inventory  # DocTypes, configured rules, user facts (User Permissions, shares)
    probes: tuple[ProbeResult, ...]
    incidents: tuple[Incident, ...] = ()
    findings: tuple[Finding, ...] = ()
    analysis: Mapping[str, Any] = field(default_factory=dict)  # summary figures of analysis
    # usage evidence (SPEC §6.4): user -> "DocType|op" -> count in the window; None: not read
    usage: Mapping[str, Mapping[str, int]] | None = None
    usage_days: int | None = None
    # DocTypes whose usage evidence could not be read ("*": all): their use is unknown
    usage_missing: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION

    # -- convenience for readers -------------------------------------------------------------
    @property
    def doctypes(self) -> Mapping[str, DocTypeInfo]:
        return self.inventory.doctypes

    @property
    def rules(self) -> Mapping[str, tuple[RuleRow, ...]] | None:
        return self.inventory.rules

    def user(self, name: str) -> UserRecord | None:
        return next((u for u in self.users if u.name == name), None)

    def facts(self, name: str) -> UserFacts | None:
        """The site's facts (roles, User Permissions, shares) of a configured user."""
        record = self.user(name)
        if record is None or not record.frappe_user:
            return None
        return self.inventory.users.get(record.frappe_user)

    # -- JSON --------------------------------------------------------------------------------
    def to_json(self, *, rows: bool = True) -> dict[str, Any]:
        """The document of results.json (``rows=False``: without its findings and probes)."""
        from audit import __version__

        document: dict[str, Any] = {
            "schema_version": self.schema_version,
            "tool": {"name": "permaudit", "version": self.run.tool_version or __version__},
            "run": self.run.as_json(),
            "users": {u.name: u.as_json() for u in self.users},
            "inventory": self.inventory.to_json(),
            "incidents": [i.as_json() for i in self.incidents],
            "analysis": dict(self.analysis),
            "usage": None if self.usage is None else {u: dict(c) for u, c in self.usage.items()},
            "usage_days": self.usage_days,
            "usage_missing": list(self.usage_missing),
        }
        if rows:
            document["findings"] = [f.as_json() for f in self.findings]
            document["probes"] = [p.as_json() for p in self.probes]
        return document

    @classmethod
    def from_json(cls, data: Any, source: str = "results.json", *,
                  findings: Iterable[Any] | None = None,
                  probes: Iterable[Any] | None = None) -> RunResults:
        """The record of a parsed results.json; ``findings`` and ``probes``, when given,
        stand for the document's own lists (a file read row by row)."""
        if not isinstance(data, dict) or "run" not in data or (
                "probes" not in data and probes is None):
            raise SchemaError(f"{source}: not a permaudit results.json")
        version = data.get("schema_version")
        if not isinstance(version, int) or version < 1:
            raise SchemaError(f"{source}: schema_version is missing or not a number")
        if version > SCHEMA_VERSION:
            raise SchemaError(f"{source}: written by a newer permaudit (schema {version}; this "
                              f"one reads up to {SCHEMA_VERSION}) — upgrade permaudit")
        try:
            return cls._decode(data, version,
                               data.get("findings") or () if findings is None else findings,
                               data["probes"] if probes is None else probes)
        except _Malformed as bad:
            exc = bad.exc
            raise SchemaError(f"{source}: malformed {bad.where} "
                              f"({type(exc).__name__}: {exc})") from None
        except _DECODE_ERRORS as exc:
            raise SchemaError(f"{source}: malformed ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _decode(cls, data: Mapping[str, Any], version: int, findings: Iterable[Any],
                probes: Iterable[Any]) -> RunResults:
        users_raw = data.get("users") or []
        if isinstance(users_raw, dict):  # config name -> user
            users_raw = list(users_raw.values())
        run = _part("run", lambda: RunInfo.from_json(data["run"]))
        inventory_raw = data.get("inventory")
        if inventory_raw is None:  # schema 1 held only the DocType flags
            inventory = _part("doctypes", lambda: Inventory(
                source=str(data["run"].get("discovery") or ""), doctypes={
                    k: DocTypeInfo(name=k, **v) for k, v in (data.get("doctypes") or {}).items()}))
        else:
            inventory = _part("inventory", lambda: Inventory.from_json(inventory_raw))
        usage = data.get("usage")
        return cls(
            run=run,
            users=_rows("users", UserRecord.from_json, users_raw),
            inventory=inventory,
            probes=_rows("probes", ProbeResult.from_json, probes),
            incidents=_rows("incidents", Incident.from_json, data.get("incidents") or ()),
            findings=_rows("findings", Finding.from_json, findings),
            analysis=_part("analysis", lambda: dict(data.get("analysis") or {})),
            usage=None if usage is None else _part("usage", lambda: {
                str(u): {str(k): int(n) for k, n in c.items()} for u, c in usage.items()}),
            usage_days=data.get("usage_days"),
            usage_missing=_part("usage_missing", lambda: tuple(
                str(d) for d in data.get("usage_missing") or ())),
            schema_version=version,
        )

    def write(self, path: Path) -> None:
        from audit.results.files import gc_paused, write_results_json

        with gc_paused():
            write_results_json(path, self.to_json(rows=False), self.probes,
                               [f.as_json() for f in self.findings])

    @classmethod
    def load(cls, path: Path) -> RunResults:
        """The record in ``path`` (read row by row when in the writer's layout)."""
        from audit.results import reading

        def build(data: Any, findings: list[Any] | None, probes: Iterable[Any] | None
                  ) -> RunResults:
            return cls.from_json(data, str(path), findings=findings, probes=probes)
        return reading.load(path, build)
