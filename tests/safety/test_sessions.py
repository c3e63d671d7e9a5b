"""Logins are never re-sent, every session opened is logged out, passive never refreshes."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.auth import identities
from audit.auth.identities import LoginBudget, connect
from audit.config.loader import load_config
from audit.http.client import ClientOptions
from audit.sim.fixtures import hazards
from audit.sim.server import SimServer

from .conftest import SAFE_DOCTYPES, audit, changes

LOGIN = "/api/method/login"
TOKEN = "/api/method/frappe.integrations.oauth2.get_token"


def _sessions(sim: SimServer, user: str) -> list[str]:
    return [s.sid for s in sim.runtime.sessions.values() if s.user == user]


def test_a_login_answered_429_is_never_sent_again(sim: SimServer, tmp_path: Path) -> None:
    # Frappe logs the user in before its limiter answers 429: the reply's session is used
    sim.controls.throttle_next("POST", LOGIN)
    result = audit(sim, tmp_path, users=("clerk",), doctypes=("Hazard Note",))
    logins = [(r.path, r.status) for r in sim.controls.requests if r.path == LOGIN]
    assert logins == [(LOGIN, 429)]
    assert [u for u, _ok in sim.controls.login_attempts] == [f"clerk@{hazards.DOMAIN}"]
    assert _sessions(sim, f"clerk@{hazards.DOMAIN}") == []  # logged out at the end
    assert result.row("clerk", "Hazard Note", "read")["outcome"] == "allowed"
    assert changes(sim) == []


def test_a_password_run_leaves_a_closed_session_two_activity_rows_and_last_login(
        sim: SimServer, tmp_path: Path) -> None:
    # the README's residue of a password login; no document is changed
    user = f"clerk@{hazards.DOMAIN}"
    assert sim.site.users[user].last_login is None
    audit(sim, tmp_path, users=("clerk",), doctypes=("Hazard Note",))
    assert [r.status for r in sim.controls.requests if r.path == LOGIN] == [200]
    assert [r.status for r in sim.controls.requests if r.path.endswith("/logout")] == [200]
    assert _sessions(sim, user) == []
    activity = sorted(str(d.values["subject"]) for d in sim.site.docs("Activity Log").values()
                      if d.values.get("user") == user)
    assert len(activity) == 2 and "logged in" in activity[0] and "logged out" in activity[1]
    assert sim.site.users[user].last_login is not None
    assert changes(sim) == []


def test_a_session_opened_is_logged_out_when_connecting_is_interrupted(
        sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "audit.toml"
    config_file.write_text(hazards.config_toml("safe", ("clerk",)), encoding="utf-8")
    config = load_config(config_file, env=hazards.environment(sim.site, sim.url),
                         warn=lambda _m: None)
    real_call = identities.FrappeClient.call

    def interrupted(self, dotted, **kwargs):  # type: ignore[no-untyped-def]
        if dotted == identities.LOGGED_USER:
            raise KeyboardInterrupt  # Ctrl-C right after the login
        return real_call(self, dotted, **kwargs)

    monkeypatch.setattr(identities.FrappeClient, "call", interrupted)
    options = ClientOptions(host_header=sim.host, retries=0)
    with pytest.raises(KeyboardInterrupt):
        connect(config.users[0], sim.url, options, None, LoginBudget())
    assert [r.status for r in sim.controls.requests if r.path == LOGIN] == [200]
    assert _sessions(sim, f"clerk@{hazards.DOMAIN}") == []


def test_passive_never_refreshes_an_expiring_token(sim: SimServer, tmp_path: Path) -> None:
    token = sim.secrets["<bearer:partner>"]
    sim.controls.expire_token_after(token, 6)  # mid-run: after discovery and a few lists
    result = audit(sim, tmp_path, mode="passive", users=("partner",), concurrency=1)
    assert not [r for r in sim.controls.requests if r.path == TOKEN]
    assert changes(sim) == []
    rows = [r for r in result.rows if r["user"] == "partner"]
    errors = [r for r in rows if r["outcome"] == "error"]
    assert errors and len(errors) < len(rows)  # the token did expire mid-run
    assert all("passive mode never refreshes" in r["reason"] for r in errors), errors
    refused = [r for r in sim.controls.requests if r.authorization_kind == "bearer"
               and r.status == 401]
    assert len(refused) == 1  # the remaining cells send nothing more


def test_safe_refreshes_an_expiring_token(sim: SimServer, tmp_path: Path) -> None:
    # what a safe run may still leave behind: one new OAuth Bearer Token (README)
    token = sim.secrets["<bearer:partner>"]
    sim.controls.expire_token_after(token, 6)
    result = audit(sim, tmp_path, mode="safe", users=("partner",), doctypes=SAFE_DOCTYPES,
                   concurrency=1)
    assert [r.status for r in sim.controls.requests if r.path == TOKEN] == [200]
    assert not [r for r in result.rows if r["outcome"] == "error"]
    assert len(sim.site.oauth_tokens) == 2
