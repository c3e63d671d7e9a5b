"""List queries (``frappe.model.db_query.DatabaseQuery``) over in-memory documents.

Supports ``fields`` (names, ``*``, back-quoted ``tabX``.``y``, ``as`` aliases, count / sum /
min / max / avg), ``filters`` and ``or_filters`` (lists or dicts), ``order_by``, ``group_by``,
``limit_start`` and ``limit_page_length``. MariaDB compares text case-insensitively; so
does this. Without ``order_by`` the rows come in the order the recorded server returned
them: by ``modified`` for a bare name list without conditions (an index scan), else by name.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from audit.sim.errors import DataError, FrappeError, PythonError
from audit.sim.model import DocTypeDef, Document
from audit.sim.serialize import column_names, row_value

AGG = re.compile(r"^(count|sum|min|max|avg)\((distinct\s+)?(.*?)\)(?:\s+as\s+(\w+))?$", re.I)
ALIAS = re.compile(r"^(.*?)\s+as\s+[`\"]?(\w+)[`\"]?$", re.I)
QUALIFIED = re.compile(r"^`?tab([^`.]+)`?\.`?([^`]+)`?$")


@dataclass
class Column:
    source: str  # column name, "*" for count(*)
    key: str  # output key
    agg: str = ""  # count / sum / ...


@dataclass
class Query:
    meta: DocTypeDef
    fields: list[Column] = field(default_factory=list)
    conditions: list[Callable[[Document], bool]] = field(default_factory=list)
    or_conditions: list[Callable[[Document], bool]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    group_by: list[str] = field(default_factory=list)
    start: int = 0
    page_length: int = 20


def parse_json(value: Any, default: Any = None) -> Any:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _unknown(name: str) -> FrappeError:
    return DataError(f"Field not permitted in query: {name}")


def resolve_column(meta: DocTypeDef, raw: str) -> str:
    text = raw.strip()
    qualified = QUALIFIED.match(text)
    if qualified:
        text = qualified.group(2)
    text = text.strip("`")
    if text not in column_names(meta):
        raise _unknown(raw.strip())
    return text


def parse_fields(meta: DocTypeDef, raw: Any) -> list[Column]:
    items = parse_json(raw, ["name"])
    if isinstance(items, str):
        items = [p.strip() for p in items.split(",") if p.strip()]
    if not isinstance(items, list) or not items:
        items = ["name"]
    out: list[Column] = []
    for item in items:
        text = str(item).strip()
        if text == "*" or re.fullmatch(r"`?tab[^`]+`?\.\*", text):
            out += [Column(c, c) for c in column_names(meta)]
            continue
        agg = AGG.match(text)
        if agg:
            func, _distinct, inner, alias = agg.groups()
            source = "*" if inner.strip() in ("*", "1") else resolve_column(meta, inner)
            out.append(Column(source, alias or text, func.lower()))
            continue
        alias = ALIAS.match(text)
        if alias:
            out.append(Column(resolve_column(meta, alias.group(1)), alias.group(2)))
            continue
        name = resolve_column(meta, text)
        out.append(Column(name, name))
    return out


# ---- filters ------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def compare(left: Any, right: Any) -> int:
    ln, rn = _number(left), _number(right)
    if ln is not None and rn is not None and not (isinstance(left, str) and isinstance(right, str)):
        return (ln > rn) - (ln < rn)
    a, b = _text(left).lower(), _text(right).lower()
    return (a > b) - (a < b)


def _like(pattern: str) -> re.Pattern[str]:
    out = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{out}$", re.I | re.S)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    return [v.strip() for v in str(value or "").split(",")]


def _predicate(meta: DocTypeDef, column: str, op: str,
               value: Any) -> Callable[[Document], bool]:
    op = op.strip().lower()

    def get(doc: Document) -> Any:
        return row_value(doc, meta, column)

    tests: dict[str, Callable[[Any], bool]] = {
        "=": lambda v: compare(v, value) == 0 if value not in (None, "") else v in (None, ""),
        "!=": lambda v: compare(v, value) != 0,
        "<": lambda v: compare(v, value) < 0, ">": lambda v: compare(v, value) > 0,
        "<=": lambda v: compare(v, value) <= 0, ">=": lambda v: compare(v, value) >= 0,
        "like": lambda v: bool(_like(str(value)).match(_text(v))),
        "not like": lambda v: not _like(str(value)).match(_text(v)),
        "in": lambda v: any(compare(v, x) == 0 for x in _as_list(value)),
        "not in": lambda v: all(compare(v, x) != 0 for x in _as_list(value)),
        "is": lambda v: (v not in (None, "")) == (str(value).lower() == "set"),
        "between": lambda v: compare(v, _as_list(value)[0]) >= 0
        and compare(v, _as_list(value)[-1]) <= 0,
    }
    test = tests.get(op)
    if test is None:
        raise PythonError("ValueError", f"Unsupported operator: {op}",
                          exception_line=f"frappe.exceptions.ValidationError: Invalid filter: {op}")
    return lambda doc: test(get(doc))


def parse_filters(meta: DocTypeDef, raw: Any) -> list[Callable[[Document], bool]]:
    filters = parse_json(raw, [])
    out: list[Callable[[Document], bool]] = []
    if isinstance(filters, dict):
        for key, value in filters.items():
            column = resolve_column(meta, key)
            if isinstance(value, list | tuple) and len(value) == 2 and isinstance(value[0], str):
                out.append(_predicate(meta, column, value[0], value[1]))
            else:
                out.append(_predicate(meta, column, "=", value))
        return out
    if isinstance(filters, list):
        for item in filters:
            if isinstance(item, dict):
                out += parse_filters(meta, item)
                continue
            if not isinstance(item, list | tuple) or len(item) < 2:
                continue
            parts = list(item)
            if len(parts) >= 4:
                parts = parts[1:4]
            if len(parts) == 2:
                parts = [parts[0], "=", parts[1]]
            out.append(_predicate(meta, resolve_column(meta, parts[0]), parts[1], parts[2]))
    return out


def parse_order(meta: DocTypeDef, raw: Any) -> list[tuple[str, bool]]:
    if not raw or not isinstance(raw, str):
        return []
    out = []
    for part in raw.split(","):
        bits = part.strip().split()
        if not bits:
            continue
        column = bits[0]
        qualified = QUALIFIED.match(column)
        name = (qualified.group(2) if qualified else column).strip("`")
        if name not in column_names(meta):
            raise PythonError("OperationalError", "",
                              exception_line=f"pymysql.err.OperationalError: (1054, \"Unknown "
                              f"column '{name}' in 'order clause'\")")
        out.append((name, len(bits) > 1 and bits[1].lower() == "desc"))
    return out


def parse_limit(value: Any, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ---- execution ----------------------------------------------------------------------------
def _column_key(doc: Document, *, meta: DocTypeDef, column: str) -> Any:
    return _sort_key(row_value(doc, meta, column))


def _sort(docs: list[Document], meta: DocTypeDef, order: list[tuple[str, bool]]) -> list[Document]:
    for column, desc in reversed(order):
        docs.sort(key=functools.partial(_column_key, meta=meta, column=column), reverse=desc)
    return docs


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    number = _number(value)
    if number is not None and not isinstance(value, str):
        return (1, number)
    return (2, str(value).lower())


def _aggregate(func: str, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if func == "count":
        return len(present)
    numbers = [n for n in (_number(v) for v in present) if n is not None]
    if not numbers:
        return None
    if func == "sum":
        return sum(numbers)
    if func == "avg":
        return sum(numbers) / len(numbers)
    return min(numbers) if func == "min" else max(numbers)


def _project(q: Query, group: list[Document]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for col in q.fields:
        if col.agg:
            values = [1 for _ in group] if col.source == "*" else \
                [row_value(d, q.meta, col.source) for d in group]
            row[col.key] = _aggregate(col.agg, values)
        else:
            row[col.key] = row_value(group[0], q.meta, col.source) if group else None
    return row


def run(q: Query, docs: Iterable[Document], natural_by_modified: bool) -> list[dict[str, Any]]:
    rows = [d for d in docs if all(c(d) for c in q.conditions)
            and (not q.or_conditions or any(c(d) for c in q.or_conditions))]
    if q.order:
        rows = _sort(rows, q.meta, q.order)
    else:
        natural = [("modified", False)] if natural_by_modified else [("name", False)]
        rows = _sort(rows, q.meta, natural)
    has_agg = any(c.agg for c in q.fields)
    if q.group_by or has_agg:
        groups: dict[tuple[Any, ...], list[Document]] = {}
        for d in rows:
            key = tuple(_sort_key(row_value(d, q.meta, c)) for c in q.group_by)
            groups.setdefault(key, []).append(d)
        keys = list(groups) if q.order else sorted(groups)
        out = [_project(q, groups[k]) for k in keys] if groups or q.group_by else \
            [_project(q, [])]
    else:
        out = [_project(q, [d]) for d in rows]
    end = None if q.page_length <= 0 else q.start + q.page_length
    return out[q.start:end]


def describe(q: Query, conditions: list[str]) -> str:
    """A SELECT statement in Frappe's style, for ``debug=1`` (the conditions are given)."""
    cols = ", ".join(f"`tab{q.meta.name}`.`{c.source}`" if not c.agg else
                     f"{c.agg}(`tab{q.meta.name}`.`{c.source}`) as {c.key}" for c in q.fields)
    sql = f"select {cols} from `tab{q.meta.name}`"
    if conditions:
        sql += " where " + " and ".join(conditions)
    if q.order:
        sql += " order by " + ", ".join(f"`tab{q.meta.name}`.`{c}` {'desc' if d else 'asc'}"
                                        for c, d in q.order)
    if q.page_length > 0:
        sql += f" limit {q.page_length} offset {q.start}"
    return sql
