"""The command line: parses options and wires the stages together; nothing else.

Every user mistake ends as one line on stderr and exit 2; a crash shows its
traceback only with ``--debug``.
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import click

from audit import __version__
from audit.status import ExitCode, UsageError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class GlobalOptions:
    debug: bool
    ca_bundle: str | None
    allow_insecure: bool


def _echo(message: str) -> None:
    """stdout, through the redactor: no secret, no secret name, no control character."""
    from audit.results.redact import REDACTOR

    click.echo(REDACTOR.terminal(message, colors=True))  # the renderer's own colours stay


def _err(message: str) -> None:
    from audit.results.redact import REDACTOR

    click.echo(REDACTOR.terminal(message), err=True)


def _redacted_excepthook(kind: type[BaseException], value: BaseException,
                         tb: TracebackType | None) -> None:
    """``sys.excepthook``: the traceback ``--debug`` lets through, redacted."""
    _err("".join(traceback.format_exception(kind, value, tb)).rstrip("\n"))


def _fail(message: str, code: ExitCode) -> None:
    _err(f"permaudit: {message}")
    sys.exit(int(code))


def _classify(exc: Exception) -> tuple[ExitCode, str] | None:
    """The exit code and the line prefix of an expected error; None for a crash."""
    from audit.auth.identities import AuthFailed
    from audit.config.loader import ConfigError
    from audit.crawl.discovery import DiscoveryError
    from audit.http.client import InsecureURLError, TransportError
    from audit.results.record import SchemaError
    from audit.session import SiteUnreachable

    table: tuple[tuple[type[Exception], ExitCode, str], ...] = (
        (ConfigError, ExitCode.USAGE, ""),
        (InsecureURLError, ExitCode.USAGE, ""),
        (UsageError, ExitCode.USAGE, ""),
        (SchemaError, ExitCode.USAGE, ""),
        (SiteUnreachable, ExitCode.UNREACHABLE, ""),
        (TransportError, ExitCode.UNREACHABLE, "the site could not be reached: "),
        (DiscoveryError, ExitCode.UNREACHABLE, ""),
        (AuthFailed, ExitCode.UNREACHABLE, ""),
    )
    for kind, code, prefix in table:
        if isinstance(exc, kind):
            return code, prefix
    if isinstance(exc, OSError) and exc.filename is not None:  # OUTDIR under a file, ...
        return ExitCode.USAGE, ""
    return None


def _file_error(exc: OSError) -> str:
    """A file system error as one line naming the path."""
    return f"{exc.filename}: {exc.strerror or exc}"


def handle_errors(func: F) -> F:
    """Turn every expected error into one line and its exit code (``--debug`` re-raises)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opts = click.get_current_context().find_object(GlobalOptions)
        debug = bool(opts and opts.debug)
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            if debug:
                raise
            _fail("interrupted", ExitCode.INTERRUPTED)
        except Exception as exc:
            known = _classify(exc)
            if known is None:
                raise
            if debug:  # the traceback too, masked; the exit code stays the error's
                _err(traceback.format_exc().rstrip())
            code, prefix = known
            _fail(f"{prefix}{_file_error(exc) if isinstance(exc, OSError) else exc}", code)

    return wrapper  # type: ignore[return-value]


FAIL_ON_CHOICES = ("info", "low", "medium", "high", "critical", "never")


def fail_on_option(func: F) -> F:
    """``--fail-on``: the lowest finding severity that makes the exit code 1."""
    return click.option(
        "--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True,
        help="Exit 1 when a finding is at or above this severity ('never': exit 0).")(func)


def _severity(fail_on: str) -> Any:
    from audit.model import Severity

    return None if fail_on == "never" else Severity(fail_on)


def _csv_list(value: str | None, option: str) -> tuple[str, ...]:
    """A comma-separated option's names; given but naming none is a mistake (it would
    otherwise mean "all")."""
    if value is None:
        return ()
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise UsageError(f"{option}: give at least one name (leave the option out for all)")
    return names


def format_option(default: str) -> Callable[[F], F]:
    """``--format html,csv,json,ocsf,terminal`` (results.json and probes.csv are always written)."""
    return click.option("--format", "formats", default=default, show_default=True,
                        help="Comma-separated report formats: html, csv, json, ocsf, terminal, "
                             "or all (results.json and probes.csv are always written).")


def _formats(value: str) -> tuple[Any, ...]:
    from audit.render.formats import FormatError, parse_formats

    try:
        return parse_formats(value)
    except FormatError as exc:
        raise UsageError(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="permaudit")
@click.option("--debug", is_flag=True, help="Tracebacks and debug logs (secrets stay masked).")
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False), default=None,
              help="CA bundle to verify the site's TLS certificate.")
@click.option("--allow-insecure", is_flag=True, help="Allow plain http to a non-loopback host.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, ca_bundle: str | None, allow_insecure: bool) -> None:
    """Audit what every API user of an ERPNext / Frappe site can really do."""
    ctx.obj = GlobalOptions(debug=debug, ca_bundle=ca_bundle, allow_insecure=allow_insecure)
    from audit.config.secrets import install_log_masking
    from audit.results.redact import REDACTOR

    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    REDACTOR.reset()  # a command masks its own config's secrets, not an earlier command's
    install_log_masking(registry=REDACTOR)
    sys.excepthook = _redacted_excepthook  # a --debug traceback is redacted too


def _warn(message: str) -> None:
    _err(f"permaudit: warning: {message}")


def analysis_options(fail_on: str, usage_days: int = 90, suppressions: Path | None = None,
                     sod_rules: Path | None = None, severity: Any = None) -> Any:
    """--fail-on, --usage-days, --suppressions, --sod-rules and [findings] -> AnalysisOptions.

    Both files are read here, so a mistake in them is exit 2 before anything is probed.
    """
    from audit.analysis.interface import AnalysisOptions
    from audit.analysis.sod import load_rules
    from audit.analysis.suppress import load_suppressions

    load_rules(sod_rules)
    return AnalysisOptions(
        fail_on=_severity(fail_on), usage_days=usage_days, sod_rules=sod_rules,
        suppressions=load_suppressions(suppressions) if suppressions else (),
        severity_overrides=dict(severity or {}))


def analysis_flags(func: F) -> F:
    """--baseline, --suppressions, --sod-rules: the analysis options `run` and `report` share."""
    decorators = (
        click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help="An earlier run's results.json: report what changed since."),
        click.option("--suppressions", type=click.Path(path_type=Path, dir_okay=False),
                     default=None, help="TOML of accepted findings, each with reason and expiry."),
        click.option("--sod-rules", type=click.Path(path_type=Path, dir_okay=False),
                     default=None, help="TOML of segregation-of-duties rules beside the shipped."),
    )
    for decorate in reversed(decorators):
        func = decorate(func)
    return func


def _check_baseline(baseline: Path | None, *, read: bool = True) -> None:
    """An unreadable --baseline is refused before the site is touched (the run would else
    crawl for hours, then fail, leaving an OUTDIR a rerun refuses); it is read again, whole,
    when the run is analysed."""
    from audit.results.record import RunResults
    from audit.status import not_regular

    if baseline is None:
        return
    if not baseline.exists():
        raise UsageError(f"--baseline {baseline}: no such file (give an earlier results.json)")
    odd = not_regular(baseline) or ("a folder" if baseline.is_dir() else "")
    if odd:
        raise UsageError(f"--baseline {baseline}: {odd} (give an earlier results.json)")
    if read:
        RunResults.load(baseline)  # a damaged file is one line naming where (exit 2)


@cli.command("check-auth")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="The audit configuration (TOML).")
@click.pass_obj
@handle_errors
def check_auth_cmd(opts: GlobalOptions, config_path: Path | None) -> None:
    """Authenticate every configured user once and say who Frappe thinks it is."""
    from audit.auth.checkauth import check_auth, check_auth_exit_code, render_check_auth
    from audit.config.loader import load_config
    from audit.http.client import ClientOptions

    config = load_config(config_path, warn=_warn)
    options = ClientOptions.from_config(config.site, ca_bundle=opts.ca_bundle,
                                        allow_insecure=opts.allow_insecure, pool_size=2)
    checks = check_auth(config, options)
    _echo(render_check_auth(checks))
    sys.exit(int(check_auth_exit_code(checks)))


@cli.command("run")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="The audit configuration (TOML); without it, ERPNEXT_URL / _API_KEY / "
                   "_API_SECRET describe one token user.")
@click.option("-o", "--outdir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Output folder [default: reports/<site>-<UTC timestamp>].")
@click.option("--mode", type=click.Choice(["passive", "safe", "active"]), default=None,
              help="Overrides [crawl] mode [default: safe].")
@click.option("--users", default=None, help="Comma-separated config names.")
@click.option("--doctypes", default=None, help="Comma-separated DocType names.")
@click.option("--resume", is_flag=True, help="Finish an interrupted run in OUTDIR.")
@click.option("--overwrite", is_flag=True, help="Replace the run OUTDIR already holds.")
@fail_on_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--plan-only", is_flag=True,
              help="Run discovery, print what each cell would send, send no probe.")
@format_option("html,csv,terminal")
@click.option("--usage-days", type=click.IntRange(1, 3650), default=90, show_default=True,
              help="Window of the usage evidence (unused-grant).")
@analysis_flags
@click.pass_obj
@handle_errors
def run_cmd(opts: GlobalOptions, config_path: Path | None, outdir: Path | None, mode: str | None,
            users: str | None, doctypes: str | None, resume: bool, overwrite: bool,
            fail_on: str, quiet: bool, plan_only: bool, formats: str, usage_days: int,
            baseline: Path | None, suppressions: Path | None, sod_rules: Path | None) -> None:
    """Probe every DocType as every configured user and write the results."""
    from audit.config.loader import load_config
    from audit.runner import RunRequest, run_audit

    chosen = _formats(formats)
    config = load_config(config_path, warn=_warn)
    _check_baseline(baseline)
    request = RunRequest(
        config=config, outdir=outdir, mode=mode, users=_csv_list(users, "--users"),
        doctypes=_csv_list(doctypes, "--doctypes"), resume=resume, overwrite=overwrite, quiet=quiet,
        ca_bundle=opts.ca_bundle, allow_insecure=opts.allow_insecure,
        fail_on=_severity(fail_on), plan_only=plan_only,
        formats=chosen, color=sys.stdout.isatty(), baseline=baseline,
        analysis=analysis_options(fail_on, usage_days, suppressions, sod_rules, config.severity),
    )
    code = run_audit(request, echo=_echo, warn=_warn)
    sys.exit(int(code))


@cli.command("report")
@click.argument("outdir", type=click.Path(path_type=Path, file_okay=False))
@fail_on_option
@format_option("html,csv,terminal")
@analysis_flags
@handle_errors
def report_cmd(outdir: Path, fail_on: str, formats: str, baseline: Path | None,
               suppressions: Path | None, sod_rules: Path | None) -> None:
    """Re-analyse and re-render a run from OUTDIR/results.json alone (no site needed)."""
    from audit.report import report

    chosen = _formats(formats)
    _check_baseline(baseline, read=False)  # report reads it at once
    options = analysis_options(fail_on, suppressions=suppressions, sod_rules=sod_rules)
    code = report(outdir, fail_on=_severity(fail_on), echo=_echo,
                  formats=chosen, color=sys.stdout.isatty(), options=options,
                  baseline=baseline, warn=_warn)
    sys.exit(int(code))


@cli.command("explain")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Live: the audit configuration (TOML).")
@click.option("--user", default=None, help="Live: the config name of the user.")
@click.option("--doctype", default=None, help="Live: the DocType.")
@click.option("--op", type=click.Choice(["read", "write", "create", "delete", "submit",
                                         "cancel"]), default=None, help="Live: the operation.")
@click.option("--name", "docname", default=None, help="Live: the document (default: one the "
              "user cannot reach).")
@click.option("--status", type=int, default=None, help="Offline: the HTTP status of the reply.")
@click.option("--body", default=None, help="Offline: file with the reply body ('-': stdin).")
@click.option("--header-file", default=None,
              help="Offline: file with the request headers, or the Authorization value "
                   "('-': stdin).")
@click.option("--curl-file", default=None,
              help="Offline: file with the curl command ('-': stdin).")
@click.option("--url", default="", help="Offline: the URL (path) that was called.")
@click.option("--method", default="", help="Offline: the HTTP method.")
@click.option("--from-results", "from_results", type=click.Path(path_type=Path), default=None,
              help="Explain --user/--doctype/--op from a run's results.json (no site needed).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
@handle_errors
def explain_cmd(opts: GlobalOptions, config_path: Path | None, user: str | None,
                doctype: str | None, op: str | None, docname: str | None, status: int | None,
                body: str | None, header_file: str | None, curl_file: str | None, url: str,
                method: str, from_results: Path | None, fmt: str) -> None:
    """Why a call fails with 401 / 403 / 429: offline from a saved reply, or live as the user
    (exit 1 when a live probe was accepted: an incident)."""
    from audit.explain.explanation import render_json, render_text

    offline = [n for n, v in (("--status", status), ("--body", body),
                              ("--header-file", header_file), ("--curl-file", curl_file),
                              ("--url", url or None)) if v is not None]
    modes = [m for m, used in (("--from-results", from_results is not None),
                               (" / ".join(offline), bool(offline)),
                               ("-c / --user, --doctype, --op (live)",
                                config_path is not None or (from_results is None and any(
                                    (user, doctype, op, docname))))) if used]
    if len(modes) > 1:  # one would be picked and the other options silently ignored
        raise UsageError(f"explain: give one way to explain, not {' and '.join(modes)}")
    if from_results is not None:
        from audit.explain.saved import explain_saved

        if not (user and doctype and op):
            raise UsageError("--from-results needs --user, --doctype and --op")
        explanation = explain_saved(from_results, user, doctype, op)
    elif status is not None or body is not None:
        from audit.explain.offline import explain_offline, load_offline_input

        if status is None or body is None:
            raise UsageError("offline explain needs both --status and --body")
        uses_stdin = "-" in (body, header_file, curl_file)
        given = load_offline_input(status, body, header_file, curl_file, url, method,
                                   sys.stdin.read() if uses_stdin else None)
        explanation = explain_offline(given)
    else:
        from audit.config.loader import load_config
        from audit.explain.live import LiveRequest, explain_live
        from audit.http.client import ClientOptions

        if not (user and doctype and op):
            raise UsageError("explain needs --status and --body (offline), or -c, --user, "
                             "--doctype and --op (live)")
        config = load_config(config_path, warn=_warn)
        options = ClientOptions.from_config(config.site, ca_bundle=opts.ca_bundle,
                                            allow_insecure=opts.allow_insecure, pool_size=2)
        explanation = explain_live(LiveRequest(config, user, doctype, op, docname), options,
                                   warn=_warn)
    _echo(render_json(explanation) if fmt == "json" else render_text(explanation))
    if explanation.incident:  # a critical finding, as in a run: a script must see it
        sys.exit(int(ExitCode.FINDINGS))


@cli.command("diff")
@click.argument("old", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("new", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@handle_errors
def diff_cmd(old: Path, new: Path, fmt: str) -> None:
    """Compare two runs' results.json: permissions, users and findings (exit 1: changed)."""
    import json

    from audit.analysis import AnalysisOptions, analyse
    from audit.analysis.drift import changed, drift
    from audit.render.terminal import render_drift
    from audit.results.record import RunResults, SchemaError

    try:
        before, after = RunResults.load(old), RunResults.load(new)
    except SchemaError as exc:
        raise UsageError(str(exc)) from None
    sites = (before.run.site_id or before.run.site, after.run.site_id or after.run.site)
    if sites[0] != sites[1]:  # still compared: a site may have moved; but say so
        _warn(f"the two runs are of different sites: {sites[0]} and {sites[1]}")
    before, after = (r if r.analysis else analyse(r, AnalysisOptions()) for r in (before, after))
    result = drift(before, after, str(old))
    _echo(json.dumps(result, indent=1) if fmt == "json" else render_drift(result))
    sys.exit(int(ExitCode.FINDINGS if changed(result) else ExitCode.OK))


@cli.command("demo")
@click.option("-o", "--outdir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("reports/demo"), show_default=True)
@click.option("--mode", type=click.Choice(["passive", "safe"]), default="safe", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@format_option("all")
@click.pass_obj
@handle_errors
def demo_cmd(opts: GlobalOptions, outdir: Path, mode: str, quiet: bool, formats: str) -> None:
    """Serve the bundled demo site on loopback, audit it, write the reports, stop."""
    from audit.runner import run_demo

    code = run_demo(outdir=outdir, mode=mode, quiet=quiet, echo=_echo, warn=_warn,
                    formats=_formats(formats), color=sys.stdout.isatty())
    sys.exit(int(code))


@cli.command("sim")
@click.option("--fixture", type=click.Choice(["demo", "reference"]), default="demo",
              show_default=True)
@click.option("--site", default=None, help="Serve the fixture under this site name.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--secrets-out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the credentials of the fixture as flat JSON (mode 0600).")
@handle_errors
def sim_cmd(fixture: str, site: str | None, port: int, secrets_out: Path | None) -> None:
    """Serve a simulated Frappe 15 site on 127.0.0.1 until interrupted."""
    from audit.sim.server import serve

    if secrets_out is not None and secrets_out.is_symlink():
        raise UsageError(f"--secrets-out {secrets_out}: is a symbolic link; refusing to follow it")
    try:
        serve(fixture=fixture, site=site, port=port, secrets_out=secrets_out, echo=click.echo)
    except OSError as exc:
        raise UsageError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}") from exc


# click 8.2+ raises it for a bare group; before, it printed the help itself
_NO_ARGS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def main() -> None:
    """The console entry point: a command-line mistake click finds (an unknown choice, a
    missing argument, a path that is not there) is one line too, as every other error."""
    try:
        code = cli.main(prog_name="permaudit", standalone_mode=False)
    except _NO_ARGS_HELP as exc:  # bare `permaudit`: its help
        click.echo(exc.format_message())
        sys.exit(int(ExitCode.OK))
    except click.UsageError as exc:
        where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        _fail(f"{exc.format_message()}{where}", ExitCode.USAGE)
    except click.ClickException as exc:
        _fail(exc.format_message(), ExitCode(exc.exit_code) if exc.exit_code in
              ExitCode._value2member_map_ else ExitCode.USAGE)
    except click.exceptions.Abort:
        _fail("interrupted", ExitCode.INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
