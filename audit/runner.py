"""``permaudit run`` and ``demo``: OUTDIR checks -> session -> pipeline -> files -> exit code."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from audit.analysis import fails
from audit.config.loader import AuditConfig, load_config
from audit.crawl.engine import Checkpoint
from audit.http.pacing import describe_pace
from audit.model import Mode
from audit.pipeline import (
    CHECKPOINT_FILE,
    PROBES_FILE,
    RESULTS_FILE,
    RUN_FILES,
    RunRequest,
    effective_mode,
    plan_lines,
    run_header,
    run_pipeline,
    select_users,
)
from audit.render import Format
from audit.report import render_formats, render_run
from audit.results.files import write_probes_csv
from audit.results.record import RunResults, SchemaError
from audit.session import AuditSession
from audit.status import ExitCode, UsageError

__all__ = ["RunRequest", "default_outdir", "render_run", "run_audit", "run_demo"]

Echo = Callable[[str], None]


def default_outdir(config: AuditConfig) -> Path:
    site = config.site.host or urlsplit(config.site.url).hostname or "site"
    return Path("reports") / f"{site}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def _saved_identity(outdir: Path) -> dict[str, str] | None:
    """The identity of the run in OUTDIR: the checkpoint's header, else results.json."""
    header = Checkpoint(outdir / CHECKPOINT_FILE).header()
    if header is not None:
        return {k: str(v) for k, v in header.items() if k != "kind"}
    try:
        run = RunResults.load(outdir / RESULTS_FILE).run
    except SchemaError:
        return None
    return {"config_digest": run.config_digest, "site_id": run.site_id, "mode": run.mode}


def check_outdir(request: RunRequest, outdir: Path) -> None:
    """A run in OUTDIR is never silently replaced; ``--resume`` only continues the same run."""
    if request.resume and request.overwrite:
        raise UsageError("--resume continues the run in OUTDIR, --overwrite replaces it: "
                         "give one of them")
    if not request.resume:
        held = [n for n in RUN_FILES if (outdir / n).exists()]
        if held and not request.overwrite:
            raise UsageError(f"{outdir} already holds a run ({held[0]}); --resume continues "
                             "it, --overwrite replaces it")
        return
    if not (outdir / CHECKPOINT_FILE).exists():
        raise UsageError(f"--resume needs -o OUTDIR of an interrupted run (it holds "
                         f"{CHECKPOINT_FILE}); {outdir} has none")
    saved = _saved_identity(outdir)
    if saved is None:
        raise UsageError(f"--resume: {outdir} does not say which config and site it audited; "
                         "start a new run (or --overwrite)")
    now = run_header(request)
    for key, what in (("site_id", "site"), ("config_digest", "config"), ("mode", "mode")):
        if saved.get(key) and saved[key] != now[key]:
            raise UsageError(f"--resume: the run in {outdir} audited another {what} "
                             f"({saved[key]}, now {now[key]}); resume it with its own "
                             "config, or start a new run")
    for key in ("users", "doctypes"):  # kept since the header holds them
        if key in saved and saved[key] != now[key]:
            raise UsageError(f"--resume: the run in {outdir} was started with "
                             f"{_selection(key, saved[key])}, not {_selection(key, now[key])}; "
                             "resume it with the same")


def _selection(key: str, value: str) -> str:
    if value:
        return f"--{key} {value}"
    return f"every {'user' if key == 'users' else 'DocType'} (no --{key})"


def resume_hint(request: RunRequest, outdir: Path) -> str:
    """The command that continues this run, exactly as it can be pasted."""
    words = ["permaudit", "run"]
    if request.config.path is not None:
        words += ["-c", os.path.abspath(request.config.path)]
    words += ["-o", os.path.abspath(outdir), "--resume"]
    if request.mode:
        words += ["--mode", request.mode]
    if request.users:
        words += ["--users", ",".join(request.users)]
    if request.doctypes:
        words += ["--doctypes", ",".join(request.doctypes)]
    hint = shlex.join(words)
    if request.config.path is None:
        hint += "  (with the same ERPNEXT_* environment)"
    return hint


def write_record(record: RunResults, outdir: Path) -> None:
    write_probes_csv(outdir / PROBES_FILE, record.probes)
    record.write(outdir / RESULTS_FILE)


def run_audit(request: RunRequest, echo: Echo, warn: Echo) -> ExitCode:
    # a config mistake before anything is sent; passive never refreshes an OAuth token
    passive = effective_mode(request) is Mode.PASSIVE
    users = select_users(request.config, request.users)
    if request.plan_only:
        with AuditSession(request.config, users, warn, ca_bundle=request.ca_bundle,
                          allow_insecure=request.allow_insecure,
                          may_refresh=not passive) as session:
            for line in plan_lines(session, request, warn):
                echo(line)
        return ExitCode.OK
    outdir = request.outdir or default_outdir(request.config)
    check_outdir(request, outdir)
    with AuditSession(request.config, users, warn, ca_bundle=request.ca_bundle,
                      allow_insecure=request.allow_insecure, may_refresh=not passive) as session:
        record = run_pipeline(session, request, outdir, warn)
    write_record(record, outdir)
    if not record.run.complete:
        warn(f"interrupted: what was done is in {outdir}; continue with: "
             f"{resume_hint(request, outdir)}")
        return ExitCode.INTERRUPTED
    if not any(u.authenticated for u in record.users):
        warn(f"no configured user could authenticate (the causes are above; {outdir} "
             "holds them)")
        return ExitCode.UNREACHABLE
    render_formats(record, outdir, request.formats, request.color, echo)
    if record.run.pace:
        echo(describe_pace(record.run.pace))
    return ExitCode.FINDINGS if fails(record.findings, request.fail_on) else ExitCode.OK


def _check_demo_outdir(outdir: Path, host: str) -> None:
    """The demo regenerates its own folder, never a folder holding another site's run."""
    if not any((outdir / n).exists() for n in RUN_FILES):
        return
    saved = _saved_identity(outdir) or {}
    if not saved.get("site_id", "").endswith(f" host={host}"):
        site = saved.get("site_id") or "a run it cannot read"
        raise UsageError(f"{outdir} holds a run that is not the demo's ({site}); give the "
                         "demo another -o")


def run_demo(outdir: Path, mode: str, quiet: bool, echo: Echo, warn: Echo,
             formats: tuple[Format, ...] = tuple(Format), color: bool = False) -> ExitCode:
    """Serve the demo fixture on a free loopback port, audit it with the bundled config."""
    from importlib import resources

    from audit.sim.fixtures.demo import demo_environment
    from audit.sim.server import SimServer

    with SimServer(fixture="demo", port=0) as sim:
        _check_demo_outdir(outdir, sim.host)
        env: Mapping[str, str] = {**os.environ, **demo_environment(sim.site, sim.url)}
        config_file = resources.files("audit").joinpath("data/demo.toml")
        with resources.as_file(config_file) as path:
            config = load_config(Path(path), env=env, warn=warn)
        config = replace(config, site=replace(config.site, host=sim.host))
        echo(f"Demo site {sim.host} served at {sim.url}")
        request = RunRequest(config=config, outdir=outdir, mode=mode, quiet=quiet,
                             overwrite=True,  # the demo is regenerated
                             formats=formats, color=color,
                             fail_on=None)  # its planted risks are the point: exit 0
        code = run_audit(request, echo, warn)
    if Format.HTML in formats and (outdir / "report.html").exists():
        echo(f"Report: {(outdir / 'report.html').resolve()}")
    return code
