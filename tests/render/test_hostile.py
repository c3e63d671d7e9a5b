"""A hostile site: names full of markup, formulas, control characters and 10,000-character
strings. No script runs in the report (checked in Chromium), and every CSV cell is inert."""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.render import Format, render_all
from audit.render import html as html_module
from audit.results.record import RunResults
from tests.render import fixtures

Opener = Callable[[Path], Any]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# what a page that ran hostile markup would show: elements the report never makes itself
INJECTED = "img, svg, iframe, details, script:not(#matrix-data):not(#report-script)"


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResults, Path]:
    results = fixtures.hostile()
    out = tmp_path_factory.mktemp("hostile")
    render_all(results, out, list(Format))
    return results, out


def _probe_page(page: Any) -> dict[str, Any]:
    return dict(page.page.evaluate(f"""() => ({{
        injected: document.querySelectorAll({INJECTED!r}).length,
        scripts: document.scripts.length,
        handlers: [...document.querySelectorAll('*')].filter(
            el => [...el.attributes].some(a => a.name.startsWith('on'))).length,
        pwned: window.pwned === 1,
    }})"""))


@pytest.mark.browser
def test_no_hostile_script_runs(hostile_dir: tuple[RunResults, Path], open_page: Opener) -> None:
    results, out = hostile_dir
    page = open_page(out / "report.html")
    found = _probe_page(page)
    assert page.dialogs == [], page.dialogs
    assert page.errors == []
    assert [m for m in page.console if m[0] == "error"] == []  # not even a blocked attempt
    assert found == {"injected": 0, "scripts": 2, "handlers": 0, "pwned": False}
    assert all(url.startswith("file://") for url in page.requests), page.requests
    # the names are there, as text
    text = page.page.inner_text("body")
    assert "<img src=x onerror=alert(1)>" in text
    assert '"><script>alert(2)</script>' in text
    assert fixtures.HOSTILE_TARGET in text  # a document name, in the 403 section
    assert page.page.locator("#heat td.cell").count() == len(
        {(p.user, p.doctype) for p in results.probes})


@pytest.mark.browser
def test_detector_sees_markup_when_escaping_is_off(tmp_path: Path, open_page: Opener,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: with autoescape switched off the same record injects."""
    real = html_module.environment

    def unescaped() -> Any:
        env = real()
        env.autoescape = False
        return env

    monkeypatch.setattr(html_module, "environment", unescaped)
    page = open_page(html_module.write_html(fixtures.hostile(), tmp_path))
    assert _probe_page(page)["injected"] > 0


@pytest.mark.browser
def test_csp_blocks_an_inline_script_that_got_through(tmp_path: Path, open_page: Opener) -> None:
    """The second wall: a script tag that escaped escaping still does not run."""
    page_html = html_module.render_html(fixtures.plain())
    injected = page_html.replace("<main>", "<main><script>window.pwned = 1; alert(9)</script>"
                                 "<img src=x onerror=\"window.pwned = 1\">", 1)
    path = tmp_path / "report.html"
    path.write_text(injected, encoding="utf-8")
    page = open_page(path)
    assert page.page.evaluate("window.pwned === 1") is False
    assert page.dialogs == []
    assert page.page.evaluate("document.body.dataset.ready") == "1"  # the page's own script ran


def test_csp_is_strict() -> None:
    page_html = html_module.render_html(fixtures.plain())
    match = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page_html)
    assert match is not None
    policy = html.unescape(match.group(1))
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", policy)
    assert "http" not in policy  # no source may be fetched from anywhere
    assert " style=" not in page_html  # inline style attributes would be blocked


def test_page_text_has_no_control_characters(hostile_dir: tuple[RunResults, Path]) -> None:
    page_html = (hostile_dir[1] / "report.html").read_text("utf-8")
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", page_html)
    assert "ctlred" in page_html  # the name is there without them


@pytest.mark.parametrize("name", ["probes.csv", "matrix.csv", "findings.csv"])
def test_csv_cells_are_neutralised(hostile_dir: tuple[RunResults, Path], name: str) -> None:
    with (hostile_dir[1] / name).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) > 1
    cells = [c for row in rows[1:] for c in row]
    assert not [c for c in cells if c.startswith(TRIGGERS)]
    assert any(c.startswith("'=HYPERLINK(") for c in cells)  # neutralised, not dropped
    if name != "findings.csv":
        assert any(c.startswith("'\t") for c in cells)  # a tab start neutralised
        assert any(c.startswith("'\r") for c in cells)  # a CR start kept, and neutralised
