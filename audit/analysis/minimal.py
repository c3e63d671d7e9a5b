"""The minimal role set per user: the fewest of the site's existing roles covering need ∪ use.

Greedy set cover (the exact problem is NP-hard; greedy is within ln(n) of the optimum and
says so in the output): repeatedly take the role that covers the most cells still
uncovered, ties to the role granting the fewest cells overall, then by name. Cells that
Frappe's automatic roles (All, Guest, Desk User) or the user's shares already give need
no role. The result names the cells the user holds today that the set would remove.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from audit.analysis.catalogue import AUTOMATIC_ROLES
from audit.analysis.matrix import MUTATING, OPS, allowed, rule_rows
from audit.analysis.need import need_frame, use_frame
from audit.model import Operation
from audit.results.record import RunResults

METHOD = "greedy set cover"
Cell = tuple[str, str]  # (doctype, op)


@dataclass(frozen=True)
class RoleSet:
    roles: tuple[str, ...]
    removes: tuple[str, ...]  # cells "user|doctype|op" the set would no longer grant
    uncovered: tuple[str, ...]  # needed cells no existing role grants


def role_cover(results: RunResults) -> dict[str, set[Cell]]:
    rules = rule_rows(results)
    rules = rules[(rules["permlevel"] == 0) & rules["op"].isin(OPS)]
    cover: dict[str, set[Cell]] = {}
    for role, doctype, op in zip(rules["role"], rules["doctype"], rules["op"], strict=True):
        cover.setdefault(str(role), set()).add((str(doctype), str(op)))
    for cells in cover.values():  # cancel needs write in Frappe
        cells -= {(d, o) for d, o in list(cells) if o == "cancel" and (d, "write") not in cells}
    return cover


def greedy(universe: set[Cell], cover: dict[str, set[Cell]]) -> tuple[list[str], set[Cell]]:
    left, chosen = set(universe), []
    while left:
        best = min(cover, key=lambda r: (-len(cover[r] & left), len(cover[r]), r), default=None)
        if best is None or not cover[best] & left:
            break
        chosen.append(best)
        left -= cover[best]
    return sorted(chosen), left


def minimal_roles(results: RunResults, frame: pd.DataFrame) -> dict[str, RoleSet]:
    if results.rules is None:
        return {}
    cover = role_cover(results)
    candidates = {r: c for r, c in cover.items() if r not in AUTOMATIC_ROLES | {"Administrator"}}
    need, use = need_frame(results), use_frame(results)
    use = use[use["op"].isin(MUTATING)]
    hits = allowed(frame)
    hits = hits[~hits["own_record"]]
    held_by: dict[str, list[Cell]] = {}
    for name, doctype, op in zip(*(hits[c].tolist() for c in ("user", "doctype", "op")),
                                 strict=True):
        held_by.setdefault(name, []).append((doctype, op))
    need_by: dict[str, set[Cell]] = {}
    for frame_ in (need, use):
        for name, doctype, op in zip(*(frame_[c].tolist() for c in ("user", "doctype", "op")),
                                     strict=True):
            need_by.setdefault(name, set()).add((doctype, op))
    out: dict[str, RoleSet] = {}
    for user in results.users:
        if not user.authenticated or (user.expect is None and results.usage is None):
            continue
        facts = results.facts(user.name)
        auto = {"All", "Guest"} | ({"Desk User"} if user.user_type == "System User" else set())
        free: set[Cell] = set().union(*(cover.get(r, set()) for r in auto))
        shares = facts.shares if facts is not None else ()
        free |= {(s.doctype, op) for s in shares for op in ("read", "write", "submit")
                 if s.grants(Operation(op))}
        universe = need_by.get(user.name, set())
        roles, left = greedy(universe - free, candidates)
        granted = free.union(*(cover[r] for r in roles))
        removes = sorted(f"{user.name}|{d}|{o}" for d, o in held_by.get(user.name, ())
                         if (d, o) not in granted)
        out[user.name] = RoleSet(tuple(roles), tuple(removes),
                                 tuple(sorted(f"{user.name}|{d}|{o}" for d, o in left)))
    return out
