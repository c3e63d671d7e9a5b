"""Frappe 15's permission algorithm (``frappe/permissions.py``), SPEC.md §3.

``PermissionEngine`` is the single source of truth every route of the simulator asks.
The order of the steps, the reasons pushed to the permission log and the debug lines of
the Permission Inspector follow Frappe 15.55.1.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from audit.sim import hooks
from audit.sim.hooks import ADMIN, GUEST
from audit.sim.model import RIGHTS, DocTypeDef, Document, SiteData

SHAREABLE = ("read", "write", "share", "submit", "email", "print")
Resolver = Callable[[str, str], Document | None]
Lister = Callable[[str], list[Document]]


def bold(text: object) -> str:
    return f"<strong>{text}</strong>"


@dataclass
class Trace:
    """Where a check writes its reasons (``logs``) and, for the Inspector, ``debug`` lines."""

    logs: list[str] | None = None
    debug: list[str] | None = None

    def push(self, line: str) -> None:
        """``push_perm_check_log``."""
        self.note(line)
        if self.logs is not None:
            self.logs.append(line)

    def note(self, line: str) -> None:
        """``_debug_log``."""
        if self.debug is not None:
            self.debug.append(line)

    def quiet(self) -> Trace:
        """Same log, no debug output (a nested check Frappe calls without ``debug``)."""
        return Trace(logs=self.logs)


def dump(perms: dict[str, Any]) -> str:
    return json.dumps(perms, indent=8, sort_keys=True)


@dataclass
class ListFilter:
    """The row filter of a permission-checked list (SPEC.md §3.12)."""

    user: str
    only_shared: bool = False
    owner_only: bool = False
    user_perm_fields: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    strict: bool = False
    hook: Callable[[Document], bool] | None = None
    shared: frozenset[str] = frozenset()

    @property
    def has_conditions(self) -> bool:
        return self.only_shared or self.owner_only or bool(self.user_perm_fields) \
            or self.hook is not None

    def _match(self, doc: Document) -> bool:
        if self.owner_only and doc.owner != self.user:
            return False
        for fieldname, allowed in self.user_perm_fields:
            current = hooks.value(doc, fieldname)
            if not current and not self.strict:
                continue
            if current not in allowed:
                return False
        return True

    def __call__(self, doc: Document) -> bool:
        if self.only_shared:
            return doc.name in self.shared and (self.hook is None or self.hook(doc))
        matched = self._match(doc) and (self.hook is None or self.hook(doc))
        if matched:
            return True
        conditional = self.owner_only or bool(self.user_perm_fields) or self.hook is not None
        return conditional and doc.name in self.shared


class PermissionEngine:
    """Answers Frappe's permission questions for one site."""

    def __init__(self, site: SiteData, resolver: Resolver | None = None,
                 lister: Lister | None = None) -> None:
        self.site = site
        self.resolver: Resolver = resolver or self._stored_doc
        self.lister: Lister = lister or self._stored_docs

    def _stored_doc(self, doctype: str, name: str) -> Document | None:
        return self.site.documents.get(doctype, {}).get(name)

    def _stored_docs(self, doctype: str) -> list[Document]:
        return list(self.site.documents.get(doctype, {}).values())

    def document(self, doctype: str, name: str) -> Document | None:
        """A document as the server sees it (system DocTypes such as User included)."""
        return self.resolver(doctype, name)

    def documents(self, doctype: str) -> list[Document]:
        """Every document of ``doctype`` as the server sees it (views and child rows too)."""
        return self.lister(doctype)

    def meta(self, doctype: str) -> DocTypeDef | None:
        return self.site.doctypes.get(doctype)

    # ---- roles -----------------------------------------------------------------------------
    def role_list(self, user: str) -> list[str]:
        """``frappe.get_roles`` in Frappe's order."""
        if not user or user == GUEST:
            return [GUEST]
        if user == ADMIN:
            names = list(self.site.roles)
            for auto in ("Administrator", "Guest", "All", "Desk User"):
                if auto not in names:
                    names.append(auto)
            return names
        udef = self.site.users.get(user)
        own = [r for r in (udef.roles if udef else []) if r not in hooks.AUTOMATIC_ROLES]
        roles = [*dict.fromkeys(own), "All", "Guest"]
        if udef is not None and udef.user_type == "System User":
            roles.append("Desk User")
        return roles

    def roles(self, user: str) -> set[str]:
        return set(self.role_list(user))

    # ---- role permissions ------------------------------------------------------------------
    def role_permissions(self, user: str, doctype: str,
                         is_owner: bool | None = None) -> dict[str, Any]:
        """``get_role_permissions``: level-0 rules of the user's roles, if_owner folded in."""
        if user == ADMIN:
            return {right: 1 for right in RIGHTS}
        roles = self.roles(user)
        rules = [r for r in self.site.effective_rules(doctype)
                 if r.role in roles and r.permlevel == 0]
        if_owner_enabled = any(r.if_owner for r in rules)
        perms: dict[str, Any] = {"if_owner": {}, "has_if_owner_enabled": if_owner_enabled}
        for right in RIGHTS:
            granted = any(right in r.rights for r in rules)
            perms[right] = int(granted)
            plain = any(right in r.rights for r in rules if not r.if_owner)
            if granted and if_owner_enabled and not plain and right != "create":
                perms["if_owner"][right] = int(bool(is_owner))
                perms[right] = 1 if right in ("select", "read") else 0
        return perms

    def permlevel_access(self, user: str, doctype: str, right: str) -> set[int]:
        """``get_permlevel_access``: the levels at which the user holds ``right``."""
        roles = self.roles(user)
        return {r.permlevel for r in self.site.effective_rules(doctype)
                if r.role in roles and right in r.rights}

    def only_has_select(self, user: str, doctype: str) -> bool:
        if user == ADMIN:
            return False
        perms = self.role_permissions(user, doctype)
        return bool(perms.get("select")) and not perms.get("read")

    # ---- user permissions ------------------------------------------------------------------
    def user_permissions(self, user: str) -> dict[str, list[dict[str, Any]]]:
        """``get_user_permissions``: ``{allow: [{doc, applicable_for, is_default}]}``."""
        out: dict[str, list[dict[str, Any]]] = {}
        if user in (ADMIN, GUEST):
            return out

        def add(allow: str, doc: str, applicable_for: str | None, is_default: int) -> None:
            rows = out.setdefault(allow, [])
            entry = {"doc": doc, "applicable_for": applicable_for, "is_default": is_default}
            if entry not in rows:
                rows.append(entry)

        for up in self.site.user_permissions:
            if up.user != user:
                continue
            applicable = up.applicable_for or None
            add(up.allow, up.for_value, applicable, int(up.is_default))
            meta = self.meta(up.allow)
            if meta is not None and meta.is_tree and not up.hide_descendants:
                for child in self._descendants(up.allow, up.for_value):
                    add(up.allow, child, applicable, 0)
        return out

    def _descendants(self, doctype: str, name: str) -> list[str]:
        parent_field = "parent_" + doctype.replace(" ", "_").replace("-", "_").lower()
        docs = self.site.documents.get(doctype, {})
        found: list[str] = []
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for doc in docs.values():
                if doc.values.get(parent_field) == current and doc.name not in found:
                    found.append(doc.name)
                    frontier.append(doc.name)
        return found

    @staticmethod
    def allowed_docs(rows: list[dict[str, Any]], doctype: str) -> list[str]:
        return [r["doc"] for r in rows
                if not r.get("applicable_for") or r.get("applicable_for") == doctype]

    def has_user_permission(self, user: str, doc: Document, trace: Trace | None = None) -> bool:
        """``has_user_permission``: the document itself, then every Link value (and child rows)."""
        trace = trace or Trace()
        ups = self.user_permissions(user)
        if not ups:
            trace.note("User is not affected by any user permissions")
            return True
        # Frappe 15.21 dropped the bypass for users who may write User Permission rows:
        # 15.55.1 restricts them like everybody else.
        meta = self.meta(doc.doctype)
        strict = self.site.settings.apply_strict_user_permissions and not (meta and meta.issingle)
        if doc.doctype in ups:
            allowed = self.allowed_docs(ups[doc.doctype], doc.doctype)
            if allowed and str(doc.name) not in allowed:
                trace.note("User doesn't have access to this document because of User "
                           f"Permissions, allowed documents: {allowed!s}")
                trace.push(f"Not allowed for {doc.doctype}: {doc.name}")
                return False
            trace.note(f"User Has access to {doc.name} via User Permissions.")
        if not self._links_allowed(doc.doctype, doc.doctype, doc.values, ups, strict, trace):
            return False
        for table, rows in self._child_tables(doc):
            for row in rows:
                if not self._links_allowed(doc.doctype, table, row, ups, strict, trace, row=row):
                    return False
        return True

    def _child_tables(self, doc: Document) -> list[tuple[str, list[dict[str, Any]]]]:
        meta = self.meta(doc.doctype)
        if meta is None:
            return []
        out = []
        for f in meta.fields:
            if f.fieldtype in ("Table", "Table MultiSelect") and isinstance(
                    doc.values.get(f.fieldname), list):
                out.append((f.options, doc.values[f.fieldname]))
        return out

    def _links_allowed(self, main_doctype: str, doctype: str, values: dict[str, Any],
                       ups: dict[str, list[dict[str, Any]]], strict: bool, trace: Trace,
                       row: dict[str, Any] | None = None) -> bool:
        meta = self.meta(doctype)
        if meta is None:
            return True
        for f in meta.fields:
            if f.fieldtype != "Link" or f.ignore_user_permissions:
                continue
            current = values.get(f.fieldname)
            if not current and not strict:
                continue
            if f.options not in ups:
                continue
            allowed = self.allowed_docs(ups[f.options], main_doctype)
            if allowed and current not in allowed:
                shown = current or "empty"
                if row is not None:
                    trace.push(f"You are not allowed to access this {doctype} record because it "
                               f"is linked to {f.options} '{shown}' in row {row.get('idx')}, "
                               f"field {f.title}")
                else:
                    trace.push(f"You are not allowed to access this {doctype} record because it "
                               f"is linked to {f.options} '{shown}' in field {f.title}")
                return False
        return True

    # ---- shares ----------------------------------------------------------------------------
    def shared_names(self, user: str, doctype: str, right: str = "read",
                     name: str | None = None) -> list[str]:
        """``frappe.share.get_shared``: names shared with the user (or everyone) for ``right``."""
        out = []
        for s in self.site.shares:
            if s.share_doctype != doctype or not getattr(s, right, False):
                continue
            if name is not None and s.share_name != name:
                continue
            if s.user == user or (s.everyone and user != GUEST):
                out.append(s.share_name)
        return out

    # ---- document permissions --------------------------------------------------------------
    def doc_permissions(self, user: str, doctype: str, doc: Document,
                        ptype: str | None = None, trace: Trace | None = None) -> dict[str, Any]:
        """``get_doc_permissions``: hooks, role permissions, if_owner overlay, user permissions."""
        trace = trace or Trace()
        meta = self.meta(doctype)
        if meta is None:
            return {}
        if meta.istable:
            return {"read": 1, "write": 1}
        is_owner = (doc.owner or "").lower() == user.lower()
        if meta.hook and user != ADMIN:
            verdict = hooks.doc_hook(self, meta.hook, doc, ptype, user)
            trace.note(f"Controller permission check from {hooks.hook_label(meta.hook)}: "
                       f"{verdict}")
            if verdict is False:
                trace.push("Not allowed via controller permission check")
                return {"null" if ptype is None else ptype: 0}
        trace.note(f"User has following roles: {self.role_list(user)!s}")
        perms = copy.deepcopy(self.role_permissions(user, doctype, is_owner))
        trace.note(f"User has following permissions using role permission system: {dump(perms)}")
        if not meta.is_submittable:
            perms["submit"] = 0
        if not meta.allow_import:
            perms["import"] = 0
        if perms.get("has_if_owner_enabled"):
            perms.update(perms.get("if_owner", {}))
        if not self.has_user_permission(user, doc, trace):
            if is_owner:
                trace.note("User is owner of the document, so permissions are based on if_owner")
                perms = dict(perms.get("if_owner", {}))
                perms["create"] = 0
            else:
                trace.note("User has no permissions because of User Permissions")
                perms = {}
        trace.note(f"Final applicable permissions after evaluating user permissions: "
                   f"{dump(perms)}")
        return perms

    def has_permission(self, user: str, doctype: str, ptype: str = "read",
                       doc: Document | None = None) -> bool:
        """``frappe.has_permission`` (document level when ``doc`` is given)."""
        return self.check(user, doctype, ptype, doc)

    def check(self, user: str, doctype: str, ptype: str = "read", doc: Document | None = None,
              *, parent_doctype: str | None = None, trace: Trace | None = None,
              session_user: str | None = None, ignore_shares: bool = False) -> bool:
        """``has_permission`` with its log: ``trace.logs`` collects the reasons of a refusal."""
        trace = trace or Trace()
        if user == ADMIN:
            trace.note("Allowed everything because user is Administrator")
            return True
        if ptype == "share" and self.site.settings.disable_document_sharing:
            trace.note("User can't share because sharing is disabled globally from system "
                       "settings")
            return False
        meta = self.meta(doctype)
        if meta is None:
            return False
        if meta.istable:
            return self._child(user, meta, ptype, doc, parent_doctype, trace, session_user)
        if doc is not None:
            perm = self.doc_permissions(user, doctype, doc, ptype, trace).get(ptype)
            if not perm:
                trace.note("Permission check failed from role permission system. Check if "
                           "user's role grant them permission to the document.")
                msg = f"User {bold(user)} does not have access to this document"
                if self.check(session_user or user, doctype, trace=trace.quiet()):
                    msg += f": {doctype} - {doc.name or None}"
                trace.push(msg)
        else:
            if ptype == "submit" and not meta.is_submittable:
                trace.note("Document Type is not submittable")
                return False
            if ptype == "import" and not meta.allow_import:
                trace.note("Document Type is not importable")
                return False
            perms = self.role_permissions(user, doctype)
            trace.note(f"User has following roles: {self.role_list(user)!s}")
            trace.note("User has following permissions using role permission system: "
                       f"{dump(perms)}")
            perm = perms.get(ptype)
            if not perm:
                trace.push(f"User {bold(user)} does not have doctype access via role permission "
                           f"for document {bold(doctype)}")
        if not perm and not ignore_shares:
            perm = self._shared(user, doctype, ptype, doc, trace)
        return bool(perm)

    def _shared(self, user: str, doctype: str, ptype: str, doc: Document | None,
                trace: Trace) -> bool:
        trace.note("Checking if document/doctype is explicitly shared with user")
        if ptype not in SHAREABLE:
            trace.note(f"Permission type {ptype} can not be shared")
            return False
        right = "read" if ptype in ("email", "print") else ptype
        if doc is not None:
            shared = bool(self.shared_names(user, doctype, right, doc.name))
            trace.note(f"Document is shared with user for {ptype}? {shared}")
        else:
            shared = bool(self.shared_names(user, doctype, right))
            trace.note(f"At least one document is shared with user with {ptype} permission? "
                       f"{shared}")
        return shared

    def _child(self, user: str, meta: DocTypeDef, ptype: str, doc: Document | None,
               parent_doctype: str | None, trace: Trace, session_user: str | None) -> bool:
        """``has_child_permission``: the right is checked on the parent (SPEC.md §3.9)."""
        if doc is not None:
            parent_doctype = doc.values.get("parenttype") or None
        if not parent_doctype:
            trace.push(f"Please specify a valid parent DocType for {bold(meta.name)}")
            return False
        parent_meta = self.meta(parent_doctype)
        valid = [] if parent_meta is None or parent_meta.istable else [
            f.fieldname for f in parent_meta.fields
            if f.fieldtype in ("Table", "Table MultiSelect") and f.options == meta.name]
        if not valid:
            trace.push(f"{bold(parent_doctype)} is not a valid parent DocType for "
                       f"{bold(meta.name)}")
            return False
        parent_doc = None
        if doc is not None:
            parentfield = doc.values.get("parentfield")
            if not parentfield:
                trace.push(f"Parentfield not specified in {bold(meta.name)}: {doc.name}")
                return False
            if parentfield not in valid:
                trace.push(f"{bold(parentfield)} is not a valid parentfield for "
                           f"{bold(meta.name)}")
                return False
            table = parent_meta.field(parentfield) if parent_meta else None
            level = table.permlevel if table is not None else 0
            if level > 0 and level not in self.permlevel_access(user, parent_doctype, ptype):
                trace.push(f"Insufficient Permission Level for {bold(parent_doctype)}")
                return False
            parent_doc = self.resolver(parent_doctype, str(doc.values.get("parent")))
            if parent_doc is None:
                return False
        return self.check(user, parent_doctype, ptype, parent_doc, trace=trace,
                          session_user=session_user)

    # ---- lists -----------------------------------------------------------------------------
    def list_filter(self, user: str, doctype: str) -> ListFilter:
        """``DatabaseQuery.build_match_conditions`` as a predicate over documents."""
        meta = self.meta(doctype)
        flt = ListFilter(user=user)
        if meta is None:
            return flt
        flt.hook = hooks.query_hook(self, meta.hook, user) if meta.hook else None
        if user == ADMIN:
            return flt
        perms = self.role_permissions(user, doctype)
        flt.shared = frozenset(self.shared_names(user, doctype))
        if not meta.istable and not (perms.get("select") or perms.get("read")):
            flt.only_shared = True
            return flt
        if self._requires_owner_constraint(perms):
            flt.owner_only = True
        elif perms.get("read") or perms.get("select"):
            flt.strict = self.site.settings.apply_strict_user_permissions
            flt.user_perm_fields = self._user_perm_conditions(user, meta)
        return flt

    @staticmethod
    def _requires_owner_constraint(perms: dict[str, Any]) -> bool:
        if not perms.get("has_if_owner_enabled"):
            return False
        owner_perms = perms.get("if_owner") or {}
        if not owner_perms:
            return False
        return not any(perms.get(p) and p not in owner_perms for p in ("select", "read"))

    def _user_perm_conditions(self, user: str,
                              meta: DocTypeDef) -> list[tuple[str, frozenset[str]]]:
        ups = self.user_permissions(user)
        if not ups:
            return []
        links = [(f.fieldname, f.options) for f in meta.fields
                 if f.fieldtype == "Link" and not f.ignore_user_permissions]
        links.append(("name", meta.name))
        out = []
        for fieldname, target in links:
            rows = ups.get(target) or []
            docs = [r["doc"] for r in rows
                    if not r.get("applicable_for") or r.get("applicable_for") == meta.name]
            if docs:
                out.append((fieldname, frozenset(docs)))
        return out
