"""List rows in a shape Frappe never sends (a proxy, a hook, a customised list view): a row
without a usable name or docstatus is no target, and the run goes on."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.crawl.discovery import parse_meta, target_from_row
from audit.crawl.inventory import TargetDoc
from audit.render.formats import Format
from audit.status import ExitCode
from tests.helpers_http import RewritingSim, document_list

from .conftest import demo_config, run


@pytest.mark.parametrize(("row", "expected"), [
    ({"name": "N-1", "owner": "a@x", "docstatus": 1}, TargetDoc("N-1", "a@x", 1)),
    ({"name": 42}, TargetDoc("42")),  # an autoincrement name is an int
    ({"name": "N-2", "docstatus": None, "owner": None}, TargetDoc("N-2")),
    ({"name": "N-3", "owner": ["x"]}, TargetDoc("N-3")),
    ({"name": "N-4", "docstatus": 2, "company": 7}, TargetDoc("N-4", docstatus=2,
                                                             links=(("company", "7"),))),
    ({"name": "N-5", "docstatus": [1]}, None),
    ({"name": "N-6", "docstatus": "1"}, None),
    ({"name": "N-7", "docstatus": 5}, None),
    ({"name": "N-8", "docstatus": True}, None),
    ({"name": ""}, None),
    ({"name": None}, None),
    ({"name": ["N-9"]}, None),
    ({"name": True}, None),
    ({}, None),
])
def test_a_list_row_is_a_target_only_when_well_formed(row: dict[str, Any],
                                                      expected: TargetDoc | None) -> None:
    assert target_from_row(row, ["company"]) == expected


def odd_rows(environ: dict[str, Any], status: int, data: Any) -> Any:
    """Every third row of every document list: docstatus a list, owner a dict, or no name."""
    listed = document_list(environ, status, data)
    if listed is None or environ["PATH_INFO"].endswith("/DocType"):
        return None
    odd = ({"docstatus": [1]}, {"owner": {"a": 1}}, {"name": None})
    for i, row in enumerate(listed):
        if isinstance(row, dict) and i % 3 == 0:
            row.update(odd[(i // 3) % 3])
    return data


@pytest.mark.slow
def test_a_crawl_of_lists_with_malformed_rows_completes(tmp_path: Path) -> None:
    with RewritingSim(odd_rows) as sim:
        result = run(demo_config(sim), tmp_path / "out")
    assert sim.rewriter.touched > 0
    assert result.code in (ExitCode.OK, ExitCode.FINDINGS)
    assert (tmp_path / "out" / "probes.csv").exists()
    assert {r["outcome"] for r in result.rows} >= {"allowed", "denied"}


ODD_VALUES = (None, 7, -1, ["x"], {"a": 1}, "1", True, 1.5e308, "", "\ud800", [], {})


def _mangler(seed: int, rate: float) -> Callable[[dict[str, Any], int, Any], Any]:
    """Replaces values anywhere in every JSON reply (the DocType list aside: without it the
    run ends at once, rightly, on a config that names DocTypes the site lacks)."""
    rng = random.Random(seed)

    def mangle(data: Any) -> Any:
        if isinstance(data, dict):
            return {k: rng.choice(ODD_VALUES) if rng.random() < rate else mangle(v)
                    for k, v in data.items()}
        if isinstance(data, list):
            return [rng.choice(ODD_VALUES) if rng.random() < rate / 3 else mangle(x)
                    for x in data]
        return data

    def rewrite(environ: dict[str, Any], _status: int, data: Any) -> Any:
        return None if environ.get("PATH_INFO", "").endswith("/DocType") else mangle(data)
    return rewrite


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "rate"), [(1, 0.05), (3, 0.05), (8, 0.12), (21, 0.1)])
def test_replies_of_any_shape_never_crash_a_run(seed: int, rate: float, tmp_path: Path) -> None:
    """Values of the wrong type anywhere (metas, rules, lists, logins, errors): the run
    ends as a run ends, with every file written. Its verdicts are only as good as what the
    site said, so none is compared here."""
    with RewritingSim(_mangler(seed, rate)) as sim:
        result = run(demo_config(sim), tmp_path / "out", formats=tuple(Format))
    assert sim.rewriter.touched > 100
    assert result.code in (ExitCode.OK, ExitCode.FINDINGS)
    for name in ("results.json", "probes.csv", "matrix.csv", "findings.csv", "report.html",
                 "findings.ocsf.json"):
        (tmp_path / "out" / name).read_bytes().decode("utf-8")


META = {"docs": [{"name": "Note", "module": "Desk", "fields": [
    {"fieldname": "title", "fieldtype": "Data", "permlevel": 0},
    {"fieldname": "secret", "fieldtype": "Data", "permlevel": 1}],
    "permissions": [{"role": "System Manager", "permlevel": 0, "read": 1, "write": 1}]}]}


def test_a_well_formed_meta_is_read() -> None:
    info, rules = parse_meta(META)
    assert info is not None and [f.permlevel for f in info.fields] == [0, 1]
    assert [(r.role, r.permlevel, sorted(r.rights)) for r in rules] == [
        ("System Manager", 0, ["read", "write"])]


@pytest.mark.parametrize("damage", [
    ("fields", 0, "permlevel", ["1"]), ("fields", 1, "permlevel", "\ud800"),
    ("fields", 0, "permlevel", True), ("fields", 0, "permlevel", -1),
    ("permissions", 0, "permlevel", {"a": 1}), ("permissions", 0, "role", 7),
    ("permissions", 0, "role", ""),
])
def test_a_meta_with_one_odd_value_is_unreadable_not_partly_read(
        damage: tuple[str, int, str, Any]) -> None:
    meta = copy.deepcopy(META)
    table, index, key, value = damage
    meta["docs"][0][table][index][key] = value
    assert parse_meta(meta) == (None, ())


@pytest.mark.parametrize("value", [True, 7, "", None])
def test_a_meta_whose_tables_are_no_lists_is_unreadable(value: Any) -> None:
    meta = copy.deepcopy(META)
    meta["docs"][0]["fields"] = value
    info, _rules = parse_meta(meta)
    assert info is None or info.fields == ()
