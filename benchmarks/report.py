"""report.html at scale: its size and how fast headless Chromium makes it interactive.

``bench_report()`` builds a synthetic record of 50 users x 1,000 DocTypes (300,000 probe
rows, findings with evidence), renders report.html, opens it in Debian's chromium and
reports the file size, the render time, and, measured by the page itself from the start of
navigation: ``interactive_s`` (first screen of the heatmap drawn, filters and links live:
the page draws the rest in small steps) and ``complete_s`` (every cell drawn). Targets: under
5 MB and interactive in under 2 s. Nothing here asserts a speed.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from audit.crawl.inventory import DocTypeInfo, Inventory
from audit.model import Finding, Operation, Outcome, ProbeMethod, ProbeResult, Severity
from audit.results.record import RunInfo, RunResults, UserRecord

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
_NEXT_FRAME = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
MODULES = ("Accounts", "Selling", "Buying", "Stock", "HR", "Core", "Setup", "CRM")


def synthetic_results(n_users: int = 50, n_doctypes: int = 1000) -> RunResults:
    doctypes = {f"DocType {d:04d}": DocTypeInfo(
        name=f"DocType {d:04d}", module=MODULES[d % len(MODULES)], istable=d % 9 == 0,
        is_submittable=d % 4 == 0) for d in range(n_doctypes)}
    users = tuple(UserRecord(name=f"user-{u:02d}", auth="token", frappe_user=f"u{u}@example.com",
                             roles=("Sales User", "Accounts User")[: 1 + u % 2],
                             user_type="System User", enabled=True, has_api_key=True)
                  for u in range(n_users))
    probes = []
    for u, user in enumerate(users):
        for d, info in enumerate(doctypes.values()):
            for op in Operation:
                if not info.applicable(op):
                    outcome = Outcome.NOT_APPLICABLE
                elif (u * 7 + d * 3 + len(op.value)) % 5 == 0:
                    outcome = Outcome.ALLOWED
                else:
                    outcome = Outcome.DENIED
                probes.append(ProbeResult(
                    user=user.name, doctype=info.name, op=op, outcome=outcome,
                    method=ProbeMethod.REST, http_status=403 if outcome is Outcome.DENIED
                    else None, exc_type="PermissionError" if outcome is Outcome.DENIED else "",
                    message=f"No permission for {info.name}"
                    if outcome is Outcome.DENIED else ""))
    findings = []
    for user in users:
        allowed = [p for p in probes if p.user == user.name and p.outcome is Outcome.ALLOWED]
        for k, rule in enumerate(("beyond-need", "sensitive-access", "unused-grant")):
            cells = allowed[k::3][:60]
            findings.append(Finding(
                id=f"{rule}:{user.name}", severity=(Severity.MEDIUM, Severity.MEDIUM,
                                                    Severity.LOW)[k], rule=rule, user=user.name,
                detail=f"{len(cells)} cells", recommendation="remove the role",
                evidence=tuple(f"{p.user}|{p.doctype}|{p.op.value}" for p in cells)))
    run = RunInfo(site="https://erp.example.com", host=None, mode="safe",
                  started="2026-12-01T10:00:00Z", finished="2026-12-01T11:00:00Z",
                  complete=True, discovery="auditor", tool_version="bench")
    return RunResults(run=run, users=users, inventory=Inventory(source="auditor",
                                                                doctypes=doctypes),
                      probes=tuple(probes), findings=tuple(findings))


def _load(path: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            started = time.perf_counter()
            page.goto(path.resolve().as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            wall = time.perf_counter() - started
            interactive_ms = float(page.evaluate("document.body.dataset.interactiveMs"))
            ready_ms = float(page.evaluate("document.body.dataset.readyMs"))
            cells = int(page.evaluate("document.querySelectorAll('#heat td.cell').length"))
            started = time.perf_counter()
            page.select_option("#f-user", "3")
            page.evaluate(_NEXT_FRAME)
            filter_s = time.perf_counter() - started
            return {"interactive_s": round(interactive_ms / 1000, 3),
                    "complete_s": round(ready_ms / 1000, 3), "wall_to_complete_s": round(wall, 3),
                    "filter_s": round(filter_s, 3), "cells": cells, "page_errors": errors}
        finally:
            browser.close()


def bench_report(n_users: int = 50, n_doctypes: int = 1000) -> dict[str, Any]:
    from audit.render.html import write_html

    results = synthetic_results(n_users, n_doctypes)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        path = write_html(results, Path(tmp))
        render_s = time.perf_counter() - started
        figures = {"users": n_users, "doctypes": n_doctypes, "probes": len(results.probes),
                   "findings": len(results.findings),
                   "size_mb": round(path.stat().st_size / 1e6, 2),
                   "render_s": round(render_s, 2)}
        figures.update(_load(path))
    figures["load_average"] = round(os.getloadavg()[0], 2)
    figures["targets_met"] = figures["size_mb"] < 5 and figures["interactive_s"] < 2
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(bench_report(), indent=1))
