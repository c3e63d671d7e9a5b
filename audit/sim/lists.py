"""``frappe.client.get_list`` / ``frappe.get_list``: the gate, then silent row filtering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from audit.sim.context import Ctx
from audit.sim.errors import DataError, FrappePermissionError, PythonError
from audit.sim.guards import meta_or_404, require_doctype_permission
from audit.sim.hooks import ADMIN
from audit.sim.model import DocTypeDef
from audit.sim.query import (
    Column,
    Query,
    describe,
    parse_fields,
    parse_filters,
    parse_json,
    parse_limit,
    parse_order,
    run,
)
from audit.sim.serialize import STANDARD_FIELDS

T = TypeVar("T")

# frappe.model.core_doctypes_list: exempt from the column filter of DatabaseQuery.
CORE_DOCTYPES = frozenset({
    "DefaultValue", "DocType", "DocField", "DocPerm", "DocType Action", "DocType Link",
    "User", "Role", "Has Role", "Page", "Module Def", "Print Format", "Report",
    "Customize Form", "Customize Form Field", "Property Setter", "Custom Field",
    "Client Script"})


def truthy(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool | int):
        return bool(value)
    return str(value).lower() not in ("0", "false", "no", "off")


def logged(ctx: Ctx, fn: Callable[..., T], *args: Any) -> T:
    """Run a query parser; its DataError goes through the message log like frappe.throw."""
    try:
        return fn(*args)
    except DataError as exc:
        raise ctx.log.throw(exc.message, DataError) from None


def check_parent_permission(ctx: Ctx, parent: Any, child: str) -> None:
    """``check_parent_permission``: a bare 403 unless ``parent`` is a readable parent."""
    if parent:
        meta = ctx.store.meta(str(parent))
        tables = [] if meta is None else [f for f in meta.fields if f.options == child
                                          and f.fieldtype in ("Table", "Table MultiSelect")]
        if not tables:
            raise FrappePermissionError()
        if ctx.engine.check(ctx.user, str(parent), "read"):
            return
    raise FrappePermissionError()


def _visible(ctx: Ctx, meta: DocTypeDef, columns: list[Column], explicit: bool) -> list[Column]:
    """Drop columns at permission levels the user cannot read."""
    if ctx.user == ADMIN or (not explicit and meta.name in CORE_DOCTYPES) or meta.istable:
        return columns
    if meta.name not in CORE_DOCTYPES and ctx.engine.only_has_select(ctx.user, meta.name):
        # select-only users see the search fields: the name and the title field
        keep = {"name", meta.title_field}
        return [c for c in columns if c.source in keep or c.agg] or [Column("name", "name")]
    levels = ctx.engine.permlevel_access(ctx.user, meta.name, "read") | {0}
    out = []
    for col in columns:
        f = meta.field(col.source)
        if f is None or col.source in STANDARD_FIELDS or f.permlevel in levels:
            out.append(col)
    return out


def get_list(ctx: Ctx, doctype: str, args: dict[str, Any], *,
             default_order: str = "") -> list[Any]:
    """Rows of ``doctype`` the user may see (SPEC.md §3.12)."""
    parent = args.get("parent") or args.get("parent_doctype")
    meta = meta_or_404(ctx, doctype)
    if meta.istable:
        check_parent_permission(ctx, parent, doctype)
    raw_fields = parse_json(args.get("fields"), ["name"])
    wildcard = isinstance(raw_fields, list) and any(str(f).strip() == "*" for f in raw_fields)
    columns = logged(ctx, parse_fields, meta, args.get("fields"))
    ptype = "select" if ctx.engine.only_has_select(ctx.user, doctype) else "read"
    require_doctype_permission(ctx, doctype, ptype, parent_doctype=parent)
    if meta.issingle:
        raise PythonError("ProgrammingError", "", module="pymysql.err", exception_line=(
            f"pymysql.err.ProgrammingError: ('DocType', '{doctype}')"))
    if meta.is_virtual:
        return []
    q = Query(meta=meta, fields=_visible(ctx, meta, columns, not wildcard),
              conditions=logged(ctx, parse_filters, meta, args.get("filters")),
              or_conditions=logged(ctx, parse_filters, meta, args.get("or_filters")),
              order=parse_order(meta, args.get("order_by") or default_order),
              group_by=[g.strip().strip("`") for g in str(args.get("group_by") or "").split(",")
                        if g.strip()],
              start=parse_limit(args.get("limit_start") or args.get("start"), 0),
              page_length=parse_limit(args.get("limit_page_length", args.get("limit")), 20))
    flt = ctx.engine.list_filter(ctx.user, doctype)
    docs = [d for d in ctx.store.all(doctype) if flt(d)]
    bare = (not q.conditions and not q.or_conditions and not flt.has_conditions
            and not q.group_by and [c.source for c in q.fields] == ["name"])
    rows = run(q, docs, natural_by_modified=bare)
    if truthy(args.get("debug"), False):
        ctx.debug_messages.append(describe(q, _condition_text(ctx, flt, doctype)))
    if not truthy(args.get("as_dict"), True) or truthy(args.get("as_list"), False):
        return [list(r.values()) for r in rows]
    return rows


def _condition_text(ctx: Ctx, flt: Any, doctype: str) -> list[str]:
    out = []
    table = f"`tab{doctype}`"
    if flt.only_shared:
        out.append(f"{table}.`name` in ({_quoted(flt.shared)})")
    if flt.owner_only:
        out.append(f"{table}.`owner` = '{ctx.user}'")
    for fieldname, allowed in flt.user_perm_fields:
        empty = "" if flt.strict else f"ifnull({table}.`{fieldname}`, '')='' or "
        out.append(f"({empty}{table}.`{fieldname}` in ({_quoted(allowed)}))")
    if flt.hook is not None:
        out.append("(permission query condition)")
    if out and flt.shared and not flt.only_shared:
        out = [f"(({' and '.join(out)}) or ({table}.`name` in ({_quoted(flt.shared)})))"]
    return out


def _quoted(values: Any) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))
