"""check-auth: rendering and exit codes, then every reference user against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.auth.checkauth import (
    AuthCheck,
    check_auth,
    check_auth_exit_code,
    describe_failure,
    render_check_auth,
)
from audit.auth.identities import AuthFailure
from audit.cli import cli
from audit.config.loader import load_config
from audit.config.secrets import REGISTRY
from audit.http.client import ClientOptions
from audit.model import AuthMethod
from audit.sim.server import SimServer
from audit.status import ExitCode


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


OK = AuthCheck("clerk", AuthMethod.TOKEN, "clerk@example.com", None)
FAIL = AuthCheck("basic-email", AuthMethod.BASIC, None, AuthFailure(
    "basic-email", AuthMethod.BASIC, 401, "AuthenticationError", "the cause", "the fix"))
NO_REPLY = AuthCheck("far", AuthMethod.TOKEN, None, AuthFailure(
    "far", AuthMethod.TOKEN, None, "", "the site could not be reached", "check [site] url"))


def test_render_one_line_per_user() -> None:
    lines = render_check_auth([OK, FAIL, NO_REPLY]).splitlines()
    assert len(lines) == 3
    assert lines[0].split() == ["clerk", "token", "clerk@example.com"]
    assert lines[1].startswith("basic-email")
    assert lines[1].split(None, 2)[1:] == [
        "basic", "FAILED 401 AuthenticationError: the cause -> the fix"]
    assert lines[2].split(None, 2)[2] == ("FAILED: the site could not be reached -> "
                                          "check [site] url")
    # columns line up
    assert lines[0].index("clerk@") == lines[1].index("FAILED") == lines[2].index("FAILED")


def test_render_masks_secrets() -> None:
    REGISTRY.register("leaky-secret-0042")
    leak = AuthCheck("x", AuthMethod.TOKEN, None, AuthFailure(
        "x", AuthMethod.TOKEN, 401, "", "echoed leaky-secret-0042", "f"))
    assert "leaky-secret-0042" not in render_check_auth([leak])


def test_describe_failure() -> None:
    assert describe_failure(FAIL.failure) == ("FAILED 401 AuthenticationError: the cause -> "
                                              "the fix")  # type: ignore[arg-type]


@pytest.mark.parametrize(("checks", "code"), [
    ([OK], ExitCode.OK),
    ([OK, OK], ExitCode.OK),
    ([OK, FAIL], ExitCode.FINDINGS),
    ([FAIL, NO_REPLY], ExitCode.UNREACHABLE),
    ([], ExitCode.UNREACHABLE),
])
def test_exit_code(checks: list[AuthCheck], code: ExitCode) -> None:
    assert check_auth_exit_code(checks) is code
    assert OK.ok and not FAIL.ok


# -- every reference user against the simulated site ---------------------------------------
TOKEN_USERS = ["auditor", "clerk", "manager", "memo", "readonly", "restricted", "disabled",
               "website"]


def reference_toml(sim: SimServer) -> str:
    parts = [f'[site]\nurl = "{sim.url}"\nhost = "{sim.host}"\ntimeout = 10\n',
             '[auditor]\napi_key = "${KEY_auditor}"\napi_secret = "${SECRET_auditor}"\n']
    for who in TOKEN_USERS:
        parts.append(f'[[users]]\nname = "{who}"\nauth = "token"\napi_key = "${{KEY_{who}}}"\n'
                     f'api_secret = "${{SECRET_{who}}}"\n')
    parts.append('[[users]]\nname = "nokey"\nauth = "password"\n'
                 'username = "nokey@example.com"\npassword = "${PASSWORD}"\n')
    parts.append('[[users]]\nname = "clerk-oauth"\nauth = "oauth"\n'
                 'access_token = "${BEARER}"\nrefresh_token = "${REFRESH}"\n'
                 'client_id = "see26bk3pc"\n')
    parts.append('[[users]]\nname = "clerk-basic"\nauth = "basic"\n'
                 'api_key = "${KEY_clerk}"\napi_secret = "${SECRET_clerk}"\n')
    parts.append('[[users]]\nname = "wrong-secret"\nauth = "token"\n'
                 'api_key = "${KEY_manager}"\napi_secret = "${WRONG}"\n')
    parts.append('[[users]]\nname = "basic-email"\nauth = "basic"\n'
                 'api_key = "clerk@example.com"\napi_secret = "${PASSWORD}"\n')
    return "\n".join(parts)


def reference_env(sim: SimServer) -> dict[str, str]:
    env = {"PASSWORD": sim.secrets["<password>"], "BEARER": sim.secrets["<bearer:clerk>"],
           "REFRESH": sim.secrets["<refresh_token:clerk>"], "WRONG": "wrongsecret123"}
    for who in TOKEN_USERS:
        env[f"KEY_{who}"] = sim.secrets[f"<api_key:{who}>"]
        env[f"SECRET_{who}"] = sim.secrets[f"<api_secret:{who}>"]
    return env


EXPECTED_OK = {**{who: f"{who}@example.com" for who in TOKEN_USERS},
               "nokey": "nokey@example.com", "clerk-oauth": "clerk@example.com",
               "clerk-basic": "clerk@example.com"}


@pytest.fixture
def reference() -> Iterator[SimServer]:
    with SimServer(fixture="reference") as sim:
        yield sim


def test_check_auth_reference_users(reference: SimServer, tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(reference_toml(reference))
    config = load_config(path, env=reference_env(reference), warn=lambda m: None)
    options = ClientOptions.from_config(config.site, ca_bundle=None, allow_insecure=False,
                                        pool_size=2)
    checks = check_auth(config, options)
    assert [c.user for c in checks] == [u.name for u in config.users]  # config order, no auditor
    by_name = {c.user: c for c in checks}
    for name, frappe_user in EXPECTED_OK.items():
        assert by_name[name].frappe_user == frappe_user, by_name[name]
        assert by_name[name].failure is None
    wrong = by_name["wrong-secret"].failure
    assert wrong is not None and (wrong.status, wrong.exc_type) == (401, "AuthenticationError")
    assert "API key or secret was refused" in wrong.cause
    assert wrong.cause_id == "wrong-secret"  # the catalogue classifier's id
    assert describe_failure(wrong).startswith("FAILED 401 AuthenticationError [wrong-secret]: ")
    email = by_name["basic-email"].failure
    assert email is not None and email.status == 401
    assert "Frappe reads HTTP Basic as api_key:api_secret" in email.cause
    assert email.cause_id == "basic-email-password"
    assert check_auth_exit_code(checks) is ExitCode.FINDINGS
    # the password user logged in exactly once and logged out again
    assert reference.controls.login_attempts == [("nokey@example.com", True)]
    assert not reference.runtime.sessions

    text = render_check_auth(checks)
    lines = text.splitlines()
    assert len(lines) == len(checks)
    assert lines[1].split() == ["clerk", "token", "clerk@example.com"]
    assert lines[-1].split(None, 2)[:2] == ["basic-email", "basic"]
    assert ("FAILED 401 AuthenticationError [basic-email-password]: Frappe reads HTTP Basic"
            in lines[-1])
    for value in reference_env(reference).values():
        if len(value) >= 6:
            assert value not in text


def test_check_auth_command(reference: SimServer, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(reference_toml(reference))
    for name, value in reference_env(reference).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["check-auth", "-c", str(path)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == ExitCode.FINDINGS
    lines = result.stdout.splitlines()
    assert len(lines) == 13
    assert lines[0].split() == ["auditor", "token", "auditor@example.com"]
    assert "FAILED 401" in lines[-2] and "FAILED 401" in lines[-1]
    assert reference.secrets["<password>"] not in result.output


def test_check_auth_unreachable_site(tmp_path: Path) -> None:
    from helpers_http import free_port

    path = tmp_path / "audit.toml"
    path.write_text(f'[site]\nurl = "http://127.0.0.1:{free_port()}"\ntimeout = 2\n'
                    '[[users]]\nname = "a"\napi_key = "k-aaaa"\napi_secret = "s-bbbb"\n')
    config = load_config(path, env={}, warn=lambda m: None)
    checks = check_auth(config, ClientOptions(retries=0))
    assert check_auth_exit_code(checks) is ExitCode.UNREACHABLE
    failure = checks[0].failure
    assert failure is not None and failure.status is None
    assert "FAILED: the site could not be reached" in render_check_auth(checks)


@pytest.mark.parametrize("mode", ["passive", "safe"])
def test_check_auth_refreshes_an_expired_oauth_token_only_outside_passive(
        reference: SimServer, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(reference_toml(reference).replace(
        "[auditor]", f'[crawl]\nmode = "{mode}"\n\n[auditor]', 1))
    config = load_config(path, env=reference_env(reference), warn=lambda m: None)
    options = ClientOptions.from_config(config.site, ca_bundle=None, allow_insecure=False,
                                        pool_size=2)
    reference.controls.expire_token(reference.secrets["<bearer:clerk>"])
    before = len(reference.site.oauth_tokens)
    checks = {c.user: c for c in check_auth(config, options)}
    refreshes = [r for r in reference.controls.requests if r.path.endswith("oauth2.get_token")]
    oauth = checks["clerk-oauth"]
    if mode == "safe":
        assert oauth.frappe_user == "clerk@example.com" and len(refreshes) == 1
        assert len(reference.site.oauth_tokens) == before + 1
        return
    assert refreshes == [] and len(reference.site.oauth_tokens) == before
    assert oauth.failure is not None and oauth.failure.status == 401
    line = describe_failure(oauth.failure)
    assert "passive mode never refreshes a token" in line, line
    assert "run in safe mode" in line and "give refresh_token" not in line, line
    assert checks["clerk"].frappe_user == "clerk@example.com"  # the others are unaffected
