"""User mistakes that used to crash, hang, or change what was not ours to change: each is
now one line naming the file, key or value, and exit 2."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.analysis.sod import load_rules
from audit.analysis.suppress import load_suppressions
from audit.cli import cli
from audit.config.loader import ConfigError, load_config
from audit.results.files import private_dir
from audit.results.record import UserRecord
from audit.status import UsageError

SITE = '[site]\nurl = "https://erp.example.com"\n{site}\n[crawl]\n{crawl}\n' \
       '[[users]]\nname = "bot"\nauth = "token"\napi_key = "${{K}}"\napi_secret = "${{S}}"\n'
ENV = {"K": "k" * 15, "S": "s" * 15}


def _permaudit(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "audit.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **ENV})


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("permaudit:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_debug_keeps_the_exit_code_of_the_error(tmp_path: Path) -> None:
    config = tmp_path / "audit.toml"
    config.write_text(SITE.format(site="", crawl="").replace("${K}", "${NO_SUCH_VAR_XYZ}"))
    plain = _permaudit("check-auth", "-c", str(config))
    debug = _permaudit("--debug", "check-auth", "-c", str(config))
    assert plain.returncode == debug.returncode == 2
    assert "NO_SUCH_VAR_XYZ" in _one_line(plain)
    assert "Traceback" in debug.stderr and "NO_SUCH_VAR_XYZ" in debug.stderr.splitlines()[-1]


@pytest.mark.parametrize(("site", "crawl", "key"), [
    ("timeout = inf", "", "site.timeout"),
    ("timeout = nan", "", "site.timeout"),
    ("timeout = 1e308", "", "site.timeout"),
    ("max_reply_mb = inf", "", "site.max_reply_mb"),
    ("max_list_reply_mb = nan", "", "site.max_list_reply_mb"),
    ("", "rate_limit = 1e-300", "crawl.rate_limit"),
    ("", "rate_limit = inf", "crawl.rate_limit"),
    ("", "rate_limit = nan", "crawl.rate_limit"),
])
def test_numbers_a_wait_or_a_size_cannot_hold_are_refused(tmp_path: Path, site: str,
                                                          crawl: str, key: str) -> None:
    config = tmp_path / "audit.toml"
    config.write_text(SITE.format(site=site, crawl=crawl))
    with pytest.raises(ConfigError) as info:
        load_config(config, env=ENV)
    assert key in str(info.value) and "\n" not in str(info.value)


def test_a_fifo_where_a_file_belongs_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "audit.toml"
    os.mkfifo(fifo)
    for args in (["check-auth", "-c", str(fifo)], ["report", str(tmp_path)]):
        if args[0] == "report":
            fifo.rename(tmp_path / "results.json")
        result = _permaudit(*args, timeout=30)
        assert result.returncode == 2 and "not a regular file" in _one_line(result), args
    for load in (load_suppressions, lambda p: load_rules(p)):
        with pytest.raises(UsageError, match="not a regular file"):
            load(tmp_path / "results.json")


def test_suppressions_and_sod_rules_that_are_not_text_are_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "rules.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage\x9c")
    for load in (load_suppressions, lambda p: load_rules(p)):
        with pytest.raises(UsageError, match="not UTF-8"):
            load(binary)


def test_an_outdir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = _permaudit("demo", "-o", str(afile / "sub"), timeout=120)
    assert result.returncode == 2 and str(afile) in _one_line(result)


def test_an_empty_name_list_is_a_mistake_not_all(tmp_path: Path) -> None:
    config = tmp_path / "audit.toml"
    config.write_text(SITE.format(site="", crawl=""))
    for option in ("--users", "--doctypes"):
        for value in ("", ",,", " , "):
            result = CliRunner().invoke(cli, ["run", "-c", str(config), option, value],
                                        env=ENV)
            assert result.exit_code == 2 and option in result.stderr, (option, value)


def test_only_a_folder_of_ours_is_made_private(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "notes.txt").write_text("someone else's")
    (shared / "sub").mkdir()
    os.chmod(shared, 0o1777)
    private_dir(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777  # -o /tmp keeps /tmp as it is
    linked = tmp_path / "link"
    linked.symlink_to(shared)
    private_dir(linked)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    for files in ((), ("results.json", "probes.csv", ".report.html.tmp")):
        ours = tmp_path / f"ours{len(files)}"
        ours.mkdir(mode=0o755)
        for name in files:
            (ours / name).write_text("{}")
        os.chmod(ours, 0o755)
        private_dir(ours)
        assert stat.S_IMODE(ours.stat().st_mode) == 0o700, files
    fresh = private_dir(tmp_path / "new" / "out")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700


@pytest.mark.parametrize("user", [
    {"name": "bot", "expect": {"Customer": "read"}},
    {"name": "bot", "expect": {"Customer": ["reed"]}},
    {"name": "bot", "roles": "System Manager"},
])
def test_a_saved_user_of_the_wrong_shape_is_refused(user: dict[str, object]) -> None:
    """A text where a list belongs used to be read as its letters (a need silently gone)."""
    with pytest.raises(ValueError):
        UserRecord.from_json(user)


@pytest.mark.parametrize(("entries", "needle"), [
    ('[[suppress]]\nrule = "no-declared-need"\nreason = "x"\n', "needs an expiry"),
    ('[[suppress]]\nid = 42\nreason = "x"\nexpires = 2027-01-01\n', "id: expected a string"),
    ('[[suppress]]\nid = "a"\nrule = "no-declared-need"\nreason = "x"\n'
     'expires = 2027-01-01\n', "not both"),
    ('[[suppress]]\nid = "a"\nreason = "x"\nexpires = 2027-01-01\n'
     '[[suppress]]\nid = "a"\nreason = "y"\nexpires = 2020-01-01\n', "suppress[0]"),
])
def test_a_suppression_that_cannot_be_meant_is_refused(tmp_path: Path, entries: str,
                                                       needle: str) -> None:
    path = tmp_path / "suppress.toml"
    path.write_text(entries, "utf-8")
    with pytest.raises(UsageError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        load_suppressions(path)


@pytest.mark.parametrize("args", [
    ["run", "--fail-on", "sometimes"],
    ["report"],
    ["report", "a", "b"],
    ["explain", "--status", "abc"],
    ["run", "--usage-days", "-5"],
    ["check-auth", "extra"],
    ["nosuchcommand"],
])
def test_a_mistake_click_finds_is_one_line_too(args: list[str]) -> None:
    result = _permaudit(*args)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("permaudit: ") and "--help" in result.stderr


def test_help_and_version_still_exit_0() -> None:
    for args in (["--help"], ["--version"], ["run", "--help"]):
        result = _permaudit(*args)
        assert result.returncode == 0 and result.stdout, args


def test_a_damaged_baseline_is_refused_before_the_site_is_touched(tmp_path: Path) -> None:
    """The site's port is closed: a run that reached it would end with exit 3."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "audit.toml"
    config.write_text(SITE.format(site="", crawl="").replace(
        "https://erp.example.com", f"http://127.0.0.1:{port}"))
    damaged = tmp_path / "old.json"
    damaged.write_text('{"schema_version": 2, "run": {', "utf-8")
    outdir = tmp_path / "out"
    result = _permaudit("run", "-c", str(config), "-o", str(outdir), "--quiet",
                        "--baseline", str(damaged))
    assert result.returncode == 2 and str(damaged) in _one_line(result)
    assert not outdir.exists()  # nothing written: a rerun without --baseline is not refused
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    result = _permaudit("run", "-c", str(config), "--baseline", str(fifo), timeout=30)
    assert result.returncode == 2 and "not a regular file" in _one_line(result)


@pytest.mark.parametrize("args", [
    ["--from-results", "r.json", "--user", "a", "--doctype", "ToDo", "--op", "read",
     "--status", "403"],
    ["--status", "403", "--body", "b.json", "-c", "audit.toml"],
    ["--from-results", "r.json", "-c", "audit.toml", "--user", "a", "--doctype", "ToDo",
     "--op", "read"],
    ["-c", "audit.toml", "--user", "a", "--doctype", "ToDo", "--op", "read", "--url", "/x"],
])
def test_explain_refuses_two_ways_at_once(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["explain", *args])
    assert result.exit_code == 2 and "one way to explain" in result.stderr, result.stderr


def test_resume_keeps_the_runs_own_users_and_doctypes(tmp_path: Path) -> None:
    from test_cli_edges import CONFIG

    from audit.sim.fixtures.demo import demo_environment
    from audit.sim.server import SimServer

    with SimServer(fixture="demo", port=0) as sim:
        config = tmp_path / "audit.toml"
        config.write_text(CONFIG.format(host=sim.host, crawl="", expect='"ToDo" = ["read"]'),
                          "utf-8")
        env = demo_environment(sim.site, sim.url)
        out = str(tmp_path / "out")
        first = CliRunner().invoke(cli, ["run", "-c", str(config), "-o", out, "--quiet",
                                         "--users", "lean", "--doctypes", "ToDo"], env=env)
        assert first.exit_code in (0, 1), first.stderr
        for other in (["--users", "clerk", "--doctypes", "ToDo"], ["--users", "lean"],
                      ["--doctypes", "ToDo"]):
            again = CliRunner().invoke(cli, ["run", "-c", str(config), "-o", out, "--quiet",
                                             "--resume", *other], env=env)
            assert again.exit_code == 2 and "was started with" in again.stderr, other
        same = CliRunner().invoke(cli, ["run", "-c", str(config), "-o", out, "--quiet",
                                        "--resume", "--users", "lean", "--doctypes", "ToDo"],
                                  env=env)
        assert same.exit_code in (0, 1), same.stderr


def test_demo_never_regenerates_a_folder_holding_another_sites_run(tmp_path: Path) -> None:
    from audit.crawl.engine import Checkpoint
    from audit.runner import _check_demo_outdir

    real = tmp_path / "prod"
    real.mkdir()
    Checkpoint(real / "checkpoint.jsonl").begin(
        {"config_digest": "sha256:x", "mode": "safe",
         "site_id": "https://erp.example.com:443 host=erp.example.com"})
    (real / "results.json").write_text("{}", "utf-8")
    result = _permaudit("demo", "-o", str(real), timeout=120)
    assert result.returncode == 2 and "not the demo's" in _one_line(result)
    assert (real / "results.json").read_text("utf-8") == "{}"  # untouched
    demo = tmp_path / "demo"
    demo.mkdir()
    Checkpoint(demo / "checkpoint.jsonl").begin(
        {"config_digest": "sha256:y", "mode": "safe",
         "site_id": "http://127.0.0.1:40000 host=demo.localhost"})
    _check_demo_outdir(demo, "demo.localhost")  # the demo's own: regenerated
    _check_demo_outdir(tmp_path / "empty", "demo.localhost")


@pytest.mark.parametrize(("rules", "needle"), [
    ('[[rule]]\nid = "x"\na = ["Supplier|create"]\nb = ["Payment Entry|submit"]\n'
     '[[rule]]\nid = "x"\na = ["Customer|create"]\nb = ["Sales Invoice|submit"]\n', "its own"),
    ('[[rule]]\nid = "x"\ntitle = 5\na = ["Supplier|create"]\nb = ["Payment Entry|submit"]\n',
     "title: expected a string"),
    ('[[rule]]\nid = "x"\na = ["Journal Entry|create"]\nb = ["Journal Entry|create"]\n',
     "'Journal Entry|create' is on both sides"),
])
def test_a_sod_rule_that_cannot_be_meant_is_refused(tmp_path: Path, rules: str,
                                                    needle: str) -> None:
    path = tmp_path / "sod.toml"
    path.write_text(rules, "utf-8")
    with pytest.raises(UsageError, match=needle):
        load_rules(path)


def test_a_need_outside_the_crawls_scope_is_said_not_silently_dropped(tmp_path: Path) -> None:
    from test_cli_edges import CONFIG

    from audit.sim.fixtures.demo import demo_environment
    from audit.sim.server import SimServer

    with SimServer(fixture="demo", port=0) as sim:
        config = tmp_path / "audit.toml"
        config.write_text(CONFIG.format(host=sim.host, crawl='doctypes = ["ToDo"]',
                                        expect='"Sales Invoice" = ["read"]'), "utf-8")
        result = CliRunner().invoke(cli, ["run", "-c", str(config), "-o", str(tmp_path / "o"),
                                          "--quiet", "--users", "lean"],
                                    env=demo_environment(sim.site, sim.url))
    assert result.exit_code in (0, 1), result.stderr
    warning = [line for line in result.stderr.splitlines() if "outside the crawl" in line]
    assert len(warning) == 1 and "'Customer', 'Sales Invoice'" in warning[0], result.stderr


def test_bare_permaudit_shows_its_help_and_offline_explain_refuses_live_options() -> None:
    bare = _permaudit()
    assert bare.returncode == 0 and bare.stdout.startswith("Usage:") and not bare.stderr
    mixed = CliRunner().invoke(cli, ["explain", "--user", "a", "--doctype", "ToDo", "--op",
                                     "read", "--url", "/x"])
    assert mixed.exit_code == 2 and "one way to explain" in mixed.stderr
