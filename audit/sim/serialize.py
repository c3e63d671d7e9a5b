"""Documents as Frappe puts them on the wire.

``as_dict`` follows ``Document.as_dict``: standard keys, the fields in meta order, ``doctype``,
then the child tables; ``no_nulls`` drops empty values as the JSON response handler does.
"""

from __future__ import annotations

from typing import Any

from audit.sim.model import DocTypeDef, Document, FieldDef

LAYOUT_TYPES = frozenset({"Section Break", "Column Break", "Tab Break", "HTML", "Button",
                          "Heading", "Fold", "Image"})
TABLE_TYPES = frozenset({"Table", "Table MultiSelect"})
INT_TYPES = frozenset({"Int", "Check"})
FLOAT_TYPES = frozenset({"Float", "Currency", "Percent"})
STANDARD_FIELDS = ("name", "owner", "creation", "modified", "modified_by", "docstatus", "idx")
CHILD_FIELDS = ("parent", "parentfield", "parenttype")


def data_fields(meta: DocTypeDef) -> list[FieldDef]:
    """Fields that are columns of the DocType's table."""
    return [f for f in meta.fields if f.fieldtype not in LAYOUT_TYPES
            and f.fieldtype not in TABLE_TYPES]


def table_fields(meta: DocTypeDef) -> list[FieldDef]:
    return [f for f in meta.fields if f.fieldtype in TABLE_TYPES]


def column_names(meta: DocTypeDef) -> list[str]:
    cols = list(STANDARD_FIELDS)
    if meta.istable:
        cols += list(CHILD_FIELDS)
    cols += [f.fieldname for f in data_fields(meta) if f.fieldname not in cols]
    return cols


def cast(f: FieldDef | None, value: Any) -> Any:
    """Values as the database returns them: numbers for numeric fields."""
    if f is None or value is None or isinstance(value, list | dict):
        return value
    try:
        if f.fieldtype in INT_TYPES:
            return int(value)
        if f.fieldtype in FLOAT_TYPES:
            return float(value)
    except (TypeError, ValueError):
        return value
    return value


def standard_values(doc: Document, single: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": doc.name, "owner": doc.owner}
    if not single:
        out["creation"] = doc.creation
    out.update(modified=doc.modified, modified_by=doc.modified_by, docstatus=doc.docstatus,
               idx=str(doc.idx) if single else doc.idx)
    return out


def as_dict(doc: Document, meta: DocTypeDef, lookup: Any = None, *,
            no_nulls: bool = True, hidden_levels: set[int] | None = None) -> dict[str, Any]:
    """The document; fields at ``hidden_levels`` are emptied (field-level read filter)."""
    hidden = hidden_levels or set()
    out: dict[str, Any] = ({"name": doc.name} if meta.is_virtual
                           else standard_values(doc, single=meta.issingle))
    for f in data_fields(meta):
        value = None if f.permlevel in hidden else cast(f, doc.values.get(f.fieldname))
        if value is None and no_nulls:
            continue
        out[f.fieldname] = value
    if meta.istable:
        for key in CHILD_FIELDS:
            out[key] = doc.values.get(key)
    extra = [k for k in doc.values if meta.field(k) is None and k not in CHILD_FIELDS]
    for key in extra:
        if doc.values[key] is not None or not no_nulls:
            out[key] = doc.values[key]
    out["doctype"] = doc.doctype
    for f in table_fields(meta):
        rows = [] if f.permlevel in hidden else doc.values.get(f.fieldname) or []
        child_meta = lookup(f.options) if lookup else None
        out[f.fieldname] = [child_dict(doc, f, row, child_meta, no_nulls, hidden)
                            for row in rows if isinstance(row, dict)]
    return out


def child_dict(parent: Document, table: FieldDef, row: dict[str, Any],
               meta: DocTypeDef | None, no_nulls: bool, hidden: set[int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": row.get("name"), "owner": row.get("owner") or parent.owner,
        "creation": row.get("creation") or parent.creation,
        "modified": row.get("modified") or parent.modified,
        "modified_by": row.get("modified_by") or parent.modified_by,
        "docstatus": row.get("docstatus", parent.docstatus), "idx": row.get("idx", 0),
    }
    fields = data_fields(meta) if meta else []
    for f in fields:
        value = None if f.permlevel in hidden else cast(f, row.get(f.fieldname))
        if value is None and no_nulls:
            continue
        out[f.fieldname] = value
    known = {f.fieldname for f in fields} | set(out) | {"doctype"}
    for key, value in row.items():
        if key not in known and (value is not None or not no_nulls):
            out[key] = value
    out.update(parent=parent.name, parentfield=table.fieldname, parenttype=parent.doctype,
               doctype=table.options)
    return out


def row_value(doc: Document, meta: DocTypeDef, column: str) -> Any:
    """One column of a list row."""
    if column in ("name", "owner", "creation", "modified", "modified_by", "docstatus", "idx"):
        return getattr(doc, column)
    return cast(meta.field(column), doc.values.get(column))
