"""Discovery: which DocTypes exist, which documents to aim at, which rules are configured.

With the optional ``[auditor]`` account (a System Manager) the site itself answers
(SPEC.md §6); without it, the configured DocType list or the catalogue of standard
Frappe / ERPNext DocTypes shipped with the package is used, and targets come from
what each user can list itself (see :mod:`audit.crawl.engine`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any

from audit.crawl.inventory import (
    DocTypeInfo,
    FieldInfo,
    Inventory,
    RuleRow,
    ShareRow,
    Survey,
    TargetDoc,
    UserFacts,
    UserPermRow,
)
from audit.crawl.plan import restricted_links
from audit.crawl.verdicts import frappe_refusal, short_message
from audit.http.client import (
    FrappeClient,
    FrappeReply,
    TransportError,
    read_again,
    resource_path,
)
from audit.model import RIGHTS_COLUMNS

log = logging.getLogger(__name__)

TARGETS_PER_DOCTYPE = 200
SURVEY_LIMIT = 50  # the user's own list: its newest rows
OWN_LIMIT = 20  # documents the user owns, fetched by filter
PERMITTED_LIMIT = 20  # documents inside the user's User Permissions, per filter
SHARED_CAP = 100  # shared names asked for in one filter
GETDOCTYPE = "frappe.desk.form.load.getdoctype"
DOCTYPE_FIELDS = ["name", "module", "istable", "issingle", "is_submittable", "custom",
                  "is_virtual", "autoname"]
AUTOMATIC_ROLES = ("All", "Guest", "Desk User")


class DiscoveryError(Exception):
    """Discovery could not learn what the site holds (one plain sentence)."""


@dataclass(frozen=True)
class Scope:
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    only: tuple[str, ...] = ()  # --doctypes on the command line

    def wants(self, name: str) -> bool:
        if self.only and name not in self.only:
            return False
        if name in self.exclude:
            return False
        return "*" in self.include or name in self.include

    def explicit(self) -> tuple[str, ...]:
        """DocTypes named by the config or the command line (no wildcard)."""
        if self.only:
            return self.only
        return tuple(n for n in self.include if n != "*")


def list_rows(client: FrappeClient, doctype: str, fields: list[str], *, limit: int = 0,
              order_by: str | None = None, parent: str | None = None,
              filters: Any = None) -> list[dict[str, Any]] | FrappeReply:
    """A list call; the rows, or the reply when the site refused."""
    params: dict[str, Any] = {"fields": json.dumps(fields), "limit_page_length": str(limit)}
    if order_by:
        params["order_by"] = order_by
    if parent:
        params["parent"] = parent
    if filters is not None:
        params["filters"] = json.dumps(filters)
    reply = read_again(lambda: client.get(resource_path(doctype), params=params))
    if reply.status == 200 and isinstance(reply.body, dict) and isinstance(reply.data, list):
        return [row for row in reply.data if isinstance(row, dict)]
    return reply


def load_catalogue() -> dict[str, DocTypeInfo]:
    """The standard Frappe 15 and ERPNext DocTypes the package ships."""
    text = resources.files("audit").joinpath("data/standard_doctypes.json").read_text("utf-8")
    out: dict[str, DocTypeInfo] = {}
    for row in json.loads(text):
        out[row["name"]] = DocTypeInfo(
            name=row["name"], module=row.get("module") or "", istable=bool(row.get("istable")),
            issingle=bool(row.get("issingle")), is_submittable=bool(row.get("is_submittable")),
            autoname=str(row.get("autoname") or ""),
        )
    return out


def parse_meta(body: Any) -> tuple[DocTypeInfo | None, tuple[RuleRow, ...]]:
    """``frappe.desk.form.load.getdoctype`` -> (DocTypeInfo with fields, effective rules).

    A meta in a shape Frappe never sends (a permlevel that is no number, fields that are no
    list: a proxy or a hook) is unreadable, as a failed fetch is: (None, ()). Nothing is
    guessed from part of it."""
    try:
        return _parse_meta(body)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None, ()


def _parse_meta(body: Any) -> tuple[DocTypeInfo | None, tuple[RuleRow, ...]]:
    if not isinstance(body, dict) or not isinstance(body.get("docs"), list) or not body["docs"]:
        return None, ()
    meta = body["docs"][0]
    if not isinstance(meta, dict) or "name" not in meta:
        return None, ()
    fields = tuple(
        FieldInfo(
            fieldname=str(f.get("fieldname")), fieldtype=str(f.get("fieldtype") or ""),
            options=str(f.get("options") or ""), reqd=bool(f.get("reqd")),
            permlevel=_level(f.get("permlevel")), fetch_from=str(f.get("fetch_from") or ""),
            read_only=bool(f.get("read_only")), is_virtual=bool(f.get("is_virtual")),
            ignore_user_permissions=bool(f.get("ignore_user_permissions")),
            default=str(f.get("default") or ""),
        )
        for f in meta.get("fields") or [] if isinstance(f, dict) and f.get("fieldname")
    )
    info = DocTypeInfo(
        name=str(meta["name"]), module=str(meta.get("module") or ""),
        istable=bool(meta.get("istable")), issingle=bool(meta.get("issingle")),
        is_submittable=bool(meta.get("is_submittable")), is_virtual=bool(meta.get("is_virtual")),
        custom=bool(meta.get("custom")), autoname=str(meta.get("autoname") or ""), fields=fields,
        title_field=str(meta.get("title_field") or ""),
    )
    rules = tuple(_rule(info.name, p) for p in meta.get("permissions") or [] if isinstance(p, dict))
    return info, rules


def _level(value: Any) -> int:
    """A permlevel as Frappe sends it (an int; empty is 0); anything else is a ValueError."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"permlevel {value!r}")
    level = int(value)
    if level < 0:
        raise ValueError(f"permlevel {value!r}")
    return level


def _rules_by_parent(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[RuleRow]]:
    out: dict[str, list[RuleRow]] = {}
    for row in rows:
        parent = row["parent"]
        if not isinstance(parent, str) or not parent:
            raise ValueError(f"parent {parent!r}")
        out.setdefault(parent, []).append(_rule(parent, row))
    return out


def _rule(doctype: str, row: Mapping[str, Any]) -> RuleRow:
    role = row.get("role")
    if not isinstance(role, str) or not role:
        raise ValueError(f"role {role!r}")
    return RuleRow(
        doctype=doctype, role=role, permlevel=_level(row.get("permlevel")),
        if_owner=bool(row.get("if_owner")),
        rights=frozenset(r for r in RIGHTS_COLUMNS if row.get(r)),
    )


class Discovery:
    """Builds the :class:`Inventory` for one run."""

    def __init__(self, auditor: FrappeClient | None, meta_client: FrappeClient | None,
                 scope: Scope, workers: int = 4,
                 progress: Callable[[str], None] | None = None) -> None:
        self.auditor = auditor
        self.meta_client = meta_client or auditor
        self.scope = scope
        self.workers = max(1, workers)
        self.progress = progress or (lambda _msg: None)
        self.notes: list[str] = []
        self.unread: set[str] = set()  # the auditor's listings that failed

    def run(self) -> Inventory:
        doctypes, source = self._doctypes()
        doctypes = {n: d for n, d in doctypes.items() if self.scope.wants(n)}
        for name in self.scope.explicit():
            if name not in doctypes:
                self.notes.append(f"DocType {name!r} is configured but unknown to the site")
        self.progress(f"discovery: {len(doctypes)} DocTypes in scope ({source})")
        doctypes, meta_rules = self._metas(doctypes)
        rules: dict[str, tuple[RuleRow, ...]] | None = None
        users: dict[str, UserFacts] = {}
        targets: dict[str, tuple[TargetDoc, ...] | None] = {}
        strict: bool | None = None
        if self.auditor is not None:
            rules = self._rules(doctypes) or meta_rules or None
            users = self._users()
            targets = self._targets(doctypes, users)
            strict = self._strict()
        return Inventory(source=source, doctypes=doctypes,
                         targets={k: v for k, v in targets.items() if v is not None},
                         rules=rules, users=users, notes=tuple(self.notes),
                         listed=frozenset(k for k, v in targets.items() if v is not None),
                         strict_user_permissions=strict, unread=frozenset(self.unread))

    def _strict(self) -> bool | None:
        """System Settings ``apply_strict_user_permissions`` (SPEC.md §3.5), if readable."""
        auditor = self.auditor
        assert auditor is not None
        try:
            reply = read_again(
                lambda: auditor.get(resource_path("System Settings", "System Settings")))
        except TransportError as exc:
            log.debug("System Settings: %s", exc)
            reply = None
        data = reply.data if reply is not None and reply.status == 200 else None
        value = data.get("apply_strict_user_permissions") if isinstance(data, dict) else None
        if value in (0, 1, "0", "1") and not isinstance(value, float):  # as Frappe sends it
            return bool(int(value))
        self.notes.append("the auditor could not read System Settings: strict User "
                          "Permissions assumed off")
        return None

    # -- DocTypes ---------------------------------------------------------------------------
    def _doctypes(self) -> tuple[dict[str, DocTypeInfo], str]:
        if self.auditor is not None:
            rows = list_rows(self.auditor, "DocType", DOCTYPE_FIELDS)
            if isinstance(rows, list):
                return {str(r["name"]): DocTypeInfo(
                    name=str(r["name"]), module=str(r.get("module") or ""),
                    istable=bool(r.get("istable")), issingle=bool(r.get("issingle")),
                    is_submittable=bool(r.get("is_submittable")), custom=bool(r.get("custom")),
                    is_virtual=bool(r.get("is_virtual")), autoname=str(r.get("autoname") or ""),
                ) for r in rows if r.get("name")}, "auditor"
            if rows.status >= 500 or not rows.is_json:
                raise DiscoveryError(f"the auditor's list of DocTypes failed: HTTP {rows.status} "
                                     f"{rows.exc_type}".strip())
            self.notes.append(f"the auditor could not list DocTypes (HTTP {rows.status}); "
                              "using the shipped catalogue")
        catalogue = load_catalogue()
        explicit = self.scope.explicit()
        if explicit:
            return {n: catalogue.get(n, DocTypeInfo(name=n)) for n in explicit}, "config"
        return catalogue, "catalogue"

    def _metas(self, doctypes: dict[str, DocTypeInfo]
               ) -> tuple[dict[str, DocTypeInfo], dict[str, tuple[RuleRow, ...]]]:
        """Fields (and effective rules) of every DocType that can hold documents.

        Without an auditor the DocType list is a guess (config or shipped catalogue):
        every entry is looked up, and those the site says do not exist are dropped.
        """
        client = self.meta_client
        guessed = self.auditor is None
        wanted = [d for d in doctypes.values() if guessed or not d.istable]
        if client is None or not wanted:
            return doctypes, {}

        def fetch(dt: DocTypeInfo) -> tuple[str, DocTypeInfo | None, tuple[RuleRow, ...], bool]:
            try:
                reply = read_again(lambda: client.call(GETDOCTYPE, doctype=dt.name))
            except TransportError as exc:
                log.debug("meta of %s: %s", dt.name, exc)
                return dt.name, None, (), False
            missing = reply.status == 404 and reply.exc_type == "DoesNotExistError"
            info, rules = parse_meta(reply.body) if reply.status == 200 else (None, ())
            return dt.name, info, rules, missing

        out = dict(doctypes)
        rules: dict[str, tuple[RuleRow, ...]] = {}
        missing: list[str] = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="meta") as pool:
            for name, info, found, absent in pool.map(fetch, wanted):
                if absent:
                    missing.append(name)
                    del out[name]
                elif info is not None:
                    known = out[name]
                    out[name] = DocTypeInfo(
                        name=name, module=info.module or known.module,
                        istable=info.istable, issingle=info.issingle,
                        is_submittable=info.is_submittable,
                        is_virtual=info.is_virtual or known.is_virtual,
                        custom=info.custom or known.custom,
                        autoname=info.autoname or known.autoname, fields=info.fields,
                        title_field=info.title_field)
                    rules[name] = found
        explicit = set(self.scope.explicit())
        self.notes += [f"DocType {name!r} is configured but the site does not have it"
                       for name in sorted(missing) if name in explicit]
        if len(missing) > len(explicit & set(missing)):
            self.notes.append(f"{len(missing)} DocTypes of the shipped catalogue are not on "
                              "this site and were left out")
        return out, rules

    # -- rules, users, targets (auditor only) -------------------------------------------
    def _rules(self, doctypes: Mapping[str, DocTypeInfo]) -> dict[str, tuple[RuleRow, ...]]:
        assert self.auditor is not None
        cols = ["parent", "role", "permlevel", "if_owner", *RIGHTS_COLUMNS]
        standard = list_rows(self.auditor, "DocPerm", cols, parent="DocType")
        custom = list_rows(self.auditor, "Custom DocPerm", cols)
        if not isinstance(standard, list) or not isinstance(custom, list):
            self.notes.append("the auditor could not read DocPerm / Custom DocPerm; "
                              "rules taken from each DocType's meta")
            return {}
        try:
            by_custom, by_standard = _rules_by_parent(custom), _rules_by_parent(standard)
        except (TypeError, ValueError, KeyError, OverflowError):  # no partial rules: all or none
            self.notes.append("the auditor's DocPerm / Custom DocPerm rows are in a shape "
                              "Frappe never sends; rules taken from each DocType's meta")
            return {}
        # Custom DocPerm rows replace the standard ones when any exist (SPEC.md §3.2).
        return {name: tuple(by_custom.get(name) or by_standard.get(name) or ())
                for name in doctypes}

    def _users(self) -> dict[str, UserFacts]:
        assert self.auditor is not None
        users = list_rows(self.auditor, "User", ["name", "enabled", "user_type", "api_key",
                                                 "restrict_ip", "last_login"])
        roles = list_rows(self.auditor, "Has Role", ["parent", "role"], parent="User",
                          filters=[["parenttype", "=", "User"]])
        perms = list_rows(self.auditor, "User Permission",
                          ["user", "allow", "for_value", "applicable_for",
                           "apply_to_all_doctypes", "is_default"])
        shares = list_rows(self.auditor, "DocShare",
                           ["user", "everyone", "share_doctype", "share_name", "read", "write",
                            "submit", "share"])
        for label, got in (("User", users), ("Has Role", roles), ("User Permission", perms),
                           ("DocShare", shares)):
            if not isinstance(got, list):
                self.unread.add(label)
                self.notes.append(f"the auditor could not list {label} (HTTP {got.status})")
        role_map: dict[str, list[str]] = {}
        for row in roles if isinstance(roles, list) else []:
            role_map.setdefault(str(row.get("parent")), []).append(str(row.get("role")))
        perm_map: dict[str, list[UserPermRow]] = {}
        for row in perms if isinstance(perms, list) else []:
            perm_map.setdefault(str(row.get("user")), []).append(UserPermRow(
                allow=str(row.get("allow")), for_value=str(row.get("for_value")),
                applicable_for=str(row.get("applicable_for") or ""),
                apply_to_all_doctypes=bool(row.get("apply_to_all_doctypes", True)),
                is_default=bool(row.get("is_default"))))
        share_map: dict[str, list[ShareRow]] = {}
        everyone: list[ShareRow] = []
        for row in shares if isinstance(shares, list) else []:
            share = ShareRow(
                doctype=str(row.get("share_doctype")), name=str(row.get("share_name")),
                read=bool(row.get("read")), write=bool(row.get("write")),
                submit=bool(row.get("submit")), share=bool(row.get("share")),
                everyone=bool(row.get("everyone")))
            (everyone if share.everyone else share_map.setdefault(str(row.get("user")), [])
             ).append(share)
        out: dict[str, UserFacts] = {}
        for row in users if isinstance(users, list) else []:
            name = str(row.get("name"))
            out[name] = UserFacts(
                frappe_user=name,
                roles=tuple(r for r in role_map.get(name, []) if r not in AUTOMATIC_ROLES),
                user_type=str(row.get("user_type") or ""), enabled=bool(row.get("enabled")),
                has_api_key=bool(row.get("api_key")),
                user_permissions=tuple(perm_map.get(name, [])),
                shares=tuple(share_map.get(name, []) + everyone),
                restrict_ip=str(row.get("restrict_ip") or ""),
                last_login=str(row["last_login"]) if row.get("last_login") else None)
        return out

    def _targets(self, doctypes: Mapping[str, DocTypeInfo],
                 users: Mapping[str, UserFacts]) -> dict[str, tuple[TargetDoc, ...] | None]:
        """Sample documents per DocType; None where the auditor could not list them."""
        assert self.auditor is not None
        restricted = {p.allow for f in users.values() for p in f.user_permissions}
        auditor = self.auditor

        def fetch(dt: DocTypeInfo) -> tuple[str, tuple[TargetDoc, ...] | None]:
            if dt.issingle:
                return dt.name, (TargetDoc(name=dt.name),)
            links = [f for f, target in dt.link_fields().items() if target in restricted]
            try:
                rows = list_rows(auditor, dt.name, ["name", "owner", "docstatus", *links],
                                 limit=TARGETS_PER_DOCTYPE, order_by="modified desc")
            except TransportError as exc:
                log.debug("targets of %s: %s", dt.name, exc)
                return dt.name, None
            if not isinstance(rows, list):
                return dt.name, None
            return dt.name, _targets_of(rows, links)

        wanted = [d for d in doctypes.values() if not d.istable and not d.is_virtual]
        with ThreadPoolExecutor(self.workers, thread_name_prefix="targets") as pool:
            return {name: docs for name, docs in pool.map(fetch, wanted)}


def target_from_row(row: Mapping[str, Any], links: Iterable[str] = ()) -> TargetDoc | None:
    """A document of a list reply as a target (its user-permission relevant links kept).

    None for a row no probe can take as a document: no name, or a docstatus other than 0,
    1 or 2 (Frappe sends an int; a proxy or a hook may send anything, and the probes pick
    their targets, the delete probe's submitted one included, by it)."""
    name, status, owner = row.get("name"), row.get("docstatus"), row.get("owner")
    if isinstance(name, bool) or not isinstance(name, str | int) or name == "":
        return None
    if status is None:
        status = 0
    if isinstance(status, bool) or not isinstance(status, int) or status not in (0, 1, 2):
        return None
    return TargetDoc(name=str(name), owner=owner if isinstance(owner, str) else "",
                     docstatus=status,
                     links=tuple((f, str(row[f])) for f in links if row.get(f)))


def _targets_of(rows: Iterable[Mapping[str, Any]], links: Iterable[str]
                ) -> tuple[TargetDoc, ...]:
    kept = list(links)
    return tuple(t for t in (target_from_row(r, kept) for r in rows) if t is not None)


# -- surveys: one user's documents of one DocType ------------------------------------------
def _fetch(client: FrappeClient, doctype: str, fields: list[str], filters: Any,
           limit: int) -> tuple[tuple[TargetDoc, ...] | None, str]:
    """Rows matching ``filters`` (None and why when the fetch failed; a Frappe refusal is
    an empty answer: the site says there is nothing this client may list)."""
    try:
        rows = list_rows(client, doctype, fields, limit=limit, order_by="modified desc",
                         filters=filters)
    except TransportError as exc:
        return None, f"no answer: {exc}"
    if isinstance(rows, list):
        links = [f for f in fields if f not in ("name", "owner", "docstatus")]
        return _targets_of(rows, links), ""
    if frappe_refusal(rows):
        return (), ""
    return None, f"HTTP {rows.status} {rows.exc_type}".strip()


def survey(dt: DocTypeInfo, facts: UserFacts, user_client: FrappeClient,
           auditor: FrappeClient | None, need_owner: bool) -> Survey:
    """The user's own list, plus its own, shared and permitted documents fetched directly
    (by the auditor when there is one, so nothing depends on a window of recent rows)."""
    user = facts.frappe_user
    restricted = restricted_links(dt, facts)
    fields = ["name", "owner", "docstatus", *(f for f in restricted if f != "name")]
    notes: list[str] = []
    listed: tuple[TargetDoc, ...] | None = None
    status: int | None = None
    exc_type = message = ""
    refused = False
    try:
        rows = list_rows(user_client, dt.name, fields, limit=SURVEY_LIMIT,
                         order_by="modified desc")
        if isinstance(rows, list):
            listed, status = _targets_of(rows, fields[3:]), 200
        else:
            status, exc_type, message = rows.status, rows.exc_type, short_message(rows)
            refused = frappe_refusal(rows)
            if not refused:
                notes.append(f"own list: HTTP {rows.status} {rows.exc_type}".strip())
    except TransportError as exc:
        notes.append(f"own list: no answer: {exc}")
    finder = auditor or user_client
    own: tuple[TargetDoc, ...] | None = ()
    if need_owner:
        mine_filter = [["owner", "=", user]]
        own, why = _fetch(finder, dt.name, fields, mine_filter, OWN_LIMIT)
        if own == () and finder is not user_client and not refused \
                and not any(t.owner == user for t in listed or ()):
            # The auditor's lists pass through the DocType's permission_query_conditions
            # too (Note: owner or public, for all but Administrator; SPEC.md §3.7): "none"
            # from it is not "none". Only the user's own list can show what only the user
            # sees; when that list failed, or its window missed them, ask the user for
            # them, and a failure here is a gap, never an empty answer.
            own, why = _fetch(user_client, dt.name, fields, mine_filter, OWN_LIMIT)
        notes += [f"own documents: {why}"] if why else []
    mine = sorted((s for s in facts.shares if s.doctype == dt.name),
                  key=lambda s: not (s.write or s.submit))
    names = list(dict.fromkeys(s.name for s in mine))
    shared: tuple[TargetDoc, ...] | None = ()
    if names and not dt.issingle:
        shared, why = _fetch(finder, dt.name, fields, [["name", "in", names[:SHARED_CAP]]],
                             min(len(names), SHARED_CAP))
        notes += [f"shared documents: {why}"] if why else []
    permitted: tuple[TargetDoc, ...] | None = ()
    if restricted and auditor is not None:
        permitted, why = _permitted(auditor, dt.name, fields, restricted)
        notes += [f"permitted documents: {why}"] if why else []
    return Survey(listed=listed, list_status=status, list_exc_type=exc_type,
                  list_message=message, list_refused=refused, own=own, shared=shared,
                  permitted=permitted, failure_note="; ".join(notes))


def _permitted(client: FrappeClient, doctype: str, fields: list[str],
               restricted: Mapping[str, frozenset[str]]
               ) -> tuple[tuple[TargetDoc, ...] | None, str]:
    """Documents whose restricted links all hold allowed values, then those matching each
    one (the others may be empty, which Frappe allows outside strict mode)."""
    every = [[f, "in", sorted(v)] for f, v in sorted(restricted.items())]
    queries = [every] + ([[c] for c in every] if len(every) > 1 else [])
    found: dict[str, TargetDoc] = {}
    for filters in queries:
        docs, why = _fetch(client, doctype, fields, filters, PERMITTED_LIMIT)
        if docs is None:
            return None, why
        for t in docs:
            found.setdefault(t.name, t)
    return tuple(found.values()), ""
