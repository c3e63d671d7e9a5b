"""report.html: one self-contained page from the Jinja2 templates shipped in ``audit.templates``.

Safe to open although its data comes from a site that may be hostile: autoescape is on
for every template (the findings' articles, tens of thousands on a large run, are built
here with the same clean-then-escape of every text), control characters are made
visible, the heatmap's data travels as a JSON data block (``tojson`` escapes ``<``,
``>``, ``&`` and quotes), and a strict Content-Security-Policy allows no network at all
and only the page's own style and script, by their SHA-256 hashes (no
``unsafe-inline``, no ``unsafe-eval``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from audit import __version__
from audit.render.view import GLYPHS, OPS, Cell, ReportView, build_view, clean
from audit.results.files import gc_paused, private_bytes
from audit.results.record import RunResults
from audit.results.redact import REDACTOR

TEMPLATE = "report.html.j2"
_TO_ESCAPE = re.compile("[&<>'\"]")  # what markupsafe's escape replaces
REPORT_FILE = "report.html"


def _asset(name: str) -> str:
    return resources.files("audit.templates").joinpath(name).read_text(encoding="utf-8")


def _finalize(value: object) -> object:
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return clean(value)
    return value


def environment() -> Environment:
    env = Environment(loader=PackageLoader("audit.templates", "."), autoescape=True,
                      undefined=StrictUndefined, finalize=_finalize, trim_blocks=True,
                      lstrip_blocks=True)
    env.globals["yesno"] = _yesno
    return env


def _yesno(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(css: str, js: str) -> str:
    return ("default-src 'none'; img-src data:; "
            f"style-src {_sha256(css)}; script-src {_sha256(js)}; "
            "base-uri 'none'; form-action 'none'")


def escaper(view: ReportView) -> Callable[[str], str]:
    """What ``{{ text }}`` writes for a text (cleaned, then escaped), once per distinct text."""
    done: dict[str, str] = {}
    cl = view.clean

    def e(text: str) -> str:
        out = done.get(text)
        if out is None:
            out = cl(text)
            if _TO_ESCAPE.search(out) is not None:
                out = str(escape(out))
            done[text] = out
        return out
    return e


def findings_html(view: ReportView, e: Callable[[str], str]) -> Markup:
    """The findings' articles, as the template would write them (each text cleaned, then
    escaped, like every ``{{ value }}`` of the page), without a template call per value:
    a run of 1,000,000 cells has some 50,000 findings."""
    links: dict[str, str] = {}

    def link(cell: Cell) -> str:
        out = links.get(cell.key)
        if out is None:
            out = links[cell.key] = (f'<li><a class="ev" href="#{e(cell.anchor)}">'
                                     f"{e(cell.label)}</a></li>")
        return out

    parts: list[str] = []
    add = parts.append
    for i, fv in enumerate(view.findings, 1):
        f = fv.finding
        sev = e(f.severity.value)
        add(f'<article class="finding sev-{sev}" id="finding-{i}">\n'
            f'<h3><span class="sev sev-{sev}">{sev}</span> <code>{e(f.rule)}</code>')
        if f.user:
            add(f' · <span class="clip">{e(f.user)}</span>')
        if f.doctype:
            add(f' · <span class="clip">{e(f.doctype)}</span>')
        if f.op:
            add(f" · {e(f.op)}")
        add(f"</h3>\n<p>{e(f.detail)}</p>\n")
        if fv.why:
            add(f"<p><b>Why it matters:</b> {e(fv.why)}</p>")
        if f.recommendation:
            add(f"<p><b>Fix:</b> {e(f.recommendation)}</p>")
        if fv.cells or fv.other_evidence:
            add('<b>Evidence</b>\n<ul class="evidence">')
            parts.extend(map(link, fv.cells))
            parts.extend(f"<li>{e(item)}</li>" for item in fv.other_evidence)
            add("</ul>\n")
            if fv.more:
                add(f'<p class="muted">… and {fv.more} more (findings.csv lists them all).</p>')
        add(f'<p class="muted">id {e(f.id)}</p>\n</article>\n')
    return Markup("".join(parts))


def sheet_findings_html(view: ReportView, e: Callable[[str], str]) -> list[Markup]:
    """Each sheet's list of its user's findings (the items of its ``<ul>``)."""
    return [Markup("".join(f'<li><span class="sev sev-{e(f.severity.value)}">'
                           f"{e(f.severity.value)}</span> {e(f.rule)}: {e(f.detail)}</li>"
                           for f in sheet.findings)) for sheet in view.sheets]


def render_html(results: RunResults) -> str:
    with gc_paused():  # a million rows alive: each automatic collection walks them all
        return _render(results)


def _render(results: RunResults) -> str:
    css, js = _asset("report.css"), _asset("report.js")
    view = build_view(results)
    e = escaper(view)
    template = environment().get_template(TEMPLATE)
    return template.render(
        v=view, run=results.run, version=__version__, ops=[op.value for op in OPS],
        glyphs=GLYPHS, matrix=view.matrix, analysed=bool(results.analysis),
        findings=findings_html(view, e), sheet_findings=sheet_findings_html(view, e),
        css=Markup(css), js=Markup(js), csp=content_security_policy(css, js))


def write_html(results: RunResults, outdir: Path) -> Path:
    path = outdir / REPORT_FILE
    with gc_paused():
        page = REDACTOR.text(render_html(results))  # as one text: nothing split can hide
        with private_bytes(path) as fh:
            fh.write(page.encode("utf-8"))
    return path
