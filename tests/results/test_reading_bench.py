"""The reading bench runs (at a small size): both ways read every row of the run back."""

from __future__ import annotations

from benchmarks.analysis import bench_reading


def test_the_reading_bench_reads_every_row_both_ways() -> None:
    figures = bench_reading(30_000)
    assert figures["rows"] > 25_000
    for way in ("line_by_line", "whole"):
        assert figures[way]["rows"] == figures["rows"]
        assert figures[way]["peak_rss_mib"] > 0 and figures[way]["seconds"] >= 0
