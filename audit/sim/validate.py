"""The validations of ``Document.insert`` / ``save`` that sit around the permission checks.

Each function raises exactly what Frappe 15.55.1 raises, with the same message log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from audit.sim.context import Ctx
from audit.sim.errors import (
    CancelledLinkError,
    CharacterLengthExceededError,
    DuplicateEntryError,
    LinkExistsError,
    LinkValidationError,
    MandatoryError,
    UniqueValidationError,
    ValidationError,
)
from audit.sim.model import DocTypeDef, Document, FieldDef
from audit.sim.serialize import TABLE_TYPES, data_fields

LENGTH_TYPES = frozenset({"Data", "Link", "Dynamic Link", "Password", "Select", "Read Only",
                          "Attach", "Attach Image", "Autocomplete", "Color", "Phone"})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def children(meta: DocTypeDef, doc: Document) -> Iterator[tuple[FieldDef, dict[str, Any]]]:
    for f in meta.fields:
        if f.fieldtype in TABLE_TYPES:
            for row in doc.values.get(f.fieldname) or []:
                if isinstance(row, dict):
                    yield f, row


def _empty(value: Any) -> bool:
    if value is None or value == []:
        return True
    return not re.sub(r"<[^>]*>", "", str(value)).strip()


# ---- links --------------------------------------------------------------------------------
def _fetched_from(meta: DocTypeDef, fieldname: str) -> bool:
    return any(f.fetch_from and f.fetch_from.split(".")[0] == fieldname for f in meta.fields)


def _link_problems(ctx: Ctx, meta: DocTypeDef, values: dict[str, Any], submittable: bool,
                   row: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    invalid, cancelled = [], []
    for f in meta.fields:
        if f.fieldtype not in ("Link", "Dynamic Link"):
            continue
        value = values.get(f.fieldname)
        if not value or not isinstance(value, str | int):
            continue
        target = f.options if f.fieldtype == "Link" else values.get(f.options)
        if f.fieldtype == "Dynamic Link" and not target:
            raise ctx.log.throw(f"{f.options.replace('_', ' ').title()} must be set first")
        label = f"Row #{row.get('idx')}: {f.title}: {value}" if row else f"{f.title}: {value}"
        target_meta = ctx.store.meta(str(target))
        if target_meta is not None and target_meta.issingle:
            continue
        found = ctx.store.get(str(target), str(value)) if target_meta else None
        if found is None:
            if not _fetched_from(meta, f.fieldname):  # Frappe 15.55.1 misses fetched links
                invalid.append(label)
            continue
        values[f.fieldname] = found.name
        if (f.fieldname != "amended_from" and (submittable or meta.is_submittable)
                and target_meta is not None and target_meta.is_submittable
                and found.docstatus == 2):
            cancelled.append(label)
    return invalid, cancelled


def validate_links(ctx: Ctx, meta: DocTypeDef, doc: Document) -> None:
    """``_validate_links``: LinkValidationError / CancelledLinkError (417)."""
    invalid, cancelled = _link_problems(ctx, meta, doc.values, meta.is_submittable, None)
    for table, row in children(meta, doc):
        child_meta = ctx.store.meta(table.options)
        if child_meta is not None:
            more = _link_problems(ctx, child_meta, row, meta.is_submittable, row)
            invalid += more[0]
            cancelled += more[1]
    if invalid:
        raise ctx.log.throw("Could not find " + ", ".join(invalid), LinkValidationError)
    if cancelled:
        raise ctx.log.throw("Cannot link cancelled document: " + ", ".join(cancelled),
                            CancelledLinkError)


# ---- _validate ----------------------------------------------------------------------------
def validate_mandatory(ctx: Ctx, meta: DocTypeDef, doc: Document) -> None:
    missing: list[str] = []
    for f in meta.fields:
        if not f.reqd:
            continue
        value = doc.values.get(f.fieldname)
        if f.fieldtype in TABLE_TYPES:
            if not value:
                missing.append(f.fieldname)
                ctx.log.msgprint(f"Error: Data missing in table: {f.title}")
        elif _empty(value):
            missing.append(f.fieldname)
            ctx.log.msgprint(f"Error: Value missing for {meta.name}: {f.title}")
    for table, row in children(meta, doc):
        child_meta = ctx.store.meta(table.options)
        for f in child_meta.fields if child_meta else []:
            if f.reqd and f.fieldtype not in TABLE_TYPES and _empty(row.get(f.fieldname)):
                missing.append(f.fieldname)
                ctx.log.msgprint(f"Error: <strong>{table.options}</strong> Row #{row.get('idx')}:"
                                 f" Value missing for: {f.title}")
    if missing:
        raise MandatoryError(f"[{meta.name}, {doc.name}]: {', '.join(missing)}")


def _check_value(ctx: Ctx, meta: DocTypeDef, doc: Document, f: FieldDef, value: Any,
                 reference: str) -> None:
    if value in (None, "") or isinstance(value, list | dict):
        return
    if f.fieldtype == "Select" and f.options:
        options = [o for o in f.options.split("\n")]
        if str(value) not in options:
            shown = [o for o in options if o]
            raise ctx.log.throw(f"{f.title} cannot be \"{value}\". It should be one of "
                                + ", ".join(f'"{o}"' for o in shown), title="Invalid Option")
    if f.fieldtype == "Data" and f.options == "Email" and not EMAIL.match(str(value)):
        raise ctx.log.throw(f"{value} is not a valid Email Address",
                            type("InvalidEmailAddressError", (ValidationError,),
                                 {"exc_name": "InvalidEmailAddressError"}))
    if f.fieldtype in LENGTH_TYPES:
        limit = f.length or 140
        if len(str(value)) > limit:
            raise ctx.log.throw(f"{reference}: '{f.title}' ({value}) will get truncated, as max "
                                f"characters allowed is {limit}",
                                CharacterLengthExceededError, title="Value too big")


def validate_values(ctx: Ctx, meta: DocTypeDef, doc: Document) -> None:
    """Select options, e-mail addresses, lengths (``_validate`` after mandatory)."""
    for f in data_fields(meta):
        _check_value(ctx, meta, doc, f, doc.values.get(f.fieldname), f"{meta.name} {doc.name}")
    for table, row in children(meta, doc):
        child_meta = ctx.store.meta(table.options)
        for f in data_fields(child_meta) if child_meta else []:
            _check_value(ctx, meta, doc, f, row.get(f.fieldname),
                         f"{meta.name}, Row {row.get('idx')}")


# ---- db_insert / db_update ----------------------------------------------------------------
def validate_no_lists(ctx: Ctx, meta: DocTypeDef, doc: Document) -> None:
    """``get_valid_dict``: a list in a non-table field cannot be stored."""
    for f in data_fields(meta):
        if isinstance(doc.values.get(f.fieldname), list | dict):
            raise ctx.log.throw(f"Value for {f.title} cannot be a list")
    for table, row in children(meta, doc):
        child_meta = ctx.store.meta(table.options)
        for f in data_fields(child_meta) if child_meta else []:
            if isinstance(row.get(f.fieldname), list | dict):
                raise ctx.log.throw(f"Value for {f.title} cannot be a list")


def validate_unique(ctx: Ctx, meta: DocTypeDef, doc: Document, *, new: bool) -> None:
    """Primary key (409 DuplicateEntryError) and unique columns (417)."""
    if new and ctx.store.get(meta.name, doc.name) is not None:
        existing = ctx.store.get(meta.name, doc.name)
        shown = existing.name if existing else doc.name
        ctx.log.msgprint(f"{meta.name} <strong>{doc.name}</strong> already exists",
                         title="Duplicate Name", indicator="red")
        raise DuplicateEntryError(exception_line=(
            f"frappe.exceptions.DuplicateEntryError: ('{meta.name}', '{doc.name}', "
            f"IntegrityError(1062, \"Duplicate entry '{shown}' for key 'PRIMARY'\"))"))
    for f in meta.fields:
        value = doc.values.get(f.fieldname)
        if not f.unique or value in (None, ""):
            continue
        for other in ctx.store.all(meta.name):
            if other.name != doc.name and str(other.values.get(f.fieldname)).lower() == \
                    str(value).lower():
                ctx.log.msgprint(f"{f.title} must be unique")
                raise UniqueValidationError(exception_line=(
                    f"frappe.exceptions.UniqueValidationError: ('{meta.name}', '{doc.name}', "
                    f"IntegrityError(1062, \"Duplicate entry '{value}' for key "
                    f"'{f.fieldname}'\"))"))


# ---- links to a document ------------------------------------------------------------------
def linked_from(ctx: Ctx, doc: Document, method: str) -> None:
    """``check_if_doc_is_linked``: LinkExistsError when another document points here."""
    for dt in ctx.site.doctypes.values():
        for f in dt.fields:
            is_link = f.fieldtype == "Link" and f.options == doc.doctype
            is_dynamic = f.fieldtype == "Dynamic Link"
            if not (is_link or is_dynamic) or dt.issingle or dt.is_virtual:
                continue
            if method == "Cancel" and f.fieldname == "amended_from":
                continue
            for other in ctx.store.all(dt.name):
                if other.values.get(f.fieldname) != doc.name:
                    continue
                if is_dynamic and other.values.get(f.options) != doc.doctype:
                    continue
                parent_dt = other.values.get("parenttype") if dt.istable else dt.name
                parent_name = other.values.get("parent") if dt.istable else other.name
                state = other.docstatus
                if dt.istable and parent_dt:
                    parent = ctx.store.get(str(parent_dt), str(parent_name))
                    state = parent.docstatus if parent else state
                if method == "Cancel" and state != 1:
                    continue
                if parent_dt == doc.doctype and parent_name == doc.name:
                    continue
                _raise_link_exists(ctx, doc, str(parent_dt), str(parent_name))


def _raise_link_exists(ctx: Ctx, doc: Document, ref_dt: str, ref_name: str) -> None:
    doc_link = f'<a href="/app/Form/{doc.doctype}/{doc.name}">{doc.name}</a>'
    ref_link = f'<a href="/app/Form/{ref_dt}/{ref_name}">{ref_name}</a>'
    shown_dt = "" if ref_dt == ref_name else ref_dt
    raise ctx.log.throw(f"Cannot delete or cancel because {doc.doctype} {doc_link} is linked "
                        f"with {shown_dt} {ref_link} ", LinkExistsError)
