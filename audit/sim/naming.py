"""``frappe.model.naming.set_new_name``: how a new document gets its name."""

from __future__ import annotations

import re
import time
from typing import Any

from audit.sim.context import Ctx
from audit.sim.errors import FrappeNameError
from audit.sim.model import DocTypeDef, Document
from audit.sim.util import random_name

SERIES = re.compile(r"(#+)")


def _next(ctx: Ctx, key: str) -> int:
    """Counters live outside the transaction: like a MariaDB sequence, never rolled back."""
    value = ctx.site.series.get(key, 0) + 1
    ctx.site.series[key] = value
    return value


def _series(ctx: Ctx, pattern: str) -> str:
    """``PREFIX.####`` / ``{#####}``: the prefix and a zero-padded counter."""
    match = SERIES.search(pattern)
    if not match:
        return pattern
    prefix = pattern[:match.start()].rstrip(".")
    if pattern[:match.start()].endswith("."):
        prefix = pattern[:match.start()][:-1]
    number = _next(ctx, prefix or pattern)
    return prefix + str(number).zfill(len(match.group(1))) + pattern[match.end():]


def _format(ctx: Ctx, pattern: str, doc: Document) -> str:
    lt = time.gmtime()
    parts = {"YYYY": f"{lt.tm_year:04d}", "YY": f"{lt.tm_year % 100:02d}",
             "MM": f"{lt.tm_mon:02d}", "DD": f"{lt.tm_mday:02d}", "timestamp": doc.creation,
             "creation": doc.creation}

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.startswith("#"):
            return str(_next(ctx, pattern)).zfill(len(key))
        if key in parts:
            return parts[key]
        return str(doc.values.get(key) or "")

    return re.sub(r"\{([^}]+)\}", replace, pattern)


def set_new_name(ctx: Ctx, meta: DocTypeDef, doc: Document, body: dict[str, Any]) -> None:
    autoname = meta.autoname or "hash"
    requested = body.get("__newname") or body.get("name")
    name: str | None = None
    if meta.issingle:
        name = meta.name
    elif autoname == "autoincrement":
        name = str(_next(ctx, f"autoincrement:{meta.name}"))
    elif meta.name == "User":
        name = str(doc.values.get("email") or "").strip() or None
        if not name:
            raise ctx.log.throw("Email is required")
    elif autoname.startswith("field:"):
        fieldname = autoname.split(":", 1)[1]
        name = str(doc.values.get(fieldname) or "").strip()
        if not name:
            f = meta.field(fieldname)
            raise ctx.log.throw(f"{f.title if f else fieldname} is required")
    elif autoname == "Prompt":
        name = str(requested or "").strip()
        if not name:
            raise ctx.log.throw("Name not set via prompt")
    elif autoname.startswith("format:"):
        name = _format(ctx, autoname.split(":", 1)[1], doc)
    elif autoname.startswith("naming_series"):
        series = str(doc.values.get("naming_series") or "").strip()
        if not series:
            raise ctx.log.throw("Naming Series is required")
        name = _series(ctx, series if "#" in series else series + "#####")
    elif "#" in autoname:
        name = _series(ctx, autoname)
    if not name:
        name = random_name()
    validate_name(ctx, meta, name)
    doc.name = name


def validate_name(ctx: Ctx, meta: DocTypeDef, name: str) -> None:
    if re.search(r"[<>]", name):
        raise ctx.log.throw("Name cannot contain special characters like '<', '>'",
                            FrappeNameError)
    if name.startswith(f"New {meta.name}"):
        raise ctx.log.throw("There were some errors setting the name, please contact the "
                            "administrator", FrappeNameError)
