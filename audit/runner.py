"""``permaudit run`` and ``permaudit demo``: config -> identities -> discovery -> crawl -> files."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from audit import __version__
from audit.auth.identities import AuthFailed, LoginBudget, connect
from audit.config.loader import AuditConfig, ConfigError, UserConfig, load_config
from audit.crawl.active import Ledger, Lifecycle, merge
from audit.crawl.discovery import Discovery, Scope, resource
from audit.crawl.engine import (
    Checkpoint,
    Crawler,
    Interrupted,
    auth_failed_rows,
    cells_for,
    order_results,
    run_pool,
)
from audit.crawl.inventory import DocTypeInfo, Inventory, UserFacts
from audit.crawl.probes import CellProber, UserContext
from audit.http.client import ClientOptions, FrappeClient, RateLimiter, TransportError
from audit.model import Mode, Operation, ProbeResult
from audit.render.terminal import render_summary
from audit.results.files import private_dir, write_json_private, write_probes_csv
from audit.results.record import RunInfo, RunResults, UserRecord
from audit.status import ExitCode, UsageError

Echo = Callable[[str], None]
log = logging.getLogger(__name__)
DISCOVERY_FILE = "discovery.json"
CHECKPOINT_FILE = "checkpoint.jsonl"
LEDGER_FILE = "probe-documents.jsonl"


@dataclass(frozen=True)
class RunRequest:
    config: AuditConfig
    outdir: Path | None = None
    mode: str | None = None
    users: tuple[str, ...] = ()
    doctypes: tuple[str, ...] = ()
    resume: bool = False
    quiet: bool = False
    ca_bundle: str | None = None
    allow_insecure: bool = False


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_outdir(config: AuditConfig) -> Path:
    site = config.site.host or urlsplit(config.site.url).hostname or "site"
    return Path("reports") / f"{site}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def _select_users(config: AuditConfig, names: tuple[str, ...]) -> tuple[UserConfig, ...]:
    if not names:
        return config.users
    return tuple(config.user(n) for n in names)


def _mode(request: RunRequest) -> Mode:
    mode = Mode(request.mode or request.config.crawl.mode)
    if mode is Mode.ACTIVE and not request.config.crawl.allow_active:
        raise ConfigError(str(request.config.path or "config"), "crawl.allow_active",
                          "active mode creates and deletes documents; it is refused unless "
                          "allow_active = true")
    return mode


class Audit:
    """One run: owns the clients and closes them (password users log out)."""

    def __init__(self, request: RunRequest, echo: Echo, warn: Echo) -> None:
        self.request = request
        self.config = request.config
        self.echo = echo
        self.warn = warn
        self.mode = _mode(request)
        self.users = _select_users(self.config, request.users)
        self.outdir = request.outdir or default_outdir(self.config)
        crawl = self.config.crawl
        self.options = ClientOptions.from_config(
            self.config.site, ca_bundle=request.ca_bundle, allow_insecure=request.allow_insecure,
            pool_size=crawl.concurrency + 2)
        self.limiter = RateLimiter(crawl.rate_limit, crawl.concurrency)
        self.budget = LoginBudget()
        self.clients: list[FrappeClient] = []
        self.auditor: FrappeClient | None = None
        self.contexts: list[UserContext] = []
        self.failures: dict[str, str] = {}
        self.started = _stamp()

    def _connect(self, user: UserConfig) -> FrappeClient:
        client = connect(user, self.config.site.url, self.options, self.limiter, self.budget)
        self.clients.append(client)
        return client

    def authenticate(self) -> None:
        if self.config.auditor is not None:
            try:
                self.auditor = self._connect(self.config.auditor)
            except AuthFailed as exc:
                self.warn(f"the [auditor] account could not authenticate ({exc.failure.cause}); "
                          "discovery continues without it")
        for user in self.users:
            try:
                client = self._connect(user)
            except AuthFailed as exc:
                self.failures[user.name] = f"{exc.failure.cause} -> {exc.failure.fix}"
                self.warn(f"user {user.name!r} could not authenticate: {exc.failure.cause}")
                continue
            who = client.identity.frappe_user or ""
            self.contexts.append(UserContext(name=user.name, frappe_user=who, client=client,
                                             facts=UserFacts(frappe_user=who)))

    def discover(self, resume: bool) -> Inventory:
        path = self.outdir / DISCOVERY_FILE
        if resume and path.exists():
            return Inventory.from_json(json.loads(path.read_text("utf-8")))
        crawl = self.config.crawl
        scope = Scope(include=crawl.doctypes, exclude=crawl.exclude, only=self.request.doctypes)
        meta_client = self.auditor or (self.contexts[0].client if self.contexts else None)
        inventory = Discovery(self.auditor, meta_client, scope, workers=crawl.concurrency).run()
        write_json_private(path, inventory.to_json())
        return inventory

    def verify_docstatus(self, ctx: UserContext, doctype: str, name: str) -> int | None:
        """The document's docstatus right now, read by the auditor or else by the user."""
        for client in (c for c in (self.auditor, ctx.client) if c is not None):
            reply = client.get(resource(doctype, name))
            if reply.status == 200 and isinstance(reply.data, dict):
                return int(reply.data.get("docstatus") or 0)
        return None

    def active_phase(self, inventory: Inventory, crawler: Crawler,
                     results: dict[tuple[str, str, str], ProbeResult]
                     ) -> dict[tuple[str, str, str], ProbeResult]:
        """The real lifecycle on probe documents; an allowed step overrides a safe answer."""
        ledger = Ledger(self.outdir / LEDGER_FILE)
        meta = self.auditor or (self.contexts[0].client if self.contexts else None)
        lifecycle = Lifecycle(inventory, ledger, self.auditor, meta)
        jobs = [(ctx, dt) for ctx in self.contexts for dt in crawler.doctypes()
                if dt.applicable(Operation.CREATE) and not dt.is_virtual]
        out = dict(results)
        lock = threading.Lock()

        def work(job: tuple[UserContext, DocTypeInfo]) -> None:
            ctx, dt = job
            for op, row in lifecycle.run(ctx, dt).items():
                key = (ctx.name, dt.name, op.value)
                with lock:
                    if key in out:
                        out[key] = merge(out[key], row)
        try:
            run_pool(jobs, work, self.config.crawl.concurrency, crawler.stop)
        finally:
            left = [d for d in ledger.outstanding() if not lifecycle.remove(d)]
            for doc in left:
                self.warn(f"probe document {doc.doctype} {doc.name!r} could not be removed; "
                          "delete it by hand")
        return out

    def close(self) -> None:
        for client in self.clients:
            try:
                client.identity.logout(client)
            except (TransportError, AuthFailed) as exc:  # best effort, at the very end
                log.debug("logout of %s: %s", client.identity.name, exc)
            client.close()

    def user_records(self, inventory: Inventory | None) -> list[UserRecord]:
        by_name = {c.name: c for c in self.contexts}
        out = []
        for user in self.users:
            ctx = by_name.get(user.name)
            facts = inventory.facts(ctx.frappe_user) if (inventory and ctx) else None
            out.append(UserRecord(
                name=user.name, auth=user.auth.value,
                frappe_user=ctx.frappe_user if ctx else (user.username or None),
                roles=facts.roles if facts else (), user_type=facts.user_type if facts else "",
                enabled=facts.enabled if facts else None,
                has_api_key=facts.has_api_key if facts else None,
                auth_failure=self.failures.get(user.name, ""),
                expect=None if user.expect is None else {
                    k: tuple(sorted(o.value for o in v)) for k, v in user.expect.items()}))
        return out


def run_audit(request: RunRequest, echo: Echo, warn: Echo) -> ExitCode:
    if request.resume and (request.outdir is None
                           or not (request.outdir / CHECKPOINT_FILE).exists()):
        raise UsageError("--resume needs -o OUTDIR of an interrupted run (it holds "
                         f"{CHECKPOINT_FILE})")
    audit = Audit(request, echo, warn)
    outdir = audit.outdir
    private_dir(outdir)
    checkpoint = Checkpoint(outdir / CHECKPOINT_FILE)
    if not request.resume and checkpoint.path.exists():
        checkpoint.path.unlink()
    inventory: Inventory | None = None
    rows: list[ProbeResult] = []
    complete = False
    try:
        audit.authenticate()
        inventory = audit.discover(request.resume)
        for note in inventory.notes:
            warn(note)
        for ctx in audit.contexts:
            ctx.facts = inventory.facts(ctx.frappe_user)
        done, visible = checkpoint.load() if request.resume else ({}, {})
        probe_mode = Mode.SAFE if audit.mode is Mode.ACTIVE else audit.mode
        prober = CellProber(inventory, probe_mode, audit.config.crawl.ask_only,
                            verifier=audit.verify_docstatus)
        crawler = Crawler(inventory, audit.contexts, prober, checkpoint,
                          workers=audit.config.crawl.concurrency, progress=not request.quiet)
        names = [c.name for c in audit.contexts]
        try:
            crawler.survey(visible)
            results = crawler.crawl(cells_for(names, inventory), done)
            if audit.mode is Mode.ACTIVE:
                results = audit.active_phase(inventory, crawler, results)
            complete = True
        except Interrupted:
            results = checkpoint.load()[0]
        rows = list(results.values())
        for user, cause in audit.failures.items():
            rows += auth_failed_rows(user, inventory, cause)
    finally:
        audit.close()
        if inventory is not None:
            _write(audit, inventory, rows, complete)
    user_names = [u.name for u in audit.users]
    if not complete:
        warn(f"interrupted: what was done is in {outdir}; `permaudit run --resume -o {outdir}` "
             "continues")
        return ExitCode.INTERRUPTED
    echo(render_summary(order_results(rows, user_names), user_names))
    echo(f"\nWritten to {outdir}/ (probes.csv, results.json)")
    if not audit.contexts:
        return ExitCode.UNREACHABLE
    return ExitCode.OK


def _write(audit: Audit, inventory: Inventory, rows: list[ProbeResult], complete: bool) -> None:
    names = [u.name for u in audit.users]
    ordered = order_results(rows, names)
    info = RunInfo(site=audit.config.site.url, host=audit.config.site.host,
                   mode=audit.mode.value, started=audit.started, finished=_stamp(),
                   complete=complete, discovery=inventory.source, tool_version=__version__,
                   notes=inventory.notes)
    write_probes_csv(audit.outdir / "probes.csv", ordered)
    record = RunResults(run=info, users=tuple(audit.user_records(inventory)),
                        inventory=inventory, probes=tuple(ordered))
    record.write(audit.outdir / "results.json")


def run_demo(outdir: Path, mode: str, quiet: bool, echo: Echo, warn: Echo) -> ExitCode:
    """Serve the demo fixture on a free loopback port, audit it with the bundled config."""
    from importlib import resources

    from audit.sim.fixtures.demo import demo_environment
    from audit.sim.server import SimServer

    with SimServer(fixture="demo", port=0) as sim:
        env: Mapping[str, str] = {**os.environ, **demo_environment(sim.site, sim.url)}
        config_file = resources.files("audit").joinpath("data/demo.toml")
        with resources.as_file(config_file) as path:
            config = load_config(Path(path), env=env, warn=warn)
        config = replace(config, site=replace(config.site, host=sim.host))
        echo(f"Demo site {sim.host} served at {sim.url}")
        request = RunRequest(config=config, outdir=outdir, mode=mode, quiet=quiet)
        return run_audit(request, echo, warn)
