"""The stock Frappe 15 DocTypes, loaded from the package's compact catalogue.

``data/frappe15_doctypes.json`` holds, for each of the 263 DocTypes Frappe 15.55.1 ships:
name, module, flags, autoname, fields (fieldname, fieldtype and the few properties the
simulator reads) and the standard DocPerm rows.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from audit.sim.model import DocTypeDef, FieldDef, PermRule

CATALOGUE = "frappe15_doctypes.json"

# Frappe core DocTypes whose controller hooks the simulator models (SPEC.md §3.7).
HOOKS = {"ToDo": "todo", "Note": "note", "User": "user", "Event": "event", "File": "file",
         "Contact": "contact", "Address": "address", "Communication": "communication",
         "Dashboard Chart": "dashboard_chart", "Number Card": "number_card",
         "Kanban Board": "kanban_board", "Prepared Report": "prepared_report",
         "Notification Settings": "notification_settings",
         "Workflow Action": "workflow_action"}


@lru_cache(maxsize=1)
def _raw() -> tuple[dict[str, Any], ...]:
    text = resources.files("audit.sim").joinpath("data", CATALOGUE).read_text(encoding="utf-8")
    return tuple(json.loads(text)["doctypes"])


def _field(row: list[Any]) -> FieldDef:
    extra: dict[str, Any] = row[2] if len(row) > 2 else {}
    return FieldDef(
        fieldname=row[0],
        fieldtype=row[1],
        options=extra.get("options", ""),
        reqd=bool(extra.get("reqd")),
        unique=bool(extra.get("unique")),
        permlevel=int(extra.get("permlevel", 0)),
        fetch_from=extra.get("fetch_from", ""),
        ignore_user_permissions=bool(extra.get("ignore_user_permissions")),
        length=int(extra.get("length", 0)),
    )


def _perm(row: list[Any]) -> PermRule:
    role, permlevel, if_owner, rights = row
    return PermRule(role=role, permlevel=permlevel, if_owner=bool(if_owner),
                    rights=frozenset(rights.split()))


def _doctype(raw: dict[str, Any]) -> DocTypeDef:
    autoname = raw.get("autoname") or "hash"
    if autoname.lower() == "prompt":
        autoname = "Prompt"
    return DocTypeDef(
        name=raw["name"],
        module=raw["module"],
        fields=[_field(f) for f in raw["fields"]],
        permissions=[_perm(p) for p in raw["permissions"]],
        istable=bool(raw.get("istable")),
        issingle=bool(raw.get("issingle")),
        is_submittable=bool(raw.get("is_submittable")),
        is_tree=bool(raw.get("is_tree")),
        is_virtual=bool(raw.get("is_virtual")),
        track_changes=bool(raw.get("track_changes")),
        autoname=autoname,
        app="frappe",
        hook=HOOKS.get(raw["name"], ""),
        title_field=raw.get("title_field", ""),
    )


def load_frappe_doctypes() -> dict[str, DocTypeDef]:
    """Fresh DocTypeDef objects for every stock Frappe DocType, by name."""
    return {raw["name"]: _doctype(raw) for raw in _raw()}


def stock_doctype_names() -> list[str]:
    return [raw["name"] for raw in _raw()]
