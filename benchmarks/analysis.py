"""Analysis at scale: ~1,000,000 synthetic probe rows (50 users x 3,334 DocTypes x 6 ops).

``bench_analysis(rows)`` builds a synthetic ``RunResults`` in a fresh child process, then
times ``analyse`` and the writing of every output format (probes.csv, matrix.csv,
findings.csv, results.json, the terminal summary, report.html, findings.ocsf.json), each
once as a run writes them, and reports the wall and CPU seconds of each step and the
child's peak RSS. Building the rows is not timed. Nothing asserts a speed.

The rows are as distinct as a real crawl's: each has its own time (to the microsecond)
and latency, and every stale-write reply quotes the server's clock, so those texts are
not the few repeated ones a writer's memo would make cheap.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

USERS = 50
OPS_PER_DOCTYPE = 6


def synthetic_results(rows: int) -> Any:
    """A RunResults of about ``rows`` probe rows with rules, needs, usage, shares."""
    from audit.crawl.inventory import DocTypeInfo, Inventory, RuleRow, ShareRow, UserFacts
    from audit.model import Attempt, Operation, Outcome, ProbeMethod, ProbeResult
    from audit.results.record import RunInfo, RunResults, UserRecord

    n_doctypes = max(1, rows // (USERS * OPS_PER_DOCTYPE))
    names = [f"DocType {j:04d}" for j in range(n_doctypes)]
    names[:6] = ["Supplier", "Payment Entry", "Custom DocPerm", "User", "OAuth Bearer Token",
                 "Journal Entry"]
    doctypes = {n: DocTypeInfo(name=n, module=f"Module {j % 40}", is_submittable=j % 3 == 0)
                for j, n in enumerate(names)}
    roles = [f"Role {k}" for k in range(20)]
    rules = {n: (RuleRow(n, roles[j % 20], 0, False, frozenset({"read", "write", "create"})),
                 RuleRow(n, roles[(j + 7) % 20], 0, j % 4 == 0, frozenset({"read", "submit"})))
             for j, n in enumerate(names)}
    users, facts = [], {}
    probes: list[ProbeResult] = []
    ops = list(Operation)
    allowed, denied, na = Outcome.ALLOWED, Outcome.DENIED, Outcome.NOT_APPLICABLE
    replies = {allowed: (417, "TimestampMismatchError"), na: (None, ""),
               denied: (403, "Insufficient Permission for the document")}
    stale = ("Error: Document has been modified after you have opened it (2026-09-03 "
             "06:01:00.619147, {}). Please refresh to get the latest document.")
    start = datetime(2026, 12, 2, 10, tzinfo=UTC)
    grants = {(r.role, n, op) for n, rows_ in rules.items() for r in rows_ for op in r.rights}
    for i in range(USERS):
        name, email = f"user{i:02d}", f"user{i:02d}@example.com"
        mine = (roles[i % 20], roles[(i + 3) % 20])
        expect = {names[j]: ("read",) for j in range(i, i + 30)} if i % 2 else None
        users.append(UserRecord(name=name, auth="token", frappe_user=email, roles=mine,
                                user_type="Website User" if i == 7 else "System User",
                                enabled=i != 9, has_api_key=True, restrict_ip="",
                                expect=expect))
        facts[email] = UserFacts(frappe_user=email, roles=mine, user_type="System User",
                                 shares=(ShareRow(names[i], "D1", write=True),))
        for j, dt in enumerate(names):
            sub = doctypes[dt].is_submittable
            for k, op in enumerate(ops):
                if op in (Operation.SUBMIT, Operation.CANCEL) and not sub:
                    outcome = na
                else:  # what the rules say, and one cell in a hundred disagrees
                    ok = any((role, dt, op.value) in grants for role in mine)
                    outcome = allowed if ok != ((i * 7 + j * 3 + k) % 100 == 0) else denied
                status, message = replies[outcome]
                # as a real crawl's rows: each its own time (to the microsecond), latency,
                # and a stale-write reply quoting the server's clock
                n = len(probes)
                when = start + timedelta(microseconds=n * 7_919)
                if op is Operation.WRITE and outcome is allowed:
                    message = stale.format(when.strftime("%Y-%m-%d %H:%M:%S.%f"))
                target = f"{dt[:4].upper()}-{j:05d}"
                tried = () if outcome is na else (
                    Attempt(target=target, method=ProbeMethod.REST, http_status=status,
                            exc_type="PermissionError" if status == 403 else "",
                            message=message),)
                probes.append(ProbeResult(user=name, doctype=dt, op=op, outcome=outcome,
                                          method=ProbeMethod.REST, http_status=status,
                                          exc_type=tried[0].exc_type if tried else "",
                                          message=message, target=target,
                                          latency_ms=round(1.0 + (n * 37 % 4_000) / 10, 1),
                                          at=when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                          attempts=tried))
    usage = {f"user{i:02d}": {f"{names[j]}|write": 1 for j in range(i, i + 50)}
             for i in range(USERS)}
    inventory = Inventory(source="auditor", doctypes=doctypes, rules=rules, users=facts)
    info = RunInfo("https://erp.example", None, "safe", "s", "f", True, "auditor")
    return RunResults(run=info, users=tuple(users), inventory=inventory, probes=tuple(probes),
                      usage=usage, usage_days=90)


def _measure(conn: Connection, rows: int) -> None:
    """Child process: build (untimed), then analyse and write every format (timed)."""
    import gc
    import resource
    import time

    from audit.analysis import AnalysisOptions, analyse
    from audit.config.secrets import REGISTRY
    from audit.render.csv import write_findings_csv, write_matrix_csv
    from audit.render.html import write_html
    from audit.render.ocsf import write_ocsf
    from audit.render.terminal import render_terminal
    from audit.results.files import write_probes_csv
    from audit.results.redact import REDACTOR

    gc.disable()  # building a million frozen rows with the collector on takes minutes
    record = synthetic_results(rows)
    # as a run's record stands when the crawl ends: its rows in the collector's oldest
    # generation (they were made over hours), and the names of secret-bearing documents
    # learned (discovery learns the inventory's, each survey the ones it lists)
    gc.enable()
    gc.collect()
    REDACTOR.learn_inventory(record.inventory)
    REDACTOR.learn_probes(record.probes)
    for i in range(USERS):  # every user's API key and secret, as a run registers them
        REGISTRY.register(hashlib.sha256(f"key{i}".encode()).hexdigest()[:15])
        REGISTRY.register(hashlib.sha256(f"secret{i}".encode()).hexdigest()[:15])
    built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures: dict[str, Any] = {"rows": len(record.probes), "users": len(record.users),
                               "doctypes": len(record.doctypes), "rss_after_build_mib": built}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        steps = (
            ("analyse_s", lambda: analyse(record, AnalysisOptions())),
            ("probes_csv_s", lambda: write_probes_csv(out / "probes.csv", record.probes)),
            ("matrix_csv_s", lambda: write_matrix_csv(out / "matrix.csv", record)),
            ("findings_csv_s", lambda: write_findings_csv(out / "findings.csv", record)),
            ("results_json_s", lambda: record.write(out / "results.json")),
            ("terminal_s", lambda: render_terminal(record)),
            ("html_s", lambda: write_html(record, out)),
            ("ocsf_s", lambda: write_ocsf(record, out)),
        )
        total = cpu = 0.0
        for label, step in steps:
            start, start_cpu = time.perf_counter(), time.process_time()
            value = step()
            figures[label] = round(time.perf_counter() - start, 3)
            figures[label.replace("_s", "_cpu_s")] = round(time.process_time() - start_cpu, 3)
            total += figures[label]
            cpu += time.process_time() - start_cpu
            if label == "analyse_s":
                record = value
        figures["findings"] = len(record.findings)
        figures["total_s"] = round(total, 3)
        figures["total_cpu_s"] = round(cpu, 3)
        figures["load_average_1m"] = round(os.getloadavg()[0], 2)
        figures["file_mb"] = {p.name: round(p.stat().st_size / 1e6, 1)
                              for p in sorted(out.iterdir())}
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    conn.send(figures)


def bench_analysis(rows: int = 1_000_000) -> dict[str, Any]:
    """Seconds of each step and the peak RSS (MiB) of a child process doing them."""
    return _child(_measure, rows)


def _write_run(conn: Connection, rows: int, path: str) -> None:
    """Child process: the analysed synthetic run's results.json at ``path`` (untimed)."""
    import gc

    from audit.analysis import AnalysisOptions, analyse

    gc.disable()
    record = analyse(synthetic_results(rows), AnalysisOptions())
    record.write(Path(path))
    conn.send({"rows": len(record.probes), "file_mb": round(Path(path).stat().st_size / 1e6, 1)})


def _read_run(conn: Connection, path: str, whole: bool) -> None:
    """Child process: read results.json back as ``report`` / ``diff`` / ``--baseline`` do
    (``whole``: as a file in another layout is read, parsed whole), timed, with its peak RSS."""
    import resource
    import time

    from audit.results import reading
    from audit.results.files import gc_paused
    from audit.results.record import RunResults

    start, start_cpu = time.perf_counter(), time.process_time()
    if whole:
        with gc_paused():
            source = Path(path)
            record = RunResults.from_json(reading.parse_whole(source.read_bytes(), path), path)
    else:
        record = RunResults.load(Path(path))
    conn.send({"rows": len(record.probes), "seconds": round(time.perf_counter() - start, 2),
               "cpu_s": round(time.process_time() - start_cpu, 2),
               "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)})


def _child(target: Any, *args: Any) -> dict[str, Any]:
    """What ``target(conn, *args)`` sends back from a fresh (spawned) process."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child, *args))
    proc.start()
    child.close()  # the child's end: when it dies, recv() ends instead of waiting forever
    try:
        figures: dict[str, Any] = parent.recv()
    except EOFError:
        proc.join()
        raise RuntimeError(f"the benchmark process died (exit code {proc.exitcode})") from None
    proc.join()
    return figures


def bench_reading(rows: int = 1_000_000) -> dict[str, Any]:
    """Reading an analysed run of ``rows`` probe rows back, each way in a fresh process:
    line by line (the writer's layout) and parsed whole (any other layout)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "results.json")
        figures = _child(_write_run, rows, path)
        figures["line_by_line"] = _child(_read_run, path, False)
        figures["whole"] = _child(_read_run, path, True)
    line, whole = figures["line_by_line"], figures["whole"]
    figures["seconds_ratio"] = round(whole["seconds"] / max(line["seconds"], 1e-9), 2)
    figures["rss_ratio"] = round(whole["peak_rss_mib"] / max(line["peak_rss_mib"], 1), 2)
    return figures


if __name__ == "__main__":  # python -m benchmarks.analysis [reading] [ROWS]
    args = sys.argv[1:]
    bench = bench_reading if args[:1] == ["reading"] else bench_analysis
    rows = [int(a) for a in args if a.isdigit()]
    print(json.dumps(bench(rows[0] if rows else 1_000_000), indent=1))
