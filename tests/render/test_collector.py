"""No cyclic collection walks a run's rows while its reports are made.

With a million probe rows alive, each full collection takes most of a second (0.75 s at
1,000,000 rows, measured by ``make bench``): every writer and the page run with the
collector paused, and leave it as they found it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from audit.render.csv import write_findings_csv, write_matrix_csv
from audit.render.html import render_html, write_html
from audit.render.ocsf import write_ocsf
from audit.render.terminal import render_terminal
from audit.results.files import write_probes_csv
from audit.results.record import RunResults
from tests.render import fixtures


@pytest.fixture
def collections() -> Iterator[list[int]]:
    started: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(info["generation"])
    gc.callbacks.append(seen)
    try:
        yield started
    finally:
        gc.callbacks.remove(seen)


WRITERS: dict[str, Callable[[RunResults, Path], object]] = {
    "report.html": write_html,
    "page": lambda r, _: render_html(r),
    "findings.ocsf.json": write_ocsf,
    "probes.csv": lambda r, out: write_probes_csv(out / "probes.csv", r.probes),
    "matrix.csv": lambda r, out: write_matrix_csv(out / "matrix.csv", r),
    "findings.csv": lambda r, out: write_findings_csv(out / "findings.csv", r),
    "results.json": lambda r, out: r.write(out / "results.json"),
    "terminal": lambda r, _: render_terminal(r),
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_no_collection_while_a_report_is_made(name: str, tmp_path: Path,
                                              collections: list[int]) -> None:
    results = fixtures.hostile()  # thousands of objects made per page: collections are due
    gc.collect()
    threshold = gc.get_threshold()
    gc.set_threshold(1)  # any tracked allocation would start one
    try:
        WRITERS[name](results, tmp_path)
    finally:
        gc.set_threshold(*threshold)
    # a writer that pauses the collector sees a few, as it enters and leaves the pause;
    # one that does not sees one per object it makes (over 30,000 for this page)
    assert len(collections) < 50, f"{name}: {len(collections)} collections while writing"
    assert gc.isenabled()  # as it was found
