"""Screenshots of the demo report for the README, taken in Debian's headless chromium.

    python tests/tools/screenshot.py [OUTDIR_OF_A_RUN] [--out docs]

Without a run folder it audits the bundled demo site into a temporary folder first.
Writes docs/report-summary.png (the top of the page) and docs/report-heatmap.png (the
heatmap, filtered to the security-relevant DocTypes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def shoot(report: Path, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    summary, heatmap = out / "report-summary.png", out / "report-heatmap.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(report.resolve().as_uri())
            page.wait_for_selector("body[data-ready='1']")
            page.screenshot(path=str(summary))
            page.check("#f-sensitive")
            page.evaluate("document.getElementById('heatmap').scrollIntoView()")
            page.locator("#heat td.cell").first.click()
            page.screenshot(path=str(heatmap))
        finally:
            browser.close()
    return [summary, heatmap]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", type=Path, help="a run's OUTDIR holding report.html")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    if args.run is not None:
        paths = shoot(args.run / "report.html", args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "audit", "demo", "-o", tmp, "--quiet",
                            "--format", "html"], check=True, stdout=subprocess.DEVNULL)
            paths = shoot(Path(tmp) / "report.html", args.out)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
