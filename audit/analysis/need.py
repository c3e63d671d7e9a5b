"""Declared need (``expect``) and real use against what each user holds.

beyond-need: allowed cells outside ``expect``; need-denied: declared cells the site
refuses; no-declared-need: a user without ``expect``; unused-grant: a mutating right
not used in the usage window. Read use is not recorded by Frappe for REST or API-key
traffic, so a read cell is never called unused (``unused_unknown`` in the summary).
A user's own User record (read, write) is normal and never reported.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from audit.analysis.access import _grouped
from audit.analysis.common import cells_of, finding, ops_text
from audit.analysis.interface import AnalysisOptions
from audit.analysis.matrix import DENIED, MUTATING, allowed, cell_keys
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
    """``frame`` with a bool ``column``: the cell is in ``other`` (a set lookup per row)."""
    wanted = set(keys_of(other))
    flags = np.fromiter((k in wanted for k in keys_of(frame)), dtype=bool, count=len(frame))
    return frame.assign(**{column: flags})


Granting = dict[tuple[str, str, str], str]


def granting_roles(grants: pd.DataFrame | None) -> Granting:
    """(user, doctype, op) -> the user's roles whose rules grant it ("A, B")."""
    if grants is None or grants.empty:
        return {}
    return dict(zip(zip(grants["user"].astype(str), grants["doctype"].astype(str),
                        grants["op"].astype(str), strict=True),
                    grants["roles"].astype(str), strict=True))


def _fix(granting: Granting, user: str, doctype: str, ops: list[str], shared: bool) -> str:
    found = {r for op in ops for r in granting.get((user, doctype, op), "").split(", ") if r}
    roles = ", ".join(sorted(found))
    if roles:
        return (f"remove {ops_text(ops)} on {doctype} from role(s) {roles}, or drop the role "
                f"from {user} (see its minimal role set)")
    if shared:
        return f"remove the DocShare that gives {user} {ops_text(ops)} on {doctype}"
    return f"find what grants {user} {ops_text(ops)} on {doctype} (see rule-mismatch)"


def need_findings(results: RunResults, frame: pd.DataFrame, grants: pd.DataFrame | None,
                  options: AnalysisOptions) -> Iterator[Finding]:
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
    granting = granting_roles(grants)
    hits = allowed(frame)
    hits = _mark(hits[hits["user"].isin(declared) & ~hits["own_record"]], need, "needed")
    beyond = hits[~hits["needed"]]
    shared = set(zip(beyond.loc[beyond["share"], "user"], beyond.loc[beyond["share"], "doctype"],
                     strict=True))
    for name, doctype, ops in _grouped(beyond):
        yield finding("beyond-need", name, doctype, options, doctype=doctype, op=ops_text(ops),
                      detail=f"{name} may {ops_text(ops)} {doctype}, beyond its declared need"
                             + (" (through a share)" if (name, doctype) in shared else ""),
                      evidence=cells_of(name, doctype, ops),
                      recommendation=_fix(granting, name, doctype, ops,
                                          (name, doctype) in shared))
    denied = frame[frame["outcome"] == DENIED]
    refused = _mark(denied, need, "needed")
    refused = refused[refused["needed"]]
    for name, doctype, ops in _grouped(refused):
        yield finding("need-denied", name, doctype, options, doctype=doctype, op=ops_text(ops),
                      detail=f"{name} declares it needs {ops_text(ops)} on {doctype}, and the "
                             "site refuses it",
                      evidence=cells_of(name, doctype, ops),
                      recommendation=f"grant {ops_text(ops)} on {doctype} to a role of {name}, "
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
    for name, doctype, ops in _grouped(unused[~unused["needed"]]):
        yield finding("unused-grant", name, doctype, options, doctype=doctype, op=ops_text(ops),
                      detail=f"{name} may {ops_text(ops)} {doctype} and did not in the last "
                             f"{days} days (Version, Deleted Document, owner / modified_by)",
                      evidence=cells_of(name, doctype, ops),
                      recommendation=f"remove {ops_text(ops)} on {doctype} from {name}'s "
                                     "roles, or declare it in expect if it is needed rarely")


def per_user_cells(frame: pd.DataFrame) -> dict[str, list[str]]:
    if frame.empty:
        return {}
    keys = cell_keys(frame)
    out: dict[str, list[str]] = {}
    for user, key in zip(frame["user"].astype(str), keys, strict=True):
        out.setdefault(user, []).append(key)
    return out
