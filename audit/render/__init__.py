"""Reports: html (Jinja2 + templates/), csv, json, ocsf, terminal. Data in, files/text out."""

from __future__ import annotations

from audit.render.formats import DEFAULT_FORMATS, Format, Rendered, parse_formats, render_all

__all__ = ["DEFAULT_FORMATS", "Format", "Rendered", "parse_formats", "render_all"]
