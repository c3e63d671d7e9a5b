"""Output formats: enum members that build their renderer; ``render_all`` runs the chosen ones.

``results.json`` and ``probes.csv`` are written whatever formats are chosen (DESIGN.md);
the terminal format writes no file, it returns the text the CLI prints on stdout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from audit.results.files import private_dir, write_probes_csv
from audit.results.record import RunResults

DEFAULT_FORMATS = "html,csv,terminal"
# what the formats write beside results.json and probes.csv (a replaced run drops them too)
REPORT_FILES = ("report.html", "matrix.csv", "findings.csv", "findings.ocsf.json")


@dataclass(frozen=True)
class Rendered:
    files: tuple[Path, ...] = ()
    text: str = ""  # for stdout (terminal format only)


@dataclass(frozen=True)
class Renderer:
    """One format's writer: ``render(results, outdir)`` -> what it wrote or printed."""

    name: str
    run: Callable[[RunResults, Path, bool], Rendered]

    def render(self, results: RunResults, outdir: Path, color: bool = False) -> Rendered:
        return self.run(results, outdir, color)


def _html(results: RunResults, outdir: Path, color: bool) -> Rendered:
    from audit.render.html import write_html

    return Rendered(files=(write_html(results, outdir),))


def _csv(results: RunResults, outdir: Path, color: bool) -> Rendered:
    from audit.render.csv import write_analysis_csv

    return Rendered(files=write_analysis_csv(results, outdir))


def _json(results: RunResults, outdir: Path, color: bool) -> Rendered:
    path = outdir / "results.json"
    results.write(path)
    return Rendered(files=(path,))


def _ocsf(results: RunResults, outdir: Path, color: bool) -> Rendered:
    from audit.render.ocsf import write_ocsf

    return Rendered(files=(write_ocsf(results, outdir),))


def _terminal(results: RunResults, outdir: Path, color: bool) -> Rendered:
    from audit.render.terminal import render_terminal

    return Rendered(text=render_terminal(results, color=color))


class Format(StrEnum):
    HTML = "html"
    CSV = "csv"
    JSON = "json"
    OCSF = "ocsf"
    TERMINAL = "terminal"

    def renderer(self) -> Renderer:
        build = {Format.HTML: _html, Format.CSV: _csv, Format.JSON: _json,
                 Format.OCSF: _ocsf, Format.TERMINAL: _terminal}[self]
        return Renderer(name=self.value, run=build)


class FormatError(ValueError):
    """A --format value that names no format (one plain sentence)."""


def parse_formats(value: str) -> tuple[Format, ...]:
    """'html,csv' -> (Format.HTML, Format.CSV); 'all' -> every format."""
    words = [w.strip().lower() for w in value.split(",") if w.strip()]
    if words == ["all"]:
        return tuple(Format)
    out: list[Format] = []
    for word in words:
        try:
            fmt = Format(word)
        except ValueError:
            known = ", ".join(f.value for f in Format)
            raise FormatError(f"--format: unknown format {word!r} (choose from {known})") from None
        if fmt not in out:
            out.append(fmt)
    if not out:
        raise FormatError("--format: give at least one format")
    return tuple(out)


def render_all(results: RunResults, outdir: Path, formats: Iterable[Format],
               color: bool = False, record_written: bool = False) -> Rendered:
    """Write every chosen format to ``outdir``; results.json and probes.csv always, unless
    ``record_written`` says the caller wrote them already (then json rewrites only if chosen;
    probes.csv holds the crawl's rows, which no analysis changes, and is written once)."""
    private_dir(outdir)
    chosen = list(dict.fromkeys(formats))
    files: list[Path] = []
    texts: list[str] = []
    if record_written:  # the caller wrote results.json and probes.csv of this record
        files += [p for p in (outdir / "results.json", outdir / "probes.csv")
                  if p.exists() and not (p.name == "results.json" and Format.JSON in chosen)]
    else:
        if Format.JSON not in chosen:
            chosen.insert(0, Format.JSON)
        write_probes_csv(outdir / "probes.csv", results.probes)
        files.append(outdir / "probes.csv")
    for fmt in chosen:
        out = fmt.renderer().render(results, outdir, color)
        files += [p for p in out.files if p not in files]
        if out.text:
            texts.append(out.text)
    return Rendered(files=tuple(files), text="\n".join(texts))
