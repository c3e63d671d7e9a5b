"""report.html: one self-contained page from the Jinja2 templates shipped in ``audit.templates``.

Safe to open although its data comes from a site that may be hostile: autoescape is on
for every template, control characters are made visible, the heatmap's data travels as
a JSON data block (``tojson`` escapes ``<``, ``>``, ``&`` and quotes), and a strict
Content-Security-Policy allows no network at all and only the page's own style and
script, by their SHA-256 hashes (no ``unsafe-inline``, no ``unsafe-eval``).
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from audit import __version__
from audit.render.view import GLYPHS, OPS, build_view, clean
from audit.results.files import private_text
from audit.results.record import RunResults

TEMPLATE = "report.html.j2"
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


def render_html(results: RunResults) -> str:
    css, js = _asset("report.css"), _asset("report.js")
    view = build_view(results)
    template = environment().get_template(TEMPLATE)
    return template.render(
        v=view, run=results.run, version=__version__, ops=[op.value for op in OPS],
        glyphs=GLYPHS, matrix=view.matrix, analysed=bool(results.analysis),
        css=Markup(css), js=Markup(js), csp=content_security_policy(css, js))


def write_html(results: RunResults, outdir: Path) -> Path:
    path = outdir / REPORT_FILE
    page = render_html(results)
    with private_text(path) as fh:
        fh.write(page)
    return path
