"""Who holds too much: privileged roles, escalation paths, secrets, sensitive DocTypes,
Website Users on desk data, disabled users whose key still works, privileged password logins.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pandas as pd

from audit.analysis.catalogue import (
    ESCALATION,
    PRIVILEGED_ROLES,
    SECRET_DOCTYPES,
    SENSITIVE_DOCTYPES,
)
from audit.analysis.common import cells_of, finding, ops_text
from audit.analysis.interface import AnalysisOptions
from audit.analysis.matrix import MUTATING, allowed, grouped, higher_level_writes
from audit.model import Finding
from audit.results.record import RunResults, UserRecord


def roles_of(results: RunResults, record: UserRecord) -> tuple[str, ...]:
    facts = results.facts(record.name)
    return facts.roles if facts is not None and facts.roles else record.roles


def privileged(results: RunResults) -> set[str]:
    return {u.name for u in results.users if set(roles_of(results, u)) & PRIVILEGED_ROLES}


def account_findings(results: RunResults, options: AnalysisOptions,
                     minimal: Mapping[str, list[str]]) -> Iterator[Finding]:
    """privileged-role, disabled-user-key-works, password-login-privileged."""
    for user in results.users:
        held = sorted(set(roles_of(results, user)) & PRIVILEGED_ROLES)
        who = user.frappe_user or user.name
        if held:
            smaller = minimal.get(user.name)
            instead = (f"; the minimal role set for its need and use is "
                       f"{', '.join(smaller) or 'no role at all'}") if smaller is not None else ""
            yield finding("privileged-role", user.name, ",".join(held), options,
                          detail=f"{user.name} ({who}) holds {', '.join(held)}: it may do "
                                 "anything on the site",
                          evidence=[f"role:{who}:{r}" for r in held],
                          recommendation=f"remove {', '.join(held)} from {who}{instead}")
            if user.auth == "password":
                yield finding("password-login-privileged", user.name, "", options,
                              detail=f"{user.name} logs in with a password and holds "
                                     f"{', '.join(held)}",
                              evidence=[f"user:{user.name}"],
                              recommendation=f"give {who} a dedicated API key pair instead of "
                                             "a password, or audit it through a less "
                                             "privileged account")
        if user.enabled is False and user.authenticated:
            yield finding("disabled-user-key-works", user.name, "", options,
                          detail=f"{user.name} ({who}) is disabled and still authenticates "
                                 "(Frappe 15.55.1 accepts a disabled user's API key)",
                          evidence=[f"user:{user.name}"],
                          recommendation=f"revoke the API key of {who} (clear api_key / "
                                         "api_secret on the User), then keep it disabled")


def _user_escalation(results: RunResults, hits: pd.DataFrame) -> Iterator[
        tuple[str, str, tuple[str, ...], str, list[str]]]:
    """Write on User beyond one's own record: (user, doctype, ops, chain, extra evidence)."""
    users = hits[(hits["doctype"] == "User") & ~hits["own_record"]
                 & hits["op"].isin(("write", "create"))]
    if users.empty:
        return
    levels = higher_level_writes(results) if results.rules is not None else pd.DataFrame(
        columns=["user", "doctype", "permlevel", "role"])
    levels = levels[levels["doctype"] == "User"]
    for name, doctype, ops in grouped(users):
        mine = levels[levels["user"] == name]
        if not mine.empty:
            roles = sorted(set(mine["role"]))
            chain = (f"{name} -> {ops_text(ops)} User incl. the roles table (permlevel 1, "
                     f"via {', '.join(roles)}) -> any role, System Manager included")
            extra = [f"rule:User@{lv}:{role}:write" for lv, role in
                     sorted(set(zip(mine["permlevel"], mine["role"], strict=True)))]
        else:
            chain = (f"{name} -> {ops_text(ops)} other users' User records (e-mail, "
                     "password reset) -> log in as those users")
            extra = []
        yield name, doctype, ops, chain, extra


def escalation_findings(results: RunResults, frame: pd.DataFrame,
                        options: AnalysisOptions) -> Iterator[Finding]:
    """escalation-path: a chain from a user that is not privileged to a power it lacks."""
    strong = privileged(results)
    hits = allowed(frame)
    hits = hits[~hits["user"].isin(strong) & hits["doctype"].isin({"User", *ESCALATION})]
    paths = list(_user_escalation(results, hits))
    for doctype, (opening, power) in ESCALATION.items():
        rows = hits[(hits["doctype"] == doctype) & hits["op"].isin(opening)]
        for name, dt, ops in grouped(rows):
            paths.append((name, dt, ops, f"{name} -> {ops_text(ops)} {dt} -> {power}", []))
    for name, doctype, ops, chain, extra in sorted(paths):
        yield finding("escalation-path", name, doctype, options, doctype=doctype,
                      op=ops_text(ops), detail=chain,
                      evidence=[*cells_of(name, doctype, ops), *extra],
                      recommendation=f"remove {ops_text(ops)} on {doctype} from the roles of "
                                     f"{name} (Role Permission Manager: the Custom DocPerm "
                                     "or role that grants it)")


def exposure_findings(results: RunResults, frame: pd.DataFrame, options: AnalysisOptions,
                      escalated: set[tuple[str, str]]) -> Iterator[Finding]:
    """secret-read, sensitive-access, website-user-data."""
    hits = allowed(frame)
    secret = hits[hits["doctype"].isin(SECRET_DOCTYPES) & (hits["op"] == "read")]
    for name, doctype, ops in grouped(secret):
        yield finding("secret-read", name, doctype, options, doctype=doctype, op="read",
                      detail=f"{name} may read {doctype} documents, which hold credentials "
                             "or tokens",
                      evidence=cells_of(name, doctype, ops),
                      recommendation=f"remove read on {doctype} from the roles of {name}")
    strong = privileged(results)
    sensitive = hits[hits["doctype"].isin(SENSITIVE_DOCTYPES) & hits["op"].isin(MUTATING)
                     & ~hits["own_record"] & ~hits["user"].isin(strong)]
    for name, doctype, ops in grouped(sensitive):
        if (name, doctype) in escalated:
            continue
        yield finding("sensitive-access", name, doctype, options, doctype=doctype,
                      op=ops_text(ops),
                      detail=f"{name} may {ops_text(ops)} {doctype} (security-relevant)",
                      evidence=cells_of(name, doctype, ops),
                      recommendation=f"confirm {name} needs {ops_text(ops)} on {doctype}; "
                                     "else remove it from its roles")
    website = {u.name for u in results.users if u.user_type == "Website User"}
    desk = hits[hits["user"].isin(website) & ~hits["own_record"]]
    for name in sorted(set(desk["user"].astype(str))):
        mine = desk[desk["user"] == name]
        evidence = sorted((mine["user"].astype(str) + "|" + mine["doctype"].astype(str) + "|"
                           + mine["op"].astype(str)).tolist())
        doctypes = sorted(set(mine["doctype"].astype(str)))
        yield finding("website-user-data", name, "", options,
                      detail=f"{name} is a Website User and reaches {len(evidence)} desk "
                             f"cell(s) on {', '.join(doctypes[:8])}"
                             + (" …" if len(doctypes) > 8 else ""),
                      evidence=evidence,
                      recommendation=f"remove the API key of {name} if it only needs the "
                                     "portal; else remove the rules that give its roles (or "
                                     "All / Guest) these rights")
