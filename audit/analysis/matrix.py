"""The effective matrix (user x DocType x op) and its summaries, as pandas frames.

``cells(results)`` is the one long frame every rule family reads: one row per probe row,
with the DocType's module and flags — ``share`` (the cell was reached through a
DocShare), ``own_record`` (a user's own User record, which Frappe shares with every
user: normal, never a finding), and what the replies said (``traced``, ``hook_said``,
``count_answered``), read from every message and attempt once, while the frame is built.
Rules filter it and group it on category codes (:func:`grouped`, :func:`cell_strings`):
no rule loops over the probe rows in Python. ``grant_map(results)`` is what the
configured rules (permlevel 0, the user's roles with Frappe's automatic ones) predict
for each cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

from audit.analysis.catalogue import COUNT_TARGET, HOOK_WORDS, OWN_RECORD_DOCTYPE, TRACEBACK
from audit.model import Attempt, Operation, Outcome, ProbeResult
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


Flags = np.ndarray[Any, np.dtype[np.bool_]]


def _containing(texts: list[str], needles: Sequence[str | None]) -> list[Flags | None]:
    """Per needle, which of ``texts`` hold it (None: none does, or the needle is None). One
    C search over all the texts first; only for a needle found there is each distinct text
    searched once."""
    joined = "\x00".join(texts)  # no needle holds NUL, so no match spans two texts
    found = [needle is not None and needle in joined for needle in needles]
    del joined
    if not any(found):
        return [None] * len(needles)
    codes, uniques = pd.factorize(np.fromiter(texts, dtype=object, count=len(texts)))
    return [codes_flags(codes, [needle in str(u) for u in uniques])
            if hit and needle is not None else None
            for needle, hit in zip(needles, found, strict=True)]


def codes_flags(codes: np.ndarray[Any, Any], per_code: Sequence[bool]) -> Flags:
    """``per_code[code]`` for every code (a missing code, -1, is False)."""
    table = np.array([*per_code, False], dtype=bool)
    out: Flags = table[codes]
    return out


def _reply_flags(probes: Sequence[ProbeResult]) -> tuple[Flags, Flags, Flags]:
    """Per row: (a reply carried a server traceback, a reply named a controller hook, a
    ``get_count`` attempt was answered 200), from the row's message and its attempts.

    One C-level search over every message, note and target first: most runs hold none of
    the three, and then no row is looked at again."""
    n = len(probes)
    traced, hooked, counted = (np.zeros(n, dtype=bool) for _ in range(3))
    texts = list(map(attrgetter("message"), probes))
    attempts = list(map(attrgetter("attempts"), probes))
    fields = attrgetter("message", "note", "target")
    # no needle holds NUL, so no match spans two texts
    replies = "\x00".join(chain(texts, chain.from_iterable(
        map(fields, chain.from_iterable(attempts)))))
    wanted = [needle in replies for needle in (TRACEBACK, HOOK_WORDS, COUNT_TARGET)]
    del replies
    if not any(wanted):
        return traced, hooked, counted
    want_trace, want_hook, want_count = wanted
    needles = [TRACEBACK if want_trace else None, HOOK_WORDS if want_hook else None]
    for out, flags in zip((traced, hooked), _containing(texts, needles), strict=True):
        if flags is not None:
            out |= flags
    del texts
    flat: list[Attempt] = list(chain.from_iterable(attempts))
    if not flat:
        return traced, hooked, counted
    owner = np.repeat(np.arange(n), np.fromiter(map(len, attempts), dtype=np.int64, count=n))
    found: list[tuple[Flags, Flags | None]] = []
    if want_trace or want_hook:
        in_message = _containing(list(map(attrgetter("message"), flat)), needles)
        found += zip((traced, hooked), in_message, strict=True)
    if want_trace:
        found += [(traced, _containing(list(map(attrgetter("note"), flat)), [TRACEBACK])[0])]
    if want_count:
        count_target = _containing(list(map(attrgetter("target"), flat)), [COUNT_TARGET])[0]
        if count_target is not None:
            candidates = np.flatnonzero(count_target)
            count_target[candidates] = [flat[i].target == COUNT_TARGET
                                        and flat[i].http_status == 200 for i in candidates]
        found.append((counted, count_target))
    for out, flags in found:
        if flags is not None:
            out[owner[flags]] = True
    return traced, hooked, counted


class _Numbering(dict[Any, int]):
    """key -> its number, keys numbered in the order first seen (a miss numbers the key)."""

    def __missing__(self, key: Any) -> int:
        self[key] = number = len(self)
        return number


def _codes(values: Sequence[object], position: Mapping[object, int]
           ) -> np.ndarray[Any, np.dtype[np.int64]]:
    """``position[value]`` per value (-1, missing, for a value not in ``position``)."""
    return np.array([position.get(v, -1) for v in values] or [-1], dtype=np.int64)


def cells(results: RunResults) -> pd.DataFrame:
    """One row per probe row: user, doctype, op, outcome, limits, module, flags.

    Flags: ``share`` (reached through a DocShare), ``own_record`` (a user's own User
    record), ``traced`` (a reply carried a server traceback), ``hook_said`` (a reply named
    a controller permission hook), ``count_answered`` (a ``get_count`` attempt answered).
    """
    probes = results.probes
    n = len(probes)
    # user, op, outcome and limits take few values together: one C-level pass numbers each
    # distinct combination (a dict lookup per row), then each column is read off the combos
    combos = _Numbering()
    combo = np.fromiter(map(combos.__getitem__, map(attrgetter(
        "user", "op", "outcome", "limits"), probes)), dtype=np.int64, count=n)
    keys = list(combos)
    users = list(dict.fromkeys(str(k[0]) for k in keys))  # first seen, as pd.factorize
    # distinct tuples may join to the same text: the categories are the distinct texts
    labels = list(dict.fromkeys(";".join(k[3]) for k in keys))
    columns: dict[str, tuple[list[object], list[str], Mapping[object, int]]] = {
        "user": ([str(k[0]) for k in keys], users, {u: i for i, u in enumerate(users)}),
        "op": ([k[1] for k in keys], [m.value for m in Operation],
               {m: i for i, m in enumerate(Operation)}),
        "outcome": ([k[2] for k in keys], [m.value for m in Outcome],
                    {m: i for i, m in enumerate(Outcome)}),
        "limits": ([";".join(k[3]) for k in keys], labels,
                   {label: i for i, label in enumerate(labels)}),
    }
    data = {name: pd.Categorical.from_codes(_codes(values, position)[combo],
                                            categories=pd.Index(categories, dtype=object))
            for name, (values, categories, position) in columns.items()}
    frame = pd.DataFrame({"user": data["user"],
                          "doctype": _categorical(list(map(attrgetter("doctype"), probes))),
                          "op": data["op"], "outcome": data["outcome"],
                          "limits": data["limits"]})
    doctypes = frame["doctype"].cat
    module_of = {name: info.module or "" for name, info in results.doctypes.items()}
    modules = np.array([module_of.get(d, "") for d in doctypes.categories] + [""],
                       dtype=object)
    frame["module"] = pd.Series(modules[doctypes.codes.to_numpy()], index=frame.index,
                                dtype=object)
    frame["share"] = codes_flags(frame["limits"].cat.codes.to_numpy(),
                                 ["share" in label.split(";") for label in labels])
    frame["own_record"] = (frame["doctype"] == OWN_RECORD_DOCTYPE) & frame["share"] & \
        frame["op"].isin(("read", "write"))
    frame["traced"], frame["hook_said"], frame["count_answered"] = _reply_flags(probes)
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


# a set of ops as bits (bit i: OPS[i]) -> those ops in OPS order
OPS_OF_MASK: tuple[tuple[str, ...], ...] = tuple(
    tuple(op for i, op in enumerate(OPS) if mask >> i & 1) for mask in range(1 << len(OPS)))


def _sorted_labels(categories: pd.Index) -> tuple[np.ndarray[Any, np.dtype[np.int64]], list[str]]:
    """(each category's rank in string order, the categories as strings in that order)."""
    labels = [str(c) for c in categories]
    order = sorted(range(len(labels)), key=labels.__getitem__)
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels), dtype=np.int64)
    return rank, [labels[i] for i in order]


def grouped(frame: pd.DataFrame) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(user, doctype, ops) of the rows of ``frame``, sorted by user then DocType; ops are
    the distinct ops of the pair in OPS order (grouped on the codes, no per-row Python)."""
    if frame.empty:
        return
    user_rank, users = _sorted_labels(frame["user"].cat.categories)
    doctype_rank, doctypes = _sorted_labels(frame["doctype"].cat.categories)
    n_doctypes = len(doctypes)
    pairs = (user_rank[frame["user"].cat.codes.to_numpy()] * n_doctypes
             + doctype_rank[frame["doctype"].cat.codes.to_numpy()])
    unique, inverse = np.unique(pairs, return_inverse=True)
    masks = np.zeros(len(unique), dtype=np.int64)
    np.bitwise_or.at(masks, inverse, np.left_shift(
        1, frame["op"].cat.codes.to_numpy().astype(np.int64)))
    for pair, mask in zip(unique.tolist(), masks.tolist(), strict=True):
        user, doctype = divmod(pair, n_doctypes)
        yield users[user], doctypes[doctype], OPS_OF_MASK[mask]


def cell_strings(frame: pd.DataFrame) -> list[str]:
    """``user|doctype|op`` for every row, in row order (strings joined per category, then
    two C-level concatenations per row)."""
    if frame.empty:
        return []
    user, doctype, op = (frame[c].cat for c in ("user", "doctype", "op"))
    prefix = np.array([f"{u}|" for u in user.categories] + [""], dtype=object)
    middle = np.array([str(d) for d in doctype.categories] + [""], dtype=object)
    suffix = np.array([f"|{o}" for o in op.categories] + [""], dtype=object)
    joined = (prefix[user.codes.to_numpy()] + middle[doctype.codes.to_numpy()]
              + suffix[op.codes.to_numpy()])
    out: list[str] = joined.tolist()
    return out


def per_user(frame: pd.DataFrame, values: Sequence[str]) -> dict[str, list[str]]:
    """``values`` (one per row of ``frame``) by the row's user, in row order."""
    out: dict[str, list[str]] = {}
    if frame.empty:
        return out
    codes = frame["user"].cat.codes.to_numpy()
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    labels = frame["user"].cat.categories
    items = np.array(values, dtype=object)[order]
    for chunk, start in zip(np.split(items, bounds), [0, *bounds.tolist()], strict=True):
        out[str(labels[codes[order[start]]])] = chunk.tolist()
    return out


def module_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Allowed cells per module, most first: the ``allowed`` column of ``summaries(frame)
    ["module"]`` (the same table, sorted the same way), without the per-op crosstab."""
    counts = allowed(frame)["module"].astype(str).value_counts()
    table = pd.DataFrame({"allowed": counts.to_numpy(dtype=np.int64)},
                         index=counts.index).sort_index()
    table = table.sort_values("allowed", ascending=False)
    return {str(k): int(v) for k, v in table["allowed"].items()}


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

