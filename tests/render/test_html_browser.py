"""report.html in real headless Chromium: it loads clean, draws the whole matrix, filters,
and a finding's evidence link brings its cell into view."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.model import Outcome
from audit.render.html import write_html
from audit.results.record import RunResults
from tests.render import fixtures

pytestmark = pytest.mark.browser
Opener = Callable[[Path], Any]
OPS = ("read", "write", "create", "delete", "submit", "cancel")
GLYPH = {"allowed": "●", "denied": "○", "auth_failed": "×", "not_applicable": "·",
         "untestable": "?", "error": "!", "skipped": "–"}


def _pairs(results: RunResults) -> set[tuple[str, str]]:
    return {(p.user, p.doctype) for p in results.probes}


@pytest.fixture
def plain_report(tmp_path: Path) -> tuple[RunResults, Path]:
    results = fixtures.plain()
    return results, write_html(results, tmp_path)


def test_loads_without_console_errors_or_network(plain_report: tuple[RunResults, Path],
                                                 open_page: Opener) -> None:
    _, path = plain_report
    page = open_page(path)
    assert page.errors == []
    assert [m for m in page.console if m[0] in ("error", "warning")] == []
    assert all(url.startswith("file://") for url in page.requests), page.requests


def test_heatmap_has_one_cell_per_user_and_doctype(plain_report: tuple[RunResults, Path],
                                                   open_page: Opener) -> None:
    results, path = plain_report
    page = open_page(path)
    assert page.page.locator("#heat td.cell").count() == len(_pairs(results))
    assert page.visible_cells() == len(_pairs(results))
    # every cell spells its six outcomes, op by op, in the legend's glyphs
    users = [u.name for u in results.users]
    doctypes = sorted({p.doctype for p in results.probes})
    by_cell = {(p.user, p.doctype, p.op.value): p.outcome.value for p in results.probes}
    for user, doctype in [(users[0], doctypes[0]), (users[2], doctypes[3])]:
        expected = "".join(GLYPH[by_cell[(user, doctype, op)]] for op in OPS)
        text = page.page.inner_text(f"#c-{users.index(user)}-{doctypes.index(doctype)}")
        assert text == expected
    assert page.page.locator("#heat td.cell i.o-a").count() > 0  # allowed glyphs are coloured


def test_filters_hide_what_they_should(plain_report: tuple[RunResults, Path],
                                       open_page: Opener) -> None:
    results, path = plain_report
    page = open_page(path)
    p = page.page
    doctypes = sorted({r.doctype for r in results.probes})
    users = [u.name for u in results.users]
    p.select_option("#f-user", "1")  # bob only
    assert page.visible_cells() == len(doctypes)
    assert p.locator("#heat thead th.u:visible").all_inner_texts() == [users[1]]
    p.select_option("#f-user", "")
    p.check("#f-sensitive")
    # the catalogue's User, Role, Sales Invoice, and Customer because analysis called it so
    sensitive_rows = {"User", "Role", "Sales Invoice", "Customer"}
    visible_rows = p.locator("#heat tbody tr:visible th").all_inner_texts()
    assert set(visible_rows) == sensitive_rows and "ToDo" not in visible_rows
    p.uncheck("#f-sensitive")
    # outcome: only DocTypes where some user has an error cell stay
    p.select_option("#f-outcome", "e")
    with_error = {r.doctype for r in results.probes if r.outcome is Outcome.ERROR}
    assert set(p.locator("#heat tbody tr:visible th").all_inner_texts()) == with_error
    # module
    p.select_option("#f-outcome", "")
    p.select_option("#f-module", "Core")
    core = {d for d, info in results.doctypes.items() if info.module == "Core"}
    assert set(p.locator("#heat tbody tr:visible th").all_inner_texts()) == core
    # op: one glyph per cell left visible
    p.select_option("#f-module", "")
    p.select_option("#f-op", "0")
    assert len(p.inner_text("#c-0-0")) == 1
    assert page.visible_cells() == len(_pairs(results))
    p.click("#f-reset")
    assert page.visible_cells() == len(_pairs(results))


def test_evidence_link_scrolls_to_its_cell(plain_report: tuple[RunResults, Path],
                                           open_page: Opener) -> None:
    results, path = plain_report
    page = open_page(path)
    p = page.page
    finding = next(f for f in results.findings if "|" in f.evidence[-2])
    user, doctype, _ = finding.evidence[-2].split("|")
    users = [u.name for u in results.users]
    doctypes = sorted({r.doctype for r in results.probes})
    anchor = f"c-{users.index(user)}-{doctypes.index(doctype)}"
    # hide the cell with a filter first: following the link must still reach it
    p.select_option("#f-user", str((users.index(user) + 1) % len(users)))
    p.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    link = p.locator(f"a.ev[href='#{anchor}']").first
    link.click()
    cell = p.locator(f"#{anchor}")
    assert cell.is_visible()
    assert "target" in (cell.get_attribute("class") or "")
    box = cell.bounding_box()
    assert box is not None
    assert 0 <= box["y"] <= 900 and 0 <= box["x"] <= 1280
    assert p.evaluate("location.hash") == f"#{anchor}"
    assert user in p.inner_text("#cellinfo") and doctype in p.inner_text("#cellinfo")


def test_print_stylesheet_puts_sheets_on_new_pages(plain_report: tuple[RunResults, Path],
                                                   open_page: Opener) -> None:
    _, path = plain_report
    page = open_page(path)
    p = page.page
    p.emulate_media(media="print")
    assert p.evaluate("getComputedStyle(document.querySelector('.sheet')).breakBefore") == "page"
    assert p.evaluate("getComputedStyle(document.querySelector('#filters')).display") == "none"
    assert p.evaluate("getComputedStyle(document.querySelector('#heat thead th')).position") \
        == "static"
    assert len(p.pdf()) > 10_000


def test_a_large_matrix_is_drawn_in_steps_and_completely(tmp_path: Path,
                                                         open_page: Opener) -> None:
    doctypes = tuple(f"DocType {i:03d}" for i in range(400))
    results = fixtures.build(("alice", "bob"), doctypes, findings_per_user=1)
    page = open_page(write_html(results, tmp_path))
    p = page.page
    assert p.locator("#heat td.cell").count() == len(_pairs(results))
    assert p.inner_text("#f-shown") == "400 of 400 DocTypes shown"
    p.wait_for_function("document.body.dataset.interactiveMs !== undefined")
    assert float(p.evaluate("document.body.dataset.interactiveMs")) > 0
    # a filter applies to every row, also those drawn after the first screen
    p.fill("#f-text", "DocType 39")
    assert set(p.locator("#heat tbody tr:visible th").all_inner_texts()) == {
        f"DocType 39{i}" for i in range(10)}
    assert page.errors == []
