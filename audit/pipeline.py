"""The pipeline of ``permaudit run``: identities -> discovery -> crawl -> record -> analysis.

:func:`run_pipeline` takes an :class:`~audit.session.AuditSession` (the clients) and a
:class:`RunRequest` and returns the complete record of the run, analysed. It writes only
what ``--resume`` needs while it goes (the checkpoint, discovery.json, the active-mode
ledger); the record's own files are written by the caller.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from audit import __version__
from audit.analysis import AnalysisOptions, analyse
from audit.analysis.sod import absent_doctypes
from audit.config.loader import AuditConfig, ConfigError, SiteConfig, UserConfig
from audit.crawl.active import Ledger, Lifecycle, merge
from audit.crawl.discovery import Discovery, Scope
from audit.crawl.engine import (
    Checkpoint,
    Crawler,
    Interrupted,
    auth_failed_rows,
    cells_for,
    order_results,
    run_pool,
)
from audit.crawl.incidents import INCIDENTS_FILE, IncidentLog
from audit.crawl.inventory import DocTypeInfo, Inventory
from audit.crawl.probes import CellProber, UserContext
from audit.crawl.usage import UsageEvidence, collect_usage
from audit.http.client import TransportError
from audit.model import Mode, Operation, Outcome, ProbeResult, Severity
from audit.render.formats import REPORT_FILES, Format
from audit.results.files import private_dir, write_json_private
from audit.results.record import RunInfo, RunResults, UserRecord
from audit.results.redact import REDACTOR, has_fingerprints, is_fingerprint
from audit.session import AuditSession
from audit.status import UsageError

Echo = Callable[[str], None]
CellKey = tuple[str, str, str]
DISCOVERY_FILE = "discovery.json"
CHECKPOINT_FILE = "checkpoint.jsonl"
LEDGER_FILE = "probe-documents.jsonl"
RESULTS_FILE = "results.json"
PROBES_FILE = "probes.csv"
# the files that make an OUTDIR hold a run (``run`` refuses it without --resume / --overwrite)
RUN_FILES = (RESULTS_FILE, CHECKPOINT_FILE, DISCOVERY_FILE, PROBES_FILE)


@dataclass(frozen=True)
class RunRequest:
    config: AuditConfig
    outdir: Path | None = None
    mode: str | None = None
    users: tuple[str, ...] = ()
    doctypes: tuple[str, ...] = ()
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False
    ca_bundle: str | None = None
    allow_insecure: bool = False
    fail_on: Severity | None = Severity.HIGH  # None: never
    plan_only: bool = False  # discovery and surveys run; each cell's plan is printed
    formats: tuple[Format, ...] = ()  # report formats; () = --format's default
    color: bool = False  # the terminal summary may use colour (stdout is a terminal)
    # suppressions, SoD rules, [findings] severity, usage window (the CLI fills them)
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)
    baseline: Path | None = None  # OLD/results.json: drift goes into the analysis


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- what identifies a run (``--resume`` refuses another config or site) ---------------------
def _user_shape(user: UserConfig) -> dict[str, Any]:
    secrets = ("api_key", "api_secret", "password", "access_token", "refresh_token")
    return {
        "name": user.name, "auth": user.auth.value, "username": user.username,
        "client_id": user.client_id,
        "secrets": sorted(k for k in secrets if getattr(user, k) is not None),  # names only
        "expect": None if user.expect is None else {
            k: sorted(o.value for o in v) for k, v in sorted(user.expect.items())},
    }


def config_digest(config: AuditConfig) -> str:
    """sha256 over the config's non-secret content that decides the answers.

    Pacing (concurrency, rate limit, timeout) and TLS settings are left out: a run can be
    resumed more gently. Secrets are represented only by which keys are set.
    """
    crawl = config.crawl
    content = {
        "site": {"url": config.site.url, "host": config.site.host},
        "crawl": {"mode": crawl.mode.value, "allow_active": crawl.allow_active,
                  "doctypes": list(crawl.doctypes), "exclude": list(crawl.exclude),
                  "ask_only": list(crawl.ask_only)},
        "auditor": None if config.auditor is None else _user_shape(config.auditor),
        "users": [_user_shape(u) for u in config.users],
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def site_id(site: SiteConfig) -> str:
    """The site's identity: scheme, host and port of the URL, its path, and the Host header."""
    parts = urlsplit(site.url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    base = f"{scheme}://{(parts.hostname or '').lower()}:{port}{parts.path.rstrip('/')}"
    return f"{base} host={(site.host or parts.hostname or '').lower()}"


def select_users(config: AuditConfig, names: tuple[str, ...]) -> tuple[UserConfig, ...]:
    """The users ``--users`` names (all when empty); unknown names are one usage error."""
    if not names:
        return config.users
    known = {u.name for u in config.users}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"--users: no user named {', '.join(map(repr, unknown))} in "
                         f"{config.source} (configured: {', '.join(sorted(known)) or 'none'})")
    return tuple(config.user(n) for n in names)


def effective_mode(request: RunRequest) -> Mode:
    mode = Mode(request.mode or request.config.crawl.mode)
    if mode is Mode.ACTIVE and not request.config.crawl.allow_active:
        raise ConfigError(request.config.source, "crawl.allow_active",
                          "active mode creates and deletes documents; it is refused unless "
                          "allow_active = true")
    return mode


def run_header(request: RunRequest) -> dict[str, str]:
    return {"config_digest": config_digest(request.config),
            "site_id": site_id(request.config.site), "mode": effective_mode(request).value,
            # the run's own --users / --doctypes ("" for all): a resume keeps them
            "users": ",".join(sorted(request.users)),
            "doctypes": ",".join(sorted(request.doctypes))}


# -- the run -------------------------------------------------------------------------------
@dataclass
class _Run:
    """What one run has gathered so far (filled stage by stage)."""

    request: RunRequest
    session: AuditSession
    outdir: Path
    warn: Echo
    started: str = field(default_factory=stamp)
    inventory: Inventory | None = None
    results: dict[CellKey, ProbeResult] = field(default_factory=dict)
    complete: bool = False
    begun: bool = False
    incidents: IncidentLog = field(default_factory=lambda: IncidentLog(None))

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.outdir / CHECKPOINT_FILE)

    def begin(self) -> None:
        """Create OUTDIR and the checkpoint's run header (once; kept on ``--resume``)."""
        if self.begun:
            return
        self.begun = True
        private_dir(self.outdir)
        if self.request.overwrite:  # the probe-document ledger stays: it lists what to remove
            # no report (nor incident) of the old run stays
            for name in (*RUN_FILES, *REPORT_FILES, INCIDENTS_FILE):
                (self.outdir / name).unlink(missing_ok=True)
        if not self.request.resume:  # a resumed run keeps its checkpoint as it is
            self.checkpoint.begin(run_header(self.request))


def run_pipeline(session: AuditSession, request: RunRequest, outdir: Path,
                 warn: Echo) -> RunResults:
    """The analysed record of one run; ``run.complete`` is False after Ctrl-C."""
    run = _Run(request, session, outdir, warn, incidents=IncidentLog(outdir / INCIDENTS_FILE,
                                                                     warn))
    if request.resume:
        run.incidents.load()  # DocTypes an earlier part of the run stopped stay stopped
    try:
        session.authenticate()
        if session.contexts:
            run.inventory = _discover(run)
            _crawl(run)
        run.complete = True
    except (KeyboardInterrupt, Interrupted):  # what was done is in the checkpoint
        run.results = run.checkpoint.load()[0] if (run.begun or request.resume) else {}
    run.begin()
    usage = _usage(run) if run.complete and run.inventory is not None else None
    options = replace(request.analysis, fail_on=request.fail_on)
    baseline = RunResults.load(request.baseline) if request.baseline is not None else None
    record = analyse(_record(run, usage), options, baseline, str(request.baseline or ""))
    for entry in record.analysis.get("expired_suppressions", []):
        warn(f"suppression expired, no longer applied: {entry}")
    return record


def _usage(run: _Run) -> UsageEvidence | None:
    """The users' writes, creates, deletes, submits, cancels of the window (auditor only)."""
    if run.session.auditor is None or run.inventory is None:
        return None
    doctypes = {r.doctype for r in run.results.values()
                if r.op.mutating and r.outcome is Outcome.ALLOWED}
    users = {c.name: c.frappe_user for c in run.session.contexts}
    try:
        return collect_usage(run.session.auditor, run.inventory, users,
                             run.request.analysis.usage_days, doctypes)
    except TransportError as exc:
        run.warn(f"usage evidence could not be read ({exc}); unused-grant is not judged")
        return None


def _discover(run: _Run) -> Inventory:
    path = run.outdir / DISCOVERY_FILE
    inventory: Inventory | None = None
    if run.request.resume and path.exists():
        inventory = Inventory.from_json(json.loads(path.read_text("utf-8")))
        if has_fingerprints(inventory):  # secret names were written only as fingerprints
            inventory = None
    if inventory is None:
        crawl = run.request.config.crawl
        scope = Scope(include=crawl.doctypes, exclude=crawl.exclude, only=run.request.doctypes)
        inventory = Discovery(run.session.auditor, run.session.meta_client, scope,
                              workers=crawl.concurrency).run()
    for note in check_names(run.request, inventory):
        run.warn(note)
    run.begin()
    REDACTOR.learn_inventory(inventory)
    write_json_private(path, inventory.to_json())
    for note in inventory.notes:
        run.warn(note)
    for ctx in run.session.contexts:
        ctx.facts = inventory.facts(ctx.frappe_user)
    return inventory


def check_names(request: RunRequest, inventory: Inventory) -> list[str]:
    """``--doctypes`` and ``expect`` name DocTypes the site has (names are case-sensitive);
    the warnings for needs outside the crawl's scope (they are not judged)."""
    known = inventory.doctypes
    unknown = [n for n in request.doctypes if n not in known]
    if unknown:
        raise UsageError(f"--doctypes: the site has no DocType {_names(unknown)} within the "
                         "config's [crawl] doctypes and exclude (names are case-sensitive)")
    crawl = request.config.crawl
    scope = Scope(include=crawl.doctypes, exclude=crawl.exclude, only=request.doctypes)
    for index, user in enumerate(request.config.users):
        missing = [n for n in (user.expect or {}) if scope.wants(n) and n not in known]
        if missing:
            raise UsageError(f"{request.config.source}: users[{index}].expect ({user.name}): "
                             f"the site has no DocType {_names(missing)}")
    return [f"{request.config.source}: users[{index}].expect ({user.name}): "
            f"{_names(outside)} outside the crawl's scope ([crawl] doctypes / exclude): "
            "not judged"
            for index, user in enumerate(request.config.users)
            if (outside := [n for n in (user.expect or {}) if not scope.wants(n)])] + \
        absent_doctypes(request.analysis.sod_rules, known, scope.wants)


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _crawl(run: _Run) -> None:
    assert run.inventory is not None
    request, session, inventory = run.request, run.session, run.inventory
    mode = effective_mode(request)
    done, visible = run.checkpoint.load() if request.resume else ({}, {})
    visible = {k: v for k, v in visible.items()  # fingerprinted names: survey them again
               if not any(is_fingerprint(t.name)
                          for docs in (v.listed, v.own, v.shared, v.permitted)
                          for t in docs or ())}
    prober = CellProber(inventory, Mode.SAFE if mode is Mode.ACTIVE else mode,
                        request.config.crawl.ask_only, fetch=session.read_stored,
                        incidents=run.incidents, auditor=session.auditor)
    crawler = Crawler(inventory, session.contexts, prober, run.checkpoint,
                      workers=request.config.crawl.concurrency, progress=not request.quiet,
                      auditor=session.auditor, pace=session.limiter.describe)
    crawler.survey(visible)
    run.results = crawler.crawl(cells_for([c.name for c in session.contexts], inventory), done)
    if mode is Mode.ACTIVE:
        run.results = _active_phase(run, crawler)


def plan_lines(session: AuditSession, request: RunRequest, warn: Echo) -> list[str]:
    """``--plan-only``: discovery and the surveys (reads only), then what each cell would
    send (the plan stage of DESIGN.md). Nothing is written to OUTDIR."""
    session.authenticate()
    if not session.contexts:
        return []
    crawl = request.config.crawl
    scope = Scope(include=crawl.doctypes, exclude=crawl.exclude, only=request.doctypes)
    inventory = Discovery(session.auditor, session.meta_client, scope,
                          workers=crawl.concurrency).run()
    for note in [*check_names(request, inventory), *inventory.notes]:
        warn(note)
    for ctx in session.contexts:
        ctx.facts = inventory.facts(ctx.frappe_user)
    mode = effective_mode(request)
    prober = CellProber(inventory, Mode.SAFE if mode is Mode.ACTIVE else mode,
                        crawl.ask_only)
    with tempfile.TemporaryDirectory(prefix="permaudit-plan-") as scratch:
        crawler = Crawler(inventory, session.contexts, prober,
                          Checkpoint(Path(scratch) / CHECKPOINT_FILE),
                          workers=crawl.concurrency, progress=not request.quiet,
                          auditor=session.auditor)
        crawler.survey({})
    return [prober.plan(ctx, inventory.doctypes[name], op).describe()
            for ctx in session.contexts for name in sorted(inventory.doctypes)
            for op in Operation]


def _active_phase(run: _Run, crawler: Crawler) -> dict[CellKey, ProbeResult]:
    """The real lifecycle on probe documents; an allowed step overrides a safe answer."""
    assert run.inventory is not None
    session = run.session
    ledger = Ledger(run.outdir / LEDGER_FILE)
    lifecycle = Lifecycle(run.inventory, ledger, session.auditor, session.meta_client)
    jobs = [(ctx, dt) for ctx in session.contexts for dt in crawler.doctypes()
            if dt.applicable(Operation.CREATE) and not dt.is_virtual]
    out = dict(run.results)
    lock = threading.Lock()

    def work(job: tuple[UserContext, DocTypeInfo]) -> None:
        ctx, dt = job
        for op, row in lifecycle.run(ctx, dt).items():
            key = (ctx.name, dt.name, op.value)
            with lock:
                if key in out:
                    out[key] = merge(out[key], row)
    try:
        run_pool(jobs, work, run.request.config.crawl.concurrency, crawler.stop)
    finally:
        left = [d for d in ledger.outstanding() if not lifecycle.remove(d)]
        for doc in left:
            run.warn(f"probe document {doc.doctype} {doc.name!r} could not be removed; "
                     "delete it by hand")
    return out


# -- the record ------------------------------------------------------------------------------
def _user_records(run: _Run) -> tuple[UserRecord, ...]:
    by_name = {c.name: c for c in run.session.contexts}
    out = []
    for user in run.session.users:
        ctx = by_name.get(user.name)
        facts = run.inventory.facts(ctx.frappe_user) if (run.inventory and ctx) else None
        out.append(UserRecord(
            name=user.name, auth=user.auth.value,
            frappe_user=ctx.frappe_user if ctx else (user.username or None),
            roles=facts.roles if facts else (), user_type=facts.user_type if facts else "",
            enabled=facts.enabled if facts else None,
            has_api_key=facts.has_api_key if facts else None,
            restrict_ip=facts.restrict_ip if facts else None,
            last_login=facts.last_login if facts else None,
            auth_failure=run.session.failure_text(user.name),
            expect=None if user.expect is None else {
                k: tuple(sorted(o.value for o in v)) for k, v in user.expect.items()}))
    return tuple(out)


def _record(run: _Run, usage: UsageEvidence | None = None) -> RunResults:
    config = run.request.config
    inventory = run.inventory or Inventory(source="")
    rows = list(run.results.values())
    if run.session.contexts:  # no cell rows at all when nobody could authenticate
        for name in run.session.failures:
            rows += auth_failed_rows(name, inventory, run.session.failure_text(name))
    info = RunInfo(
        site=config.site.url, host=config.site.host, mode=effective_mode(run.request).value,
        started=run.started, finished=stamp(), complete=run.complete,
        discovery=inventory.source, tool_version=__version__,
        config_digest=config_digest(config), site_id=site_id(config.site),
        notes=inventory.notes + (usage.notes if usage else ()),
        pace=run.session.limiter.summary())
    names = [u.name for u in run.session.users]
    return RunResults(run=info, users=_user_records(run), inventory=inventory,
                      probes=tuple(order_results(rows, names)),
                      usage=usage.counts if usage else None,
                      usage_days=run.request.analysis.usage_days if usage else None,
                      usage_missing=usage.missing if usage else (),
                      incidents=run.incidents.incidents)
