"""Faults on the site never turn into a wrong verdict, and never lock an account."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import pytest

from audit.config.loader import AuditConfig, UserConfig
from audit.config.secrets import Secret
from audit.model import AuthMethod, Outcome
from audit.sim.server import SimServer
from audit.status import ExitCode

from .conftest import demo_config, mismatches, run
from .faults import FaultyProxy, Rates, matching


def _outcomes(result) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(r["outcome"] for r in result.rows)


@pytest.mark.slow
def test_injected_500s_give_errors_never_wrong_verdicts(demo_sim: SimServer,
                                                        tmp_path: Path) -> None:
    config = demo_config(demo_sim)
    demo_sim.controls.seed(7)
    demo_sim.controls.error_rate = 0.15
    result = run(config, tmp_path / "out")
    assert not mismatches(result, demo_sim, verdicts_only=True)
    outcomes = _outcomes(result)
    assert outcomes[Outcome.ERROR.value] > 0, "no fault reached a probe"
    assert outcomes[Outcome.ALLOWED.value] and outcomes[Outcome.DENIED.value]
    errors = [r for r in result.rows if r["outcome"] == "error"]
    assert all(r["reason"] for r in errors)


@pytest.mark.slow
def test_dropped_connections_give_errors_never_wrong_verdicts(demo_sim: SimServer,
                                                              tmp_path: Path,
                                                              quick_backoff: float) -> None:
    config = demo_config(demo_sim)
    demo_sim.controls.seed(11)
    demo_sim.controls.drop_rate = 0.1
    result = run(config, tmp_path / "out")
    assert not mismatches(result, demo_sim, verdicts_only=True)
    assert _outcomes(result)[Outcome.ALLOWED.value]


@pytest.mark.slow
def test_429_storm_is_waited_out(demo_sim: SimServer, tmp_path: Path) -> None:
    config = demo_config(demo_sim, doctypes=("Customer", "Supplier", "Sales Invoice", "ToDo"))
    # Frappe's limiter counts server time per window; a tiny budget makes it refuse often.
    demo_sim.controls.set_rate_limit(0.02, 1)
    result = run(config, tmp_path / "out")
    demo_sim.controls.rate_limit_off()
    statuses = Counter(r.status for r in demo_sim.controls.requests)
    # The crawl reads the limiter's X-RateLimit headers and waits before it refuses;
    # what slips through in flight is a 429, waited out.
    waited = result.data["run"]["pace"]["pauses"].get("site limiter", 0)
    assert statuses[429] > 0 or waited > 0, "the site's limiter never came into play"
    assert not mismatches(result, demo_sim)
    assert not _outcomes(result)[Outcome.ERROR.value]


def _password_users(config: AuditConfig) -> list[UserConfig]:
    return [u for u in config.users if u.auth is AuthMethod.PASSWORD]


def test_session_expiry_mid_crawl_logs_in_again_once(demo_sim: SimServer,
                                                     tmp_path: Path) -> None:
    config = demo_config(demo_sim)
    users = _password_users(config)
    assert users, "the demo config has a password user"
    config = replace(config, users=tuple(users))
    demo_sim.controls.session_expiry_s = 1.5
    demo_sim.controls.latency_s = 0.002
    result = run(config, tmp_path / "out")
    assert not mismatches(result, demo_sim, verdicts_only=True)
    attempts = Counter(u for u, _ok in demo_sim.controls.login_attempts)
    assert all(n <= 2 for n in attempts.values()), attempts  # one login, at most one re-login
    assert _outcomes(result)[Outcome.ALLOWED.value]


def test_wrong_password_gets_exactly_one_attempt(demo_sim: SimServer, tmp_path: Path) -> None:
    config = demo_config(demo_sim, doctypes=("Customer", "ToDo"))
    user = _password_users(config)[0]
    wrong = replace(user, name="wrong-password", password=Secret("not-the-password"))
    others = tuple(u for u in config.users if u.name != user.name)
    config = replace(config, users=(*others, wrong))
    result = run(config, tmp_path / "out")
    assert result.code is ExitCode.FINDINGS  # auth-failed is high
    tries = [ok for usr, ok in demo_sim.controls.login_attempts if usr == user.username]
    assert tries.count(False) == 1
    rows = [r for r in result.rows if r["user"] == "wrong-password"]
    assert rows and {r["outcome"] for r in rows} <= {"auth_failed", "not_applicable"}
    assert result.data["users"]["wrong-password"]["auth_failure"]


def test_no_more_than_three_failed_logins_per_run(demo_sim: SimServer, tmp_path: Path) -> None:
    config = demo_config(demo_sim, doctypes=("Customer",))
    user = _password_users(config)[0]
    wrong = tuple(replace(user, name=f"wrong-{i}", username=f"ghost{i}@demo.example",
                          password=Secret(f"bad-{i}")) for i in range(5))
    config = replace(config, users=wrong)
    result = run(config, tmp_path / "out")
    assert result.code is ExitCode.UNREACHABLE
    assert len(demo_sim.controls.login_attempts) == 3
    causes = [result.data["users"][f"wrong-{i}"]["auth_failure"] for i in range(5)]
    assert sum("not attempted" in c for c in causes) == 2


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_faults_during_discovery_never_give_wrong_verdicts(demo_sim: SimServer, tmp_path: Path,
                                                           seed: int) -> None:
    """A quarter of all replies fail, the auditor's login and listings included: the facts a
    verdict would rest on (User Permissions, roles, shares) may be missing, never assumed."""
    config = demo_config(demo_sim, doctypes=("Note", "ToDo", "Customer"))
    demo_sim.controls.seed(seed)
    demo_sim.controls.error_rate = 0.25
    result = run(config, tmp_path / "out")
    assert not mismatches(result, demo_sim, verdicts_only=True)


@pytest.mark.parametrize("filtered_too", [False, True], ids=["list", "list-and-fetch"])
def test_own_documents_the_auditor_cannot_list_are_found_when_the_users_list_fails(
        tmp_path: Path, filtered_too: bool) -> None:
    """Note's list is filtered for everyone but Administrator (owner or public, SPEC.md
    §3.7): the auditor's owner-filtered fetch finds none of another user's private notes.
    When the user's own list then fails, only the user itself can find its own note; a
    refusal on someone else's public note is no verdict on an if_owner right. When the
    user's own fetch fails too, the cell is an error."""
    sim = SimServer(fixture="demo", port=0)
    key = sim.site.secrets["<api_key:owner>"]
    own_list = matching(key, "/api/resource/Note")
    proxy = FaultyProxy(sim.app, Rates(waf=1.0),  # the list (and the filtered fetch)
                        only=lambda env: env["REQUEST_METHOD"] == "GET" and own_list(env)
                        and (filtered_too
                             or "filters=" not in unquote(env.get("QUERY_STRING", ""))))
    sim.app = proxy  # type: ignore[assignment]
    with sim:
        config = demo_config(sim, doctypes=("Note",))
        result = run(config, tmp_path / "out", fail_on=None)
        assert proxy.seen["waf"] >= (2 if filtered_too else 1), "the lists never failed"
        assert not mismatches(result, sim, verdicts_only=True)
        cells = {(r["user"], r["op"]): r for r in result.rows}
        for op in ("write", "delete"):
            row = cells[("owner", op)]
            if filtered_too:
                assert row["outcome"] == "error", row
                assert "own documents" in row["reason"]
            else:
                assert row["outcome"] == "allowed", row
                assert "if_owner" in row["limits"]
