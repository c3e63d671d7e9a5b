"""List rows in a shape Frappe never sends (a proxy, a hook, a customised list view): a row
without a usable name or docstatus is no target, and the run goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit.crawl.discovery import target_from_row
from audit.crawl.inventory import TargetDoc
from audit.sim.server import SimServer
from audit.status import ExitCode
from tests.helpers_http import JsonRewrite

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
    path = environ.get("PATH_INFO", "")
    listed = data.get("data") if isinstance(data, dict) else None
    if status != 200 or environ["REQUEST_METHOD"] != "GET" or not path.startswith(
            "/api/resource/") or path.count("/") != 3 or path.endswith("/DocType") \
            or not isinstance(listed, list):
        return None
    odd = ({"docstatus": [1]}, {"owner": {"a": 1}}, {"name": None})
    for i, row in enumerate(listed):
        if isinstance(row, dict) and i % 3 == 0:
            row.update(odd[(i // 3) % 3])
    return data


class OddSim(SimServer):
    def __init__(self) -> None:
        super().__init__(fixture="demo", port=0)
        self.odd = JsonRewrite(self.app, odd_rows)
        self.app = self.odd  # type: ignore[assignment]


@pytest.mark.slow
def test_a_crawl_of_lists_with_malformed_rows_completes(tmp_path: Path) -> None:
    with OddSim() as sim:
        result = run(demo_config(sim), tmp_path / "out")
    assert sim.odd.touched > 0
    assert result.code in (ExitCode.OK, ExitCode.FINDINGS)
    assert (tmp_path / "out" / "probes.csv").exists()
    assert {r["outcome"] for r in result.rows} >= {"allowed", "denied"}
