"""Segregation of duties: one user holding both sides of a rule of the pack.

The pack ``audit/data/sod.toml`` ships ERPNext defaults; ``--sod-rules FILE`` adds rules
(same id: replaces). A side is a list of ``"DocType|op"`` cells and is held when any of
them is allowed. A cell is DocType-level, so a rule cannot tell documents of one DocType
apart (a credit note is a Sales Invoice with ``is_return``): each conflict says so.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from audit.analysis.common import finding
from audit.analysis.interface import AnalysisOptions, cell_key
from audit.analysis.matrix import OPS, allowed
from audit.model import Finding
from audit.status import UsageError, not_regular

LIMIT = ("a cell is DocType-level: it cannot tell documents of one DocType apart "
         "(a credit note is a Sales Invoice with is_return)")


@dataclass(frozen=True)
class SodRule:
    id: str
    title: str
    a: tuple[tuple[str, str], ...]
    b: tuple[tuple[str, str], ...]
    note: str = ""


def _cells(source: str, key: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise UsageError(f"{source}: {key}: expected a non-empty list of \"DocType|op\" cells")
    out = []
    for i, item in enumerate(value):
        doctype, _, op = str(item).rpartition("|")
        if not isinstance(item, str) or not doctype or op not in OPS:
            raise UsageError(f"{source}: {key}[{i}]: {item!r} is not \"DocType|op\" "
                             f"(op one of {', '.join(OPS)})")
        out.append((doctype, op))
    return tuple(out)


def parse_rules(text: str, source: str) -> tuple[SodRule, ...]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML ({exc})") from None
    unknown = set(data) - {"rule"}
    if unknown:
        raise UsageError(f"{source}: {sorted(unknown)[0]}: unknown key (expected [[rule]])")
    rules = data.get("rule", [])
    if not isinstance(rules, list):
        raise UsageError(f"{source}: rule: expected an array of tables ([[rule]])")
    out = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(rules):
        key = f"rule[{i}]"
        if not isinstance(raw, dict):
            raise UsageError(f"{source}: {key}: expected a table")
        extra = set(raw) - {"id", "title", "a", "b", "note"}
        if extra:
            raise UsageError(f"{source}: {key}.{sorted(extra)[0]}: unknown key (expected id, "
                             "title, a, b, note)")
        rule_id = raw.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            raise UsageError(f"{source}: {key}.id: expected a non-empty string")
        if rule_id in seen:
            raise UsageError(f"{source}: {key}.id: {rule_id!r} is rule[{seen[rule_id]}]'s id "
                             "too (give each rule its own)")
        seen[rule_id] = i
        for name in ("title", "note"):
            if name in raw and not isinstance(raw[name], str):
                raise UsageError(f"{source}: {key}.{name}: expected a string")
        a, b = _cells(source, f"{key}.a", raw.get("a")), _cells(source, f"{key}.b", raw.get("b"))
        both = sorted(set(a) & set(b))
        if both:
            cell = "|".join(both[0])
            raise UsageError(f"{source}: {key}: {cell!r} is on both sides (a rule needs two "
                             "duties)")
        out.append(SodRule(id=rule_id, title=str(raw.get("title") or rule_id), a=a, b=b,
                           note=str(raw.get("note") or "")))
    return tuple(out)


def load_rules(extra: Path | None = None) -> tuple[SodRule, ...]:
    shipped = resources.files("audit").joinpath("data/sod.toml").read_text("utf-8")
    rules = {r.id: r for r in parse_rules(shipped, "audit/data/sod.toml")}
    if extra is not None:
        rules.update({r.id: r for r in load_file(extra)})
    return tuple(rules.values())


def load_file(path: Path) -> tuple[SodRule, ...]:
    """The rules of one ``--sod-rules`` file; a clear error for one that cannot be read."""
    odd = not_regular(path)
    if odd:
        raise UsageError(f"{path}: cannot be read ({odd})")
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    return parse_rules(text, str(path))


def absent_doctypes(path: Path | None, known: Collection[str],
                    in_scope: Callable[[str], bool] | None = None) -> list[str]:
    """Warnings for the DocTypes a ``--sod-rules`` file names that the record cannot judge:
    one the site does not have (misspelt, or its app not installed) or one outside the
    crawl's scope (``in_scope``; None: not known, as when a saved record is reported). A
    side of them is never held, so its rule never fires. (The shipped pack names ERPNext's
    DocTypes, which a plain Frappe site lacks: it is not warned about.)"""
    if path is None or not known:
        return []
    out = []
    for rule in load_file(path):
        cells = list(dict.fromkeys(d for d, _op in (*rule.a, *rule.b) if d not in known))
        if cells and in_scope is None:
            out.append(f"{path}: rule {rule.id!r} names {_quoted(cells)}, which this run did "
                       "not audit (the site lacks it, or it was outside the crawl's scope; "
                       "names are case-sensitive): no cell of it is held")
            continue
        absent = [d for d in cells if in_scope is not None and in_scope(d)]
        outside = [d for d in cells if d not in absent]
        if absent:
            out.append(f"{path}: rule {rule.id!r} names {_quoted(absent)}, which the site "
                       "does not have (names are case-sensitive): no cell of it is held")
        if outside:
            out.append(f"{path}: rule {rule.id!r} names {_quoted(outside)}, outside the "
                       "crawl's scope ([crawl] doctypes / exclude, --doctypes) or absent from "
                       "the site: not judged")
    return out


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


def sod_findings(frame: pd.DataFrame, options: AnalysisOptions,
                 rules: tuple[SodRule, ...]) -> Iterator[Finding]:
    hits = allowed(frame)
    # only the cells a rule names matter: a user holding none of them has no conflict
    hits = hits[hits["doctype"].isin({d for r in rules for d, _ in (*r.a, *r.b)})]
    held: dict[str, set[tuple[str, str]]] = {}
    for user, doctype, op in zip(hits["user"].astype(str), hits["doctype"].astype(str),
                                 hits["op"].astype(str), strict=True):
        held.setdefault(user, set()).add((doctype, op))
    for user in sorted(held):
        cells = held[user]
        for rule in rules:
            side_a = [c for c in rule.a if c in cells]
            side_b = [c for c in rule.b if c in cells]
            if not side_a or not side_b or (len(rule.a) == 1 and rule.a == rule.b):
                continue
            evidence = [cell_key(user, d, o) for d, o in dict.fromkeys([*side_a, *side_b])]
            left = " or ".join(f"{o} {d}" for d, o in side_a)
            right = " or ".join(f"{o} {d}" for d, o in side_b)
            yield finding("sod-conflict", user, rule.id, options,
                          doctype=side_b[0][0], op=side_b[0][1],
                          detail=f"{user} may {left} and {right} ({rule.id}: {rule.title})"
                                 + (f"; {rule.note}" if rule.note else "") + f". Note: {LIMIT}",
                          evidence=evidence,
                          recommendation=f"split the duties: take {right} (or {left}) away "
                                         f"from {user}'s roles, or require a second approver")
