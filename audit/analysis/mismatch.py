"""Configured vs observed: what the role rules predict for each cell against the probes.

The prediction is the configured rules alone (DocPerm / Custom DocPerm at permlevel 0,
the user's roles plus Frappe's automatic ones; cancel needs write). Each disagreement
is a ``rule-mismatch`` with its likely cause, read from what else discovery saw: a
share, a User Permission, an if_owner row, a permission hook (the site's own words, or
a DocType known to carry one), else a server script or DocType setting. A user's own
User record (shared with it by Frappe) is normal and never a mismatch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from audit.analysis.catalogue import HOOKED_DOCTYPES
from audit.analysis.common import cells_of, finding, ops_text
from audit.analysis.interface import AnalysisOptions
from audit.analysis.matrix import ALLOWED, DENIED, cell_codes, codes_of
from audit.model import Finding, Severity
from audit.results.record import RunResults

KEYS = ["user", "doctype", "op"]

CAUSE_SHARE = "a share (share-only access: no role rule grants it)"
CAUSE_HIDDEN = ("a grant the rules do not show: an everyone-share, or a rule hidden from the "
                "auditor (rows of roles with is_custom are hidden from non-Administrator callers)")
CAUSE_OWNER = "if_owner: the rules grant it only on documents the user owns, and none was found"
CAUSE_UP = "a User Permission restricts the user to documents it could not reach"
CAUSE_HOOK_SAID = ("a permission hook (the site answered: not allowed via controller "
                   "permission check)")
CAUSE_HOOK = ("a permission hook of this DocType (Frappe core registers one: standard "
              "behaviour)")
CAUSE_OTHER = "a permission hook or server script of an installed app, or a DocType setting"
# Frappe's own behaviour, explained: reported at info so the real surprises stand out.
EXPLAINED = frozenset({CAUSE_HOOK, CAUSE_OWNER})


def _hooked(frame: pd.DataFrame) -> set[tuple[str, str]]:
    """(user, DocType) where a denied cell's reply named a controller hook: a hook judges
    every right on the document, so it is the likely cause for the others there too."""
    said = frame[frame["hook_said"] & (frame["outcome"] == DENIED)]
    return set(zip(said["user"].astype(str).tolist(), said["doctype"].astype(str).tolist(),
                   strict=True))


def _up_doctypes(results: RunResults, user: str) -> set[str]:
    """DocTypes whose documents a user's User Permissions restrict (own or through links)."""
    facts = results.facts(user)
    if facts is None or not facts.user_permissions:
        return set()
    allows = {u.allow for u in facts.user_permissions}
    out = set(allows)
    for name, info in results.doctypes.items():
        if allows & set(info.link_fields().values()):
            out.add(name)
    return out


def _denied_cause(results: RunResults, hooked: set[tuple[str, str]],
                  up: dict[str, set[str]], row: tuple[str, str, str, bool]) -> str:
    user, doctype, _op, owner_only = row
    if (user, doctype) in hooked:
        return CAUSE_HOOK if doctype in HOOKED_DOCTYPES else CAUSE_HOOK_SAID
    if owner_only:
        return CAUSE_OWNER
    if doctype in up.setdefault(user, _up_doctypes(results, user)):
        return CAUSE_UP
    if doctype in HOOKED_DOCTYPES:
        return CAUSE_HOOK
    return CAUSE_OTHER


def mismatches(results: RunResults, frame: pd.DataFrame,
               grants: Mapping[tuple[str, str, str], tuple[bool, str]] | None) -> pd.DataFrame:
    """Cells where the rules and the site disagree, with a ``cause`` column."""
    columns = [*KEYS, "outcome", "cause"]
    if grants is None:
        return pd.DataFrame(columns=columns)
    authenticated = {u.name for u in results.users if u.authenticated}
    verdicts = frame[frame["outcome"].isin((ALLOWED, DENIED)) & ~frame["own_record"]
                     & frame["user"].isin(authenticated)]
    granted = np.isin(cell_codes(verdicts), codes_of(verdicts, grants))
    is_allowed = (verdicts["outcome"] == ALLOWED).to_numpy()
    extra = verdicts[is_allowed & ~granted]
    rows: list[tuple[str, str, str, str, str]] = [
        (u, d, o, ALLOWED, CAUSE_SHARE if share else CAUSE_HIDDEN) for u, d, o, share in zip(
            *(extra[c].tolist() for c in (*KEYS, "share")), strict=True)]
    missing = verdicts[~is_allowed & granted]
    if not missing.empty:
        hooked = _hooked(frame)
        up: dict[str, set[str]] = {}
        rows += [(u, d, o, DENIED, _denied_cause(results, hooked, up,
                                                 (u, d, o, not grants[(u, d, o)][0])))
                 for u, d, o in zip(*(missing[c].tolist() for c in KEYS), strict=True)]
    return pd.DataFrame(rows, columns=columns)


def mismatch_findings(results: RunResults, frame: pd.DataFrame,
                      grants: Mapping[tuple[str, str, str], tuple[bool, str]] | None,
                      options: AnalysisOptions) -> Iterator[Finding]:
    found = mismatches(results, frame, grants)
    if found.empty:
        return
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for user, doctype, op, outcome, cause in zip(*(found[c].astype(str).tolist() for c in (
            "user", "doctype", "op", "outcome", "cause")), strict=True):
        groups.setdefault((user, doctype, outcome, cause), []).append(op)
    for (user, doctype, outcome, cause), ops in sorted(groups.items()):
        said = "allows" if outcome == ALLOWED else "refuses"
        predicted = "refuse" if outcome == ALLOWED else "allow"
        fix = (f"if {user} should not have it, remove the share or grant; else add a role rule "
               f"so the configuration says so" if outcome == ALLOWED else
               f"if {user} should have it, lift the restriction ({str(cause).split(':')[0]}); else "
               "remove the rule so the configuration says so")
        yield finding("rule-mismatch", str(user), f"{doctype}|{outcome}|{cause}", options,
                      doctype=str(doctype), op=ops_text(ops),
                      detail=f"the rules {predicted} {user} {ops_text(ops)} on {doctype}; the "
                             f"site {said} it. Likely cause: {cause}",
                      evidence=cells_of(str(user), str(doctype), ops), recommendation=fix,
                      default=Severity.INFO if cause in EXPLAINED else None)
