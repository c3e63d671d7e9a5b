"""Declared need (``expect``) and real use against what each user holds.

beyond-need: allowed cells outside ``expect``; need-denied: declared cells the site
refuses; no-declared-need: a user without ``expect``; unused-grant: a mutating right
not used in the usage window. Read use is not recorded by Frappe for REST or API-key
traffic, so a read cell is never called unused (``unused_unknown`` in the summary).
A user's own User record (read, write) is normal and never reported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from audit.analysis.common import cells_of, finding, ops_text, severity
from audit.analysis.incomplete import finding_id
from audit.analysis.interface import AnalysisOptions
from audit.analysis.matrix import (
    ALLOWED,
    DENIED,
    MUTATING,
    allowed,
    cell_codes,
    cell_strings,
    codes_of,
    grouped,
    per_user,
)
from audit.model import Finding
from audit.results.record import RunResults

KEYS = ["user", "doctype", "op"]


def need_frame(results: RunResults) -> pd.DataFrame:
    rows = [(u.name, doctype, op) for u in results.users if u.expect
            for doctype, ops in u.expect.items() for op in ops]
    return pd.DataFrame(rows, columns=KEYS, dtype=str)


def use_frame(results: RunResults) -> pd.DataFrame:
    rows = [(user, *key.rsplit("|", 1), count) for user, counts in (results.usage or {}).items()
            for key, count in counts.items() if count > 0 and "|" in key]
    return pd.DataFrame(rows, columns=[*KEYS, "count"]).astype({k: str for k in KEYS})


def keys_of(frame: pd.DataFrame) -> Iterator[tuple[str, str, str]]:
    return zip(*(frame[k].tolist() for k in KEYS), strict=True)


def _mark(frame: pd.DataFrame, other: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` with a bool ``column``: the cell is in ``other``."""
    return frame.assign(**{column: _within(frame, other)})


def _within(frame: pd.DataFrame, other: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per row of ``frame``: its cell is one of ``other``'s (compared as cell codes)."""
    return np.isin(cell_codes(frame), codes_of(frame, keys_of(other)))


Grants = Mapping[tuple[str, str, str], tuple[bool, str]]  # matrix.grant_map


def _fix(grants: Grants, user: str, doctype: str, ops: Sequence[str], shared: bool) -> str:
    found = {r for op in ops for r in grants.get((user, doctype, op), (False, ""))[1].split(", ")
             if r}
    roles = ", ".join(sorted(found))
    if roles:
        return (f"remove {ops_text(ops)} on {doctype} from role(s) {roles}, or drop the role "
                f"from {user} (see its minimal role set)")
    if shared:
        return f"remove the DocShare that gives {user} {ops_text(ops)} on {doctype}"
    return f"find what grants {user} {ops_text(ops)} on {doctype} (see rule-mismatch)"


def need_findings(results: RunResults, frame: pd.DataFrame,
                  grants: Grants | None, options: AnalysisOptions) -> Iterator[Finding]:
    """no-declared-need, beyond-need, need-denied; ``grants`` is ``matrix.grant_map``."""
    need = need_frame(results)
    declared = {u.name for u in results.users if u.expect is not None}
    for user in results.users:
        if user.expect is None and user.authenticated:
            yield finding("no-declared-need", user.name, "", options,
                          detail=f"{user.name} has no declared need (expect): nothing says "
                                 "which of its rights it should have",
                          evidence=[f"user:{user.name}"],
                          recommendation=f"add expect = {{ DocType = [ops] }} to [[users]] "
                                         f"name = {user.name!r}")
    granting: Grants = grants or {}
    needed = _within(frame, need)
    is_allowed = (frame["outcome"] == ALLOWED).to_numpy()
    beyond = frame[is_allowed & ~needed & frame["user"].isin(declared).to_numpy()
                   & ~frame["own_record"].to_numpy()]
    shared = set(zip(beyond.loc[beyond["share"], "user"], beyond.loc[beyond["share"], "doctype"],
                     strict=True))
    rule, level = "beyond-need", severity("beyond-need", options)
    for name, doctype, ops in grouped(beyond):
        text, through = ops_text(ops), (name, doctype) in shared
        yield Finding(id=finding_id(rule, name, doctype), severity=level, rule=rule, user=name,
                      doctype=doctype, op=text,
                      detail=f"{name} may {text} {doctype}, beyond its declared need"
                             + (" (through a share)" if through else ""),
                      evidence=tuple(cells_of(name, doctype, ops)),
                      recommendation=_fix(granting, name, doctype, ops, through))
    refused = frame[(frame["outcome"] == DENIED).to_numpy() & needed]
    rule, level = "need-denied", severity("need-denied", options)
    for name, doctype, ops in grouped(refused):
        text = ops_text(ops)
        yield Finding(id=finding_id(rule, name, doctype), severity=level, rule=rule, user=name,
                      doctype=doctype, op=text,
                      detail=f"{name} declares it needs {text} on {doctype}, and the "
                             "site refuses it",
                      evidence=tuple(cells_of(name, doctype, ops)),
                      recommendation=f"grant {text} on {doctype} to a role of {name}, "
                                     "or correct its expect")


def unused_cells(results: RunResults, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(mutating allowed cells not used in the window, read cells whose use is unknown)."""
    hits = allowed(frame)
    hits = hits[~hits["own_record"]]
    mutating = hits[hits["op"].isin(MUTATING)]
    if "*" in results.usage_missing:
        mutating = mutating.iloc[0:0]
    unknown_use = hits["op"] == "read"
    if results.usage_missing:  # no evidence could be read there: use unknown, never unused
        unknown_use |= hits["doctype"].isin(results.usage_missing) | ("*" in results.usage_missing)
        mutating = mutating[~mutating["doctype"].isin(results.usage_missing)]
    used = _mark(mutating, use_frame(results), "used")
    unused = _mark(used[~used["used"]], need_frame(results), "needed")
    return unused, hits[unknown_use]


def unused_findings(results: RunResults, unused: pd.DataFrame,
                    options: AnalysisOptions) -> Iterator[Finding]:
    if results.usage is None:
        return
    days = results.usage_days or options.usage_days
    rule, level = "unused-grant", severity("unused-grant", options)
    for name, doctype, ops in grouped(unused[~unused["needed"]]):
        text = ops_text(ops)
        yield Finding(id=finding_id(rule, name, doctype), severity=level, rule=rule, user=name,
                      doctype=doctype, op=text,
                      detail=f"{name} may {text} {doctype} and did not in the last "
                             f"{days} days (Version, Deleted Document, owner / modified_by)",
                      evidence=tuple(cells_of(name, doctype, ops)),
                      recommendation=f"remove {text} on {doctype} from {name}'s "
                                     "roles, or declare it in expect if it is needed rarely")


def per_user_cells(frame: pd.DataFrame) -> dict[str, list[str]]:
    return per_user(frame, cell_strings(frame))
