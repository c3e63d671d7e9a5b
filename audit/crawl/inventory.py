"""What discovery found: DocTypes, sample documents, configured rules, user facts.

Plain frozen dataclasses with a JSON round trip, so a run can be resumed and
re-analysed without asking the site again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from audit.model import Operation

# a ``{...}`` of a ``format:`` autoname, as Frappe's naming finds them
_BRACED = re.compile(r"\{([\w | #]+)\}")
# parts Frappe's parse_naming_series fills from the date or a counter, not from a field
_SERIES_PARTS = frozenset({"YY", "YYYY", "MM", "DD", "WW", "JJJ", "FY", "timestamp"})
_FIELDNAME = re.compile(r"[a-z][a-z0-9_]*")
_TEMPLATE_FIELD = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)")  # {fieldname} in a template
TEXT_TYPES = ("Data", "Small Text", "Text", "Long Text", "Text Editor", "Int", "Float",
              "Currency", "Percent")


@dataclass(frozen=True)
class FieldInfo:
    fieldname: str
    fieldtype: str
    options: str = ""
    reqd: bool = False
    permlevel: int = 0
    fetch_from: str = ""
    read_only: bool = False
    is_virtual: bool = False  # not stored: a value sent for it is dropped
    ignore_user_permissions: bool = False
    default: str = ""


@dataclass(frozen=True)
class DocTypeInfo:
    name: str
    module: str = ""
    istable: bool = False
    issingle: bool = False
    is_submittable: bool = False
    is_virtual: bool = False
    custom: bool = False
    autoname: str = ""
    fields: tuple[FieldInfo, ...] | None = None  # None: the meta could not be read
    title_field: str = ""

    @property
    def autoincrement(self) -> bool:
        return self.autoname.strip().lower() == "autoincrement"

    def applicable(self, op: Operation) -> bool:
        """False where DESIGN.md says ``not_applicable``."""
        if self.istable:
            return False
        if op in (Operation.SUBMIT, Operation.CANCEL):
            return self.is_submittable and not self.issingle
        if op in (Operation.CREATE, Operation.DELETE):
            return not self.issingle
        return True

    def naming_field(self) -> str:
        """The field of ``field:`` naming (Frappe reads the prefix in any case), else ""."""
        if self.autoname.strip().lower().startswith("field:"):
            return self.autoname.split(":", 1)[1].strip()
        return ""

    def name_fields(self) -> tuple[str, ...]:
        """Every field a document's name is built from, as Frappe's naming reads the
        autoname (frappe/model/naming.py): ``field:x``; the ``{x}`` of ``format:``; a part of
        an old-style ``A.x.####`` rule, or of a ``naming_series`` option, that is a field.
        Series and date parts (``{#####}``, ``{YYYY}``, ``.MM.``, ...) are no fields. A
        controller or Document Naming Rule is not in the meta: it is not seen here."""
        rule = self.autoname.strip()
        lower = rule.lower()
        if lower.startswith("field:"):
            found = [self.naming_field()]
        elif lower.startswith("format:"):
            found = [p.strip() for p in _BRACED.findall(rule.split(":", 1)[1])]
        elif lower.startswith("naming_series:"):
            series = next((f for f in self.fields or () if f.fieldname == "naming_series"), None)
            options = series.options.splitlines() if series is not None else []
            found = [p for option in options for p in self._dotted_fields(option)]
        elif "#" in rule:
            found = self._dotted_fields(rule)
        else:
            found = []
        names = [n for n in found if n and not n.startswith("#") and n not in _SERIES_PARTS]
        return tuple(dict.fromkeys(names))

    def _dotted_fields(self, rule: str) -> list[str]:
        """The parts of an ``A.x.####`` rule Frappe fills from the document: a known field,
        or (meta unknown) a part written like a field name."""
        known = None if self.fields is None else {f.fieldname for f in self.fields}
        parts = [p.strip().strip("{}").strip() for p in rule.split(".")]
        return [p for p in parts if (p in known if known is not None
                                     else _FIELDNAME.fullmatch(p) is not None)]
    def templated_fields(self) -> frozenset[str]:
        """Fields the server may overwrite or read into a name before validation (SPEC
        §3.13 insert steps 8-10): the title field (``set_title_field`` fills it from its
        template), every field the names are built from (:meth:`name_fields`) and every
        ``{field}`` of the autoname or of the title's template."""
        texts = [self.autoname]
        names = set(self.name_fields())
        if self.title_field:
            names.add(self.title_field)
        for f in self.fields or ():
            if f.fieldname == self.title_field:
                texts += [f.options, f.default]
        names.update(m.group(1) for text in texts for m in _TEMPLATE_FIELD.finditer(text))
        return frozenset(names)

    def list_probe_field(self) -> FieldInfo | None:
        """A permlevel-0 plain field to receive a JSON list in the create probe (SPEC §5.3),
        never one a naming or title template may fill or read."""
        if self.fields is None:
            return None
        fetched = {f.fetch_from.split(".", 1)[0] for f in self.fields if f.fetch_from}
        fetched |= self.templated_fields()
        naming = self.naming_field()
        # read-only fields are set by controllers (a key, a status) and virtual ones are
        # never stored: the probe value may vanish and the insert succeed
        candidates = [
            f for f in self.fields
            if f.fieldtype in TEXT_TYPES and f.permlevel == 0 and not f.fetch_from
            and f.fieldname != naming and f.fieldname not in fetched
            and not f.read_only and not f.is_virtual
        ]
        candidates.sort(key=lambda f: TEXT_TYPES.index(f.fieldtype))
        return candidates[0] if candidates else None

    def submit_probe_field(self) -> FieldInfo | None:
        """``amended_from`` when it is a safe bad-link target (SPEC §5.5), else None."""
        if self.fields is None:
            return None
        fetched = {f.fetch_from.split(".", 1)[0] for f in self.fields if f.fetch_from}
        for f in self.fields:
            if (f.fieldname == "amended_from" and f.fieldtype == "Link" and f.permlevel == 0
                    and f.fieldname not in fetched):
                return f
        return None

    def link_fields(self) -> dict[str, str]:
        """fieldname -> target DocType of every Link field."""
        if self.fields is None:
            return {}
        return {f.fieldname: f.options for f in self.fields if f.fieldtype == "Link" and f.options}

    def checked_links(self) -> dict[str, str]:
        """The Link fields Frappe checks against User Permissions (not
        ``ignore_user_permissions``; SPEC.md §3.5)."""
        if self.fields is None:
            return {}
        return {f.fieldname: f.options for f in self.fields
                if f.fieldtype == "Link" and f.options and not f.ignore_user_permissions}


@dataclass(frozen=True)
class TargetDoc:
    name: str
    owner: str = ""
    docstatus: int = 0
    links: tuple[tuple[str, str], ...] = ()  # (fieldname, value) of user-permission relevant links

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "owner": self.owner, "docstatus": self.docstatus,
                "links": [list(pair) for pair in self.links]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TargetDoc:
        """The one reader of a stored target (inventory, discovery.json, checkpoint)."""
        return cls(name=str(data["name"]), owner=str(data.get("owner") or ""),
                   docstatus=int(data.get("docstatus") or 0),
                   links=tuple((str(f), str(v)) for f, v in data.get("links") or ()))


def _docs_json(docs: tuple[TargetDoc, ...] | None) -> list[dict[str, Any]] | None:
    return None if docs is None else [t.as_json() for t in docs]


def _docs_from(rows: Any) -> tuple[TargetDoc, ...] | None:
    return None if rows is None else tuple(TargetDoc.from_json(r) for r in rows)


@dataclass(frozen=True)
class Survey:
    """One user's documents of one DocType, learned before any probe.

    ``listed`` is the user's own list (Frappe filters it: SPEC.md §3.12); ``own``,
    ``shared`` and ``permitted`` are fetched directly (filters on ``owner``, on the shared
    names, on the allowed values). ``None`` means the fetch failed; ``()`` that it found
    nothing (or was not needed).
    """

    listed: tuple[TargetDoc, ...] | None = None
    list_status: int | None = None
    list_exc_type: str = ""
    list_message: str = ""
    list_refused: bool = False  # a Frappe-shaped refusal of the list (403 PermissionError)
    own: tuple[TargetDoc, ...] | None = ()
    shared: tuple[TargetDoc, ...] | None = ()
    permitted: tuple[TargetDoc, ...] | None = ()
    failure_note: str = ""  # why a fetch failed (HTTP status, transport error)

    def to_json(self) -> dict[str, Any]:
        return {"listed": _docs_json(self.listed), "list_status": self.list_status,
                "list_exc_type": self.list_exc_type, "list_message": self.list_message,
                "list_refused": self.list_refused, "own": _docs_json(self.own),
                "shared": _docs_json(self.shared), "permitted": _docs_json(self.permitted),
                "failure_note": self.failure_note}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Survey:
        return cls(listed=_docs_from(data.get("listed")), list_status=data.get("list_status"),
                   list_exc_type=str(data.get("list_exc_type") or ""),
                   list_message=str(data.get("list_message") or ""),
                   list_refused=bool(data.get("list_refused")),
                   own=_docs_from(data.get("own", [])), shared=_docs_from(data.get("shared", [])),
                   permitted=_docs_from(data.get("permitted", [])),
                   failure_note=str(data.get("failure_note") or ""))


@dataclass(frozen=True)
class RuleRow:
    doctype: str
    role: str
    permlevel: int = 0
    if_owner: bool = False
    rights: frozenset[str] = frozenset()


@dataclass(frozen=True)
class UserPermRow:
    allow: str
    for_value: str
    applicable_for: str = ""
    # bookkeeping of the UI: Frappe 15 does not read it when it evaluates (SPEC.md §3.5);
    # a blank ``applicable_for`` is what makes a row apply to every DocType
    apply_to_all_doctypes: bool = True
    is_default: bool = False

    def applies_to(self, doctype: str) -> bool:
        return not self.applicable_for or self.applicable_for == doctype

    @property
    def label(self) -> str:
        return f"user_permission:{self.allow}={self.for_value}"


@dataclass(frozen=True)
class ShareRow:
    doctype: str
    name: str
    read: bool = True
    write: bool = False
    submit: bool = False
    share: bool = False
    everyone: bool = False

    def grants(self, op: Operation) -> bool:
        if op is Operation.READ:
            return self.read
        if op is Operation.WRITE:
            return self.write
        if op is Operation.SUBMIT:
            return self.submit
        return False


@dataclass(frozen=True)
class UserFacts:
    """What the site says about one Frappe user (complete only with an auditor account)."""

    frappe_user: str
    roles: tuple[str, ...] = ()
    user_type: str = ""
    enabled: bool | None = None
    has_api_key: bool | None = None
    user_permissions: tuple[UserPermRow, ...] = ()
    shares: tuple[ShareRow, ...] = ()
    restrict_ip: str | None = None  # None: not read
    last_login: str | None = None

    @property
    def effective_roles(self) -> tuple[str, ...]:
        """Own roles plus Frappe's automatic ones (SPEC.md §3.1)."""
        auto = ("All", "Guest") + (("Desk User",) if self.user_type == "System User" else ())
        return self.roles + tuple(r for r in auto if r not in self.roles)


@dataclass(frozen=True)
class Inventory:
    source: str  # "auditor" | "catalogue" | "config"
    doctypes: Mapping[str, DocTypeInfo] = field(default_factory=dict)
    targets: Mapping[str, tuple[TargetDoc, ...]] = field(default_factory=dict)
    rules: Mapping[str, tuple[RuleRow, ...]] | None = None  # None: not known (no auditor)
    users: Mapping[str, UserFacts] = field(default_factory=dict)  # by Frappe user
    notes: tuple[str, ...] = ()
    # DocTypes the auditor could list: for these, no target means no document exists
    listed: frozenset[str] = frozenset()
    # System Settings apply_strict_user_permissions; None: the auditor could not read it
    strict_user_permissions: bool | None = None
    # the auditor's listings of user facts that failed ("Has Role", "User Permission", ...):
    # what they would have said is unknown, so no verdict may rest on their absence
    unread: frozenset[str] = frozenset()

    def facts(self, frappe_user: str) -> UserFacts:
        return self.users.get(frappe_user) or UserFacts(frappe_user=frappe_user)

    def role_grants(self, roles: Iterable[str], doctype: str, op: str) -> tuple[bool, bool] | None:
        """(granted by a plain row, granted only through if_owner rows); None without rules."""
        if self.rules is None:
            return None
        mine = set(roles)
        rows = [r for r in self.rules.get(doctype, ()) if r.permlevel == 0 and r.role in mine]
        plain = any(op in r.rights and not r.if_owner for r in rows)
        owner_only = not plain and any(op in r.rights and r.if_owner for r in rows)
        return plain, owner_only

    # -- JSON -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        def enc(obj: Any) -> Any:
            if isinstance(obj, frozenset):
                return sorted(obj)
            if isinstance(obj, tuple | list):
                return [enc(x) for x in obj]
            if isinstance(obj, dict):
                return {k: enc(v) for k, v in obj.items()}
            return obj

        return enc(asdict(self))  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inventory:
        def dt(d: Mapping[str, Any]) -> DocTypeInfo:
            fields = d.get("fields")
            return DocTypeInfo(**{**d, "fields": None if fields is None else tuple(
                FieldInfo(**f) for f in fields)})

        def facts(d: Mapping[str, Any]) -> UserFacts:
            return UserFacts(
                frappe_user=d["frappe_user"], roles=tuple(d.get("roles", ())),
                user_type=d.get("user_type", ""), enabled=d.get("enabled"),
                has_api_key=d.get("has_api_key"),
                user_permissions=tuple(UserPermRow(**u) for u in d.get("user_permissions", ())),
                shares=tuple(ShareRow(**s) for s in d.get("shares", ())),
                restrict_ip=d.get("restrict_ip"), last_login=d.get("last_login"),
            )

        rules = data.get("rules")
        return cls(
            source=data["source"],
            doctypes={k: dt(v) for k, v in data.get("doctypes", {}).items()},
            targets={k: tuple(TargetDoc.from_json(t) for t in v)
                     for k, v in data.get("targets", {}).items()},
            rules=None if rules is None else {
                k: tuple(RuleRow(doctype=r["doctype"], role=r["role"], permlevel=r["permlevel"],
                                 if_owner=r["if_owner"], rights=frozenset(r["rights"]))
                         for r in v) for k, v in rules.items()},
            users={k: facts(v) for k, v in data.get("users", {}).items()},
            notes=tuple(data.get("notes", ())),
            listed=frozenset(data.get("listed", ())),
            strict_user_permissions=data.get("strict_user_permissions"),
            unread=frozenset(data.get("unread", ())),
        )
