"""The effective matrix (user x DocType x op) and its summaries, as pandas frames.

``cells(results)`` is the one long frame every rule family reads: one row per probe row,
with the DocType's module and two flags — ``share`` (the cell was reached through a
DocShare) and ``own_record`` (a user's own User record, which Frappe shares with every
user: normal, never a finding). ``grants(results)`` is what the configured rules
(permlevel 0, the user's roles with Frappe's automatic ones) predict for each cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

from audit.analysis.catalogue import OWN_RECORD_DOCTYPE
from audit.model import Operation, Outcome
from audit.results.record import RunResults

OPS: tuple[str, ...] = tuple(op.value for op in Operation)
MUTATING: tuple[str, ...] = tuple(op.value for op in Operation if op.mutating)
ALLOWED = Outcome.ALLOWED.value
DENIED = Outcome.DENIED.value


def _categorical(values: Sequence[object], categories: Sequence[object] | None = None
                 ) -> pd.Categorical:
    """A categorical of ``values`` (hashed once in C by ``pd.factorize``); categories are
    plain Python strings, in the order given (or first seen)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    codes, uniques = pd.factorize(array)
    labels = pd.Index([str(u) for u in uniques], dtype=object)
    out = pd.Categorical.from_codes(codes, categories=labels)
    if categories is not None:
        out = out.set_categories(pd.Index([str(c) for c in categories], dtype=object))
    return out


def cells(results: RunResults) -> pd.DataFrame:
    """One row per probe row: user, doctype, op, outcome, method, limits, module, flags."""
    probes = results.probes
    # one pass per column: no per-row tuple, so the cyclic GC is not set off a million times
    user, doctype, op, outcome, limits = (list(map(attrgetter(name), probes)) for name in (
        "user", "doctype", "op", "outcome", "limits"))
    frame = pd.DataFrame({
        "user": _categorical(user), "doctype": _categorical(doctype),
        "op": _categorical(op, list(Operation)),
        "outcome": _categorical(outcome, list(Outcome)),
    })
    limit_codes = _categorical([";".join(x) for x in limits]) if probes else _categorical([])
    frame["limits"] = limit_codes
    modules = {name: info.module or "" for name, info in results.doctypes.items()}
    frame["module"] = frame["doctype"].map(
        lambda d: modules.get(d, "")).astype(object)  # maps each category once
    labels = frame["limits"].cat.categories
    limit_share = {c: "share" in str(c).split(";") for c in labels}
    frame["share"] = frame["limits"].map(limit_share).astype(bool)
    frame["own_record"] = (frame["doctype"] == OWN_RECORD_DOCTYPE) & frame["share"] & \
        frame["op"].isin(("read", "write"))
    return frame


def cell_codes(frame: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.int64]]:
    """One int64 per row naming its (user, doctype, op) cell, from the categorical codes."""
    n_doctypes = len(frame["doctype"].cat.categories)
    n_ops = len(OPS)
    return ((frame["user"].cat.codes.to_numpy(np.int64) * n_doctypes
             + frame["doctype"].cat.codes.to_numpy(np.int64)) * n_ops
            + frame["op"].cat.codes.to_numpy(np.int64))


def codes_of(frame: pd.DataFrame, keys: Iterable[tuple[str, str, str]]
             ) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The :func:`cell_codes` of ``keys`` (cells naming a user or DocType the frame lacks
    are left out)."""
    users = {c: i for i, c in enumerate(frame["user"].cat.categories)}
    doctypes = {c: i for i, c in enumerate(frame["doctype"].cat.categories)}
    ops = {c: i for i, c in enumerate(frame["op"].cat.categories)}
    n_doctypes, n_ops = len(doctypes), len(OPS)
    out = [(users[u] * n_doctypes + doctypes[d]) * n_ops + ops[o] for u, d, o in keys
           if u in users and d in doctypes and o in ops]
    return np.array(out, dtype=np.int64)


def allowed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["outcome"] == ALLOWED]


def cell_keys(frame: pd.DataFrame) -> pd.Series:
    """``user|doctype|op`` for every row (the evidence form of a cell)."""
    return frame["user"].astype(str) + "|" + frame["doctype"].astype(str) + "|" + \
        frame["op"].astype(str)


def user_roles(results: RunResults) -> pd.DataFrame:
    """(user, role) for every configured user, Frappe's automatic roles included."""
    rows: list[tuple[str, str]] = []
    for record in results.users:
        facts = results.facts(record.name)
        roles: Iterable[str] = facts.effective_roles if facts is not None else (
            *record.roles, "All", "Guest", *(("Desk User",)
                                             if record.user_type == "System User" else ()))
        rows += [(record.name, role) for role in dict.fromkeys(roles)]
    return pd.DataFrame(rows, columns=["user", "role"])


def rule_rows(results: RunResults) -> pd.DataFrame:
    """The configured rules, one row per (doctype, role, permlevel, if_owner, right)."""
    rows = [(r.doctype, r.role, r.permlevel, r.if_owner, right)
            for dt_rules in (results.rules or {}).values() for r in dt_rules for right in r.rights]
    return pd.DataFrame(rows, columns=["doctype", "role", "permlevel", "if_owner", "op"])


def grant_map(results: RunResults) -> dict[tuple[str, str, str], tuple[bool, str]] | None:
    """(user, doctype, op) -> (granted by a plain row, "Role A, Role B") from the rules.

    Level-0 rows of the user's roles (automatic ones included); cancel needs write too
    (SPEC §3.11). None when no rules were read. Plain loops: the rules are small.
    """
    if results.rules is None:
        return None
    by_role: dict[str, list[str]] = {}
    for user, role in user_roles(results).itertuples(index=False):
        by_role.setdefault(str(role), []).append(str(user))
    ops = set(OPS)
    acc: dict[tuple[str, str, str], list[Any]] = {}
    for doctype, rows in results.rules.items():
        for rule in rows:
            holders = by_role.get(rule.role)
            if rule.permlevel != 0 or not holders:
                continue
            for op in rule.rights & ops:
                for user in holders:
                    entry = acc.setdefault((user, doctype, op), [False, set()])
                    entry[0] = entry[0] or not rule.if_owner
                    entry[1].add(rule.role)
    out: dict[tuple[str, str, str], tuple[bool, str]] = {}
    for (user, doctype, op), (plain, roles) in acc.items():
        if op == "cancel":
            write = acc.get((user, doctype, "write"))
            if write is None:
                continue
            plain = plain and write[0]
        out[(user, doctype, op)] = (bool(plain), ", ".join(sorted(roles)))
    return out


def grants(results: RunResults,
           found: dict[tuple[str, str, str], tuple[bool, str]] | None = None
           ) -> pd.DataFrame | None:
    """:func:`grant_map` as a frame: user, doctype, op, plain, owner_only, roles."""
    found = grant_map(results) if found is None else found
    if found is None:
        return None
    keys = list(found)
    return pd.DataFrame({
        "user": [k[0] for k in keys], "doctype": [k[1] for k in keys],
        "op": [k[2] for k in keys], "plain": [found[k][0] for k in keys],
        "owner_only": [not found[k][0] for k in keys], "roles": [found[k][1] for k in keys],
    }, columns=["user", "doctype", "op", "plain", "owner_only", "roles"])


def higher_level_writes(results: RunResults) -> pd.DataFrame:
    """(user, doctype, permlevel, roles) where the user's roles write above level 0."""
    rules = rule_rows(results)
    rules = rules[(rules["permlevel"] > 0) & (rules["op"] == "write")]
    joined = rules.merge(user_roles(results), on="role")
    return joined[["user", "doctype", "permlevel", "role"]].drop_duplicates()


def matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (user, DocType), a column per op holding the outcome ('' when none)."""
    wide = frame.pivot_table(index=["user", "doctype"], columns="op", values="outcome",
                             aggfunc="first", observed=True)
    wide = wide.reindex(columns=list(OPS))
    wide.columns = list(OPS)
    return wide.astype("object").fillna("").reset_index().astype({"user": str, "doctype": str})


def summaries(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Allowed cells per user, per DocType and per module (op columns plus a total)."""
    hits = allowed(frame)
    out = {}
    for key in ("user", "doctype", "module"):
        table = pd.crosstab(hits[key].astype(str), hits["op"].astype(str))
        table = table.reindex(columns=list(OPS), fill_value=0)
        table["allowed"] = table.sum(axis=1)
        out[key] = table.sort_values("allowed", ascending=False)
    return out

