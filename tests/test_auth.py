"""Identities, the login budget and failure causes.

Unit tests and a small fake site for the concurrency rules (one re-login, one
refresh, whatever the number of threads); tests against the simulated Frappe site
(real transcripts' behaviour) are at the end of the file.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers_http import free_port, json_response, recording_server
from werkzeug.wrappers import Request, Response

from audit.auth.identities import (
    BASIC_EMAIL_CAUSE,
    BASIC_EMAIL_FIX,
    LOGGED_USER,
    AuthFailed,
    AuthFailure,
    BasicIdentity,
    LoginBudget,
    LoginRefused,
    OAuthIdentity,
    PasswordIdentity,
    TokenIdentity,
    basic_email_hint,
    classify_auth_reply,
    classify_transport_error,
    connect,
    make_identity,
)
from audit.config.loader import UserConfig
from audit.config.secrets import REGISTRY, Secret
from audit.http.client import (
    ClientOptions,
    FrappeClient,
    FrappeReply,
    RedirectError,
    TransportError,
)
from audit.model import AuthMethod
from audit.sim.server import SimServer

FAST = ClientOptions(connect_timeout=2, read_timeout=3, retries=1, backoff=0.01)
PASSWORD = "fake-pass-91b7"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def password_user(name: str = "ops", username: str = "ops@example.com",
                  password: str = PASSWORD) -> UserConfig:
    return UserConfig(name=name, auth=AuthMethod.PASSWORD, username=username,
                      password=Secret(password))


def oauth_user(access: str | None, refresh: str | None = None,
               client_id: str | None = None) -> UserConfig:
    return UserConfig(name="app", auth=AuthMethod.OAUTH,
                      access_token=Secret(access) if access else None,
                      refresh_token=Secret(refresh) if refresh else None, client_id=client_id)


# -- a tiny fake site: sessions, bearer tokens, the refresh grant ---------------------------
@dataclass
class FakeSite:
    users: dict[str, str] = field(default_factory=lambda: {"ops@example.com": PASSWORD})
    sids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)
    id_tokens: list[str] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)
    grants: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Response:
        with self.lock:
            return self.handle(request)

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/api/method/login":
            body = json.loads(request.get_data() or b"{}")
            ok = self.users.get(body.get("usr")) == body.get("pwd")
            self.logins.append((body.get("usr"), ok))
            if not ok:
                return json_response({"message": "Invalid login credentials",
                                      "exc_type": "AuthenticationError"}, 401)
            sid = secrets.token_hex(8)
            self.sids[sid] = body["usr"]
            r = json_response({"message": "Logged In", "home_page": "/app", "full_name": "Ops"})
            r.set_cookie("sid", sid)
            return r
        if path == "/api/method/frappe.integrations.oauth2.get_token":
            form = dict(request.form)
            self.grants.append(form | {"_auth": request.headers.get("Authorization", "")})
            user = self.refresh.pop(form.get("refresh_token", ""), None)
            if form.get("grant_type") != "refresh_token" or user is None:
                return json_response({"error": "invalid_grant"}, 400)
            access, new_refresh = secrets.token_hex(6), secrets.token_hex(6)
            self.tokens[access] = user
            self.refresh[new_refresh] = user
            id_token = secrets.token_hex(16)  # an OpenID provider's, beside the pair
            self.id_tokens.append(id_token)
            return json_response({"access_token": access, "refresh_token": new_refresh,
                                  "token_type": "Bearer", "expires_in": 3600,
                                  "id_token": id_token})
        if path == "/api/method/logout":
            self.sids.pop(request.cookies.get("sid", ""), None)
            return json_response({"message": "No App"})
        user, expired = self.who(request)
        if user is None and request.headers.get("Authorization"):
            return json_response({"exc_type": "AuthenticationError"}, 401)
        if user is None:
            body: dict[str, Any] = {"exc_type": "PermissionError"}
            if expired:
                body["session_expired"] = 1
            return json_response(body, 403)
        return json_response({"message": user})

    def who(self, request: Request) -> tuple[str | None, bool]:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return self.tokens.get(auth[7:]), False
        sid = request.cookies.get("sid")
        if sid:
            return self.sids.get(sid), sid not in self.sids
        return None, False


def run_threads(n: int, work: Any) -> list[Any]:
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def wrap(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


WHO = "/api/method/frappe.auth.get_logged_user"


def test_password_login_once_and_cookie_shared_by_threads() -> None:
    site = FakeSite()
    with recording_server(site) as (url, rec):
        budget = LoginBudget()
        client = connect(password_user(), url, FAST, None, budget)
        assert client.identity.frappe_user == "ops@example.com"
        replies = run_threads(6, lambda i: client.get(WHO))
        assert all(r.message == "ops@example.com" for r in replies)
        client.identity.logout(client)
        client.close()
    assert site.logins == [("ops@example.com", True)]
    login = rec.seen[0]
    assert login.path == "/api/method/login" and "Authorization" not in login.headers
    assert "Cookie" not in login.headers
    assert json.loads(login.body) == {"usr": "ops@example.com", "pwd": PASSWORD}
    calls = [s for s in rec.seen if s.path == WHO]
    assert all(s.headers["Cookie"].startswith("sid=") and "Authorization" not in s.headers
               for s in calls)
    assert rec.seen[-1].path == "/api/method/logout"
    assert not site.sids  # logged out


def test_session_expired_relogs_in_once_for_all_threads() -> None:
    site = FakeSite()
    with recording_server(site) as (url, _):
        client = connect(password_user(), url, FAST, None, LoginBudget())
        site.sids.clear()  # every session expires
        replies = run_threads(8, lambda i: client.get(WHO))
        assert all(r.status == 200 for r in replies)
        assert [ok for _, ok in site.logins] == [True, True]
        site.sids.clear()  # expires again: no second re-login in this run
        again = client.get(WHO)
        assert again.status == 403 and again.session_expired
        assert len(site.logins) == 2
        client.close()


def test_failed_login_is_classified_and_never_repeated() -> None:
    site = FakeSite()
    budget = LoginBudget()
    with recording_server(site) as (url, _):
        with pytest.raises(AuthFailed) as info:
            connect(password_user(password="wrong-pass"), url, FAST, None, budget)
        failure = info.value.failure
        assert failure.status == 401 and failure.exc_type == "AuthenticationError"
        assert "wrong password or unknown user" in failure.cause
        with pytest.raises(AuthFailed) as again:
            connect(password_user(password="wrong-pass"), url, FAST, None, budget)
    assert again.value.failure.cause.startswith("not attempted: ")
    assert again.value.failure.status is None
    assert len(site.logins) == 1 and budget.failures == 1
    assert "wrong-pass" not in str(info.value)


def test_budget_stops_after_three_failed_logins() -> None:
    site = FakeSite()
    budget = LoginBudget()
    with recording_server(site) as (url, _):
        for i in range(4):
            with pytest.raises(AuthFailed) as info:
                connect(password_user(f"u{i}", f"u{i}@example.com", "x-wrong"), url, FAST,
                        None, budget)
    assert len(site.logins) == 3
    assert info.value.failure.cause.startswith("not attempted: 3 password logins already failed")


def test_login_budget_rules() -> None:
    budget = LoginBudget(max_failures=2)
    budget.begin("A@example.com")
    with pytest.raises(LoginRefused):
        budget.begin("a@example.com ")  # the same account, however spelt
    with pytest.raises(LoginRefused):
        budget.begin("a@example.com", relogin=True)  # still pending
    budget.record("a@example.com", ok=True)
    budget.begin("a@example.com", relogin=True)
    budget.record("a@example.com", ok=True)
    with pytest.raises(LoginRefused):
        budget.begin("a@example.com", relogin=True)  # only once
    for name in ("b", "c"):
        budget.begin(name)
        budget.record(name, ok=False)
    with pytest.raises(LoginRefused, match="2 password logins already failed"):
        budget.begin("d")
    assert budget.failures == 2


def test_login_budget_is_thread_safe() -> None:
    budget = LoginBudget()

    def attempt(i: int) -> bool:
        try:
            budget.begin("same@example.com")
        except LoginRefused:
            return False
        return True

    assert sum(run_threads(16, attempt)) == 1


def test_oauth_refresh_once_for_all_threads_on_401() -> None:
    site = FakeSite(refresh={"r-1": "app@example.com"})
    with recording_server(site) as (url, rec):
        user = oauth_user("expired-token", "r-1", "cid1")
        client = connect(user, url, FAST, None, LoginBudget())
        assert client.identity.frappe_user == "app@example.com"
        identity = client.identity
        assert isinstance(identity, OAuthIdentity) and identity.refreshes == 1
        replies = run_threads(6, lambda i: client.get(WHO))
        assert all(r.status == 200 for r in replies)
        assert identity.refreshes == 1
        site.tokens.clear()  # the new token dies at once: no refresh loop
        assert client.get(WHO).status == 401
        assert identity.refreshes == 1
        client.close()
    grant = site.grants[0]
    assert grant == {"grant_type": "refresh_token", "refresh_token": "r-1", "client_id": "cid1",
                     "_auth": ""}
    token_call = next(s for s in rec.seen if s.path.endswith("get_token"))
    assert token_call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    # the refreshed tokens are masked wherever they would be printed
    new_access = next(iter(site.tokens), None) or "gone"
    assert REGISTRY.mask(f"x {new_access}") in ("x ***", "x gone")
    assert site.id_tokens and REGISTRY.mask(f"x {site.id_tokens[0]}") == "x ***"


def test_oauth_without_access_token_refreshes_first() -> None:
    site = FakeSite(refresh={"r-2": "app@example.com"})
    with recording_server(site) as (url, _):
        client = connect(oauth_user(None, "r-2", "cid"), url, FAST, None, LoginBudget())
        assert client.identity.frappe_user == "app@example.com"
        client.close()
    assert len(site.grants) == 1


def test_oauth_refresh_refused() -> None:
    site = FakeSite()
    with recording_server(site) as (url, _), pytest.raises(AuthFailed) as info:
        connect(oauth_user(None, "unknown", "cid"), url, FAST, None, LoginBudget())
    f = info.value.failure
    assert f.status == 400 and f.exc_type == "invalid_grant"
    assert "refresh token was refused" in f.cause


def test_oauth_without_refresh_reports_401() -> None:
    site = FakeSite()
    with recording_server(site) as (url, _), pytest.raises(AuthFailed) as info:
        connect(oauth_user("nope"), url, FAST, None, LoginBudget())
    assert info.value.failure.status == 401
    assert "bearer token is unknown, expired or revoked" in info.value.failure.cause
    assert site.grants == []


def test_csrf_token_header_sent_when_known() -> None:
    site = FakeSite()
    with recording_server(site) as (url, rec):
        client = connect(password_user(), url, FAST, None, LoginBudget())
        identity = client.identity
        assert isinstance(identity, PasswordIdentity)
        identity.csrf_token = Secret("csrf-abc-123")
        identity._bump()
        client.post("/api/method/frappe.client.has_permission", json={})
        client.close()
    assert rec.seen[-1].headers["X-Frappe-CSRF-Token"] == "csrf-abc-123"


def test_identity_headers() -> None:
    key, secret = Secret("k-123456"), Secret("s-654321")
    token = make_identity(UserConfig("t", AuthMethod.TOKEN, api_key=key, api_secret=secret),
                          LoginBudget())
    basic = make_identity(UserConfig("b", AuthMethod.BASIC, api_key=key, api_secret=secret),
                          LoginBudget())
    assert isinstance(token, TokenIdentity) and isinstance(basic, BasicIdentity)
    assert token._headers() == {"Authorization": "token k-123456:s-654321"}
    assert basic._headers() == {"Authorization": "Basic ay0xMjM0NTY6cy02NTQzMjE="}
    assert "s-654321" not in repr(token) and "654321" not in repr(basic)
    assert REGISTRY.mask(basic._headers()["Authorization"]) == "Basic ***"
    oauth = make_identity(oauth_user("bearer-1"), LoginBudget())
    assert oauth._headers() == {"Authorization": "Bearer bearer-1"}
    assert isinstance(make_identity(password_user(), LoginBudget()), PasswordIdentity)


def test_basic_email_hint() -> None:
    email = UserConfig("b", AuthMethod.BASIC, api_key=Secret("clerk@example.com"),
                       api_secret=Secret("pw"))
    assert basic_email_hint(email) == (
        "Frappe reads HTTP Basic as api_key:api_secret and answers 401 to email:password "
        "(ERPNext's API docs suggest it); use an API key pair or auth = \"password\"")
    key = UserConfig("b", AuthMethod.BASIC, api_key=Secret("3f2a1b"), api_secret=Secret("x"))
    assert basic_email_hint(key) is None
    token = UserConfig("t", AuthMethod.TOKEN, api_key=Secret("a@b.c"), api_secret=Secret("x"))
    assert basic_email_hint(token) is None


# -- classification table: replies recorded on Frappe 15.55.1 -----------------------------
def msgs(*texts: str) -> str:
    return json.dumps([json.dumps({"message": t, "raise_exception": 1}) for t in texts])


AUTH_ERR = {"exception": "frappe.exceptions.AuthenticationError",
            "exc_type": "AuthenticationError"}
NOT_WHITELISTED = msgs("<details><summary>You are not permitted to access this resource."
                       "</summary>Function <strong>frappe.auth.get_logged_user</strong> is not "
                       "whitelisted.</details>")
CLASSIFY: list[tuple[str, int, Any, AuthMethod, str, str]] = [
    ("token wrong secret", 401, AUTH_ERR, AuthMethod.TOKEN, "API key or secret was refused",
     "generate a new key pair"),
    ("basic unknown key", 401, AUTH_ERR, AuthMethod.BASIC, "Frappe reads it as api_key:api_secret",
     "generate a new key pair"),
    ("oauth expired", 401, AUTH_ERR, AuthMethod.OAUTH, "unknown, expired or revoked",
     "refresh_token and client_id"),
    ("bad base64", 400, {"exc_type": "InvalidAuthorizationToken", "_server_messages": msgs(
        "Failed to decode token, please provide a valid base64-encoded token.")},
     AuthMethod.BASIC, "not valid base64", "stray characters"),
    ("wrong password", 401, {"message": "Invalid login credentials", **AUTH_ERR},
     AuthMethod.PASSWORD, "wrong password or unknown user", "tried once only"),
    ("disabled", 401, {"message": "User disabled or missing", **AUTH_ERR}, AuthMethod.PASSWORD,
     "the user is disabled", "enable the user"),
    ("incomplete", 401, {"message": "Incomplete login details", **AUTH_ERR}, AuthMethod.PASSWORD,
     "lacked a username or password", "set username"),
    ("pass login off", 401, {"exc_type": "AuthenticationError", "_server_messages": msgs(
        "Login with username and password is not allowed.")}, AuthMethod.PASSWORD,
     "disable_user_pass_login", "API key pair"),
    ("restrict ip", 401, {"exc_type": "AuthenticationError", "_server_messages": msgs(
        "Access not allowed from this IP Address")}, AuthMethod.PASSWORD, "restrict_ip",
     "X-Forwarded-For"),
    ("login hours", 401, {"exc_type": "AuthenticationError", "_server_messages": msgs(
        "Login not allowed at this time")}, AuthMethod.PASSWORD, "login_after", "hours"),
    ("auth hook", 401, {"exc_type": "AuthenticationError", "_server_messages": msgs(
        "Access not allowed for this URL")}, AuthMethod.TOKEN, "auth hook", "auth hooks"),
    ("locked", 500, {"exc_type": "SecurityException", "_server_messages": msgs(
        "Your account has been locked and will resume after 60 seconds")},
     AuthMethod.PASSWORD, "locked after too many failed logins", "wait"),
    ("2fa", 200, {"verification": {"method": "OTP App", "setup": True}, "tmp_id": "ab12cd34"},
     AuthMethod.PASSWORD, "two-factor authentication", "API key pair"),
    ("2fa expired", 500, {"exc_type": "ExpiredLoginException", "_server_messages": msgs(
        "Login session expired, refresh page to retry")}, AuthMethod.PASSWORD,
     "two-factor", "API key pair"),
    ("password reset", 200, {"message": "Password Reset", "redirect_to": "/update-password"},
     AuthMethod.PASSWORD, "password has expired", "reset the password"),
    ("no secret stored", 401, {"exc_type": "AuthenticationError", "_server_messages": msgs(
        "Password not found for User x@example.com api_secret")}, AuthMethod.TOKEN,
     "no API secret is stored", "generate the keys again"),
    ("guest header ignored", 403, {"exc_type": "PermissionError",
                                   "_server_messages": NOT_WHITELISTED},
     AuthMethod.TOKEN, "ran as Guest", "proxy_set_header Authorization"),
    ("guest session expired", 403, {"session_expired": 1, "exc_type": "PermissionError",
                                    "_server_messages": NOT_WHITELISTED},
     AuthMethod.PASSWORD, "session did not hold", "deny_multiple_sessions"),
    ("csrf", 400, {"exc_type": "CSRFTokenError", "_server_messages": msgs("Invalid Request")},
     AuthMethod.PASSWORD, "CSRF token", "never loads /app"),
    ("rate limit", 429, {"exc_type": "TooManyRequestsError"}, AuthMethod.TOKEN,
     "rate limit", "rate_limit"),
    ("disabled session", 417, {"exc_type": "ValidationError", "_server_messages": msgs(
        "User x@example.com is disabled. Please contact your System Manager.")},
     AuthMethod.PASSWORD, "has been disabled", "enable the user"),
    ("server error", 500, {"exc_type": "OperationalError"}, AuthMethod.TOKEN,
     "server failed (HTTP 500 OperationalError)", "Error Log"),
    ("odd 200", 200, {"message": "Logged In"}, AuthMethod.PASSWORD, "without a session",
     "--debug"),
    ("teapot", 418, {}, AuthMethod.TOKEN, "unexpected reply (HTTP 418)", "[site] url"),
]


@pytest.mark.parametrize(("label", "status", "body", "method", "cause", "fix"), CLASSIFY,
                         ids=[c[0] for c in CLASSIFY])
def test_classify_auth_reply(label: str, status: int, body: Any, method: AuthMethod,
                             cause: str, fix: str) -> None:
    reply = FrappeReply(method="GET", url="http://x/", status=status, body=body,
                        text=json.dumps(body), headers={}, latency_ms=1.0)
    got_cause, got_fix = classify_auth_reply(reply, method)
    assert cause in got_cause and fix in got_fix
    assert "\n" not in got_cause + got_fix


def test_classify_html_404_wrong_site() -> None:
    text = ("<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
            "<p>other.localhost does not exist</p>\n")
    reply = FrappeReply("GET", "http://x/", 404, None, text, {}, 1.0)
    cause, fix = classify_auth_reply(reply, AuthMethod.TOKEN)
    assert 'other.localhost does not exist' in cause and "[site] host" in fix
    plain = FrappeReply("GET", "http://x/", 404, None, "<h1>Not Found</h1>", {}, 1.0)
    assert "no Frappe API" in classify_auth_reply(plain, AuthMethod.TOKEN)[0]


def test_classify_transport_errors() -> None:
    redirect = RedirectError("GET", "http://x/", 301, "https://x/")
    cause, fix = classify_transport_error(redirect)
    assert "drops the Authorization header" in cause and "[site] url" in fix
    tls = TransportError("GET", "https://x/", "the TLS certificate could not be verified; ...")
    assert "--ca-bundle" in classify_transport_error(tls)[1]
    refused = TransportError("GET", "http://x/", "could not connect (connection refused)")
    assert "could not be reached" in classify_transport_error(refused)[0]
    slow = TransportError("GET", "http://x/", "no reply within 3 s")
    assert "[site] timeout" in classify_transport_error(slow)[1]
    cut = TransportError("GET", "http://x/", "the reply was cut off before its end")
    assert "could not be used" in classify_transport_error(cut)[0]


def test_connect_wrong_site_redirect_and_unreachable() -> None:
    def wrong_site(request: Request) -> Response:
        return Response("<h1>Not Found</h1><p>127.0.0.1 does not exist</p>", status=404,
                        content_type="text/html; charset=utf-8")

    def redirect(request: Request) -> Response:
        return Response("", status=301, headers={"Location": "https://erp.example.com/"})

    user = UserConfig("t", AuthMethod.TOKEN, api_key=Secret("k"), api_secret=Secret("s"))
    with recording_server(wrong_site) as (url, _), pytest.raises(AuthFailed) as info:
        connect(user, url, FAST, None, LoginBudget())
    assert info.value.failure.status == 404 and "does not exist" in info.value.failure.cause
    with recording_server(redirect) as (url, _), pytest.raises(AuthFailed) as info:
        connect(user, url, FAST, None, LoginBudget())
    assert info.value.failure.status == 301 and "redirecting" in info.value.failure.cause
    with pytest.raises(AuthFailed) as info:
        connect(user, f"http://127.0.0.1:{free_port()}", FAST, None, LoginBudget())
    assert info.value.failure.status is None and "could not be reached" in info.value.failure.cause


def test_auth_failed_text_is_one_line() -> None:
    f = AuthFailure("clerk", AuthMethod.TOKEN, 401, "AuthenticationError", "c", "f")
    assert str(AuthFailed(f)) == "user 'clerk' could not authenticate: c; f"


def test_basic_email_user_gets_the_hint_on_401() -> None:
    def handler(request: Request) -> Response:
        return json_response(AUTH_ERR, 401)

    user = UserConfig("b", AuthMethod.BASIC, api_key=Secret("clerk@example.com"),
                      api_secret=Secret("pw-b-1"))
    with recording_server(handler) as (url, _), pytest.raises(AuthFailed) as info:
        connect(user, url, FAST, None, LoginBudget())
    assert (info.value.failure.cause, info.value.failure.fix) == (BASIC_EMAIL_CAUSE,
                                                                 BASIC_EMAIL_FIX)


def test_client_session_reprepared_when_identity_changes() -> None:
    site = FakeSite()
    with recording_server(site) as (url, rec):
        identity = make_identity(password_user(), LoginBudget())
        client = FrappeClient(url, FAST, identity)
        client.get(WHO)  # before login: no cookie at all
        identity.login(client)
        client.get(WHO)
        identity.logout(client)
        client.get(WHO)
        client.close()
    whos = [s for s in rec.seen if s.path == WHO]
    assert "Cookie" not in whos[0].headers
    assert whos[1].headers["Cookie"].startswith("sid=")
    assert "Cookie" not in whos[2].headers


# -- every failing identity check recorded on Frappe 15.55.1 gets a specific cause -----------
TRANSCRIPTS = Path(__file__).parent / "transcripts"
GENERIC = ("unexpected reply", "answered 200 without a session")


def _auth_steps() -> list[tuple[str, dict[str, Any]]]:
    steps = []
    for path in sorted(TRANSCRIPTS.glob("*.json")):
        if not path.name.startswith(("auth-", "csrf-", "errors-", "site-", "rate-")):
            continue
        data = json.loads(path.read_text())
        for i, step in enumerate(data["steps"]):
            req, resp = step["request"], step["response"]
            if req["path"] in ("/api/method/login", WHO) and resp["status"] >= 400:
                steps.append((f"{path.stem}#{i}", step))
    return steps


def _method_of(request: dict[str, Any]) -> AuthMethod:
    auth = request["headers"].get("Authorization", "").split(" ")[0].lower()
    return {"token": AuthMethod.TOKEN, "basic": AuthMethod.BASIC,
            "bearer": AuthMethod.OAUTH}.get(auth, AuthMethod.PASSWORD)


@pytest.mark.parametrize(("label", "step"), _auth_steps(), ids=[s[0] for s in _auth_steps()])
def test_transcript_failures_have_specific_causes(label: str, step: dict[str, Any]) -> None:
    resp = step["response"]
    body = resp["body"] if isinstance(resp["body"], dict) else None
    text = resp["body"] if isinstance(resp["body"], str) else json.dumps(resp["body"])
    reply = FrappeReply("GET", "http://x" + step["request"]["path"], resp["status"], body, text,
                        resp["headers"], 1.0)
    cause, fix = classify_auth_reply(reply, _method_of(step["request"]))
    assert cause and fix
    assert not cause.startswith(GENERIC), (label, cause)


def test_transcripts_are_present() -> None:
    assert len(_auth_steps()) >= 15


# == against the simulated reference site (behaviour of the Frappe 15.55.1 transcripts) ======
TOKEN_USERS = ["auditor", "clerk", "manager", "memo", "readonly", "restricted", "disabled",
               "website"]


@pytest.fixture(scope="module")
def ref() -> Iterator[SimServer]:
    """One reference site for tests that only read (no failed logins, no changes)."""
    with SimServer(fixture="reference") as sim:
        yield sim


@pytest.fixture
def fresh() -> Iterator[SimServer]:
    """A reference site of its own, for tests that change it or fail logins."""
    with SimServer(fixture="reference") as sim:
        yield sim


def opts(sim: SimServer, **kw: Any) -> ClientOptions:
    base: dict[str, Any] = {"host_header": sim.host, "retries": 1, "backoff": 0.01,
                            "read_timeout": 10}
    return ClientOptions(**(base | kw))


def s(sim: SimServer, placeholder: str) -> Secret:
    return Secret(sim.secrets[placeholder])


def token(sim: SimServer, who: str, method: AuthMethod = AuthMethod.TOKEN) -> UserConfig:
    return UserConfig(name=who, auth=method, api_key=s(sim, f"<api_key:{who}>"),
                      api_secret=s(sim, f"<api_secret:{who}>"))


def login_user(sim: SimServer, who: str, password: str | None = None) -> UserConfig:
    return UserConfig(name=who, auth=AuthMethod.PASSWORD, username=f"{who}@example.com",
                      password=Secret(password or sim.secrets["<password>"]))


def sim_connect(sim: SimServer, user: UserConfig, budget: LoginBudget | None = None,
                **kw: Any) -> FrappeClient:
    return connect(user, sim.url, opts(sim, **kw), None, budget or LoginBudget())


def sim_fail(sim: SimServer, user: UserConfig, budget: LoginBudget | None = None,
             **kw: Any) -> AuthFailure:
    with pytest.raises(AuthFailed) as info:
        sim_connect(sim, user, budget, **kw)
    return info.value.failure


@pytest.mark.parametrize("who", TOKEN_USERS)
def test_sim_token_user_is_identified(ref: SimServer, who: str) -> None:
    with sim_connect(ref, token(ref, who)) as client:
        assert client.identity.frappe_user == f"{who}@example.com"


def test_sim_disabled_users_key_still_works_but_its_password_does_not(fresh: SimServer) -> None:
    with sim_connect(fresh, token(fresh, "disabled")) as client:
        assert client.identity.frappe_user == "disabled@example.com"
        assert client.get("/api/resource/Vendor").status == 200
    f = sim_fail(fresh, login_user(fresh, "disabled"))
    assert (f.status, f.exc_type) == (401, "AuthenticationError")
    assert "the user is disabled" in f.cause


def test_sim_basic_api_key(ref: SimServer) -> None:
    with sim_connect(ref, token(ref, "clerk", AuthMethod.BASIC)) as client:
        assert client.identity.frappe_user == "clerk@example.com"


def test_sim_basic_email_password_gets_the_plain_hint(ref: SimServer) -> None:
    user = UserConfig(name="basic-email", auth=AuthMethod.BASIC,
                      api_key=Secret("clerk@example.com"), api_secret=s(ref, "<password>"))
    f = sim_fail(ref, user)
    assert (f.status, f.exc_type) == (401, "AuthenticationError")
    assert f"{f.cause}; {f.fix}" == basic_email_hint(user)


def test_sim_basic_bad_base64(ref: SimServer) -> None:
    with sim_connect(ref, token(ref, "clerk", AuthMethod.BASIC)) as client:
        reply = client.get(WHO, headers={"Authorization": "Basic !!!notbase64!!!"})
    assert (reply.status, reply.exc_type) == (400, "InvalidAuthorizationToken")
    assert "not valid base64" in classify_auth_reply(reply, AuthMethod.BASIC)[0]


def test_sim_token_unknown_key_and_wrong_secret(ref: SimServer) -> None:
    unknown = UserConfig("u", AuthMethod.TOKEN, api_key=Secret("nosuchkey0000"),
                         api_secret=Secret("nosuchsecret00"))
    wrong = UserConfig("w", AuthMethod.TOKEN, api_key=s(ref, "<api_key:clerk>"),
                       api_secret=Secret("wrongsecret123"))
    for user in (unknown, wrong):
        f = sim_fail(ref, user)
        assert (f.status, f.exc_type) == (401, "AuthenticationError")
        assert "API key or secret was refused" in f.cause


def test_sim_token_header_silently_ignored_is_guest(ref: SimServer) -> None:
    # a space inside the key splits the header into three words: Frappe ignores it (Guest)
    user = UserConfig("g", AuthMethod.TOKEN,
                      api_key=Secret(ref.secrets["<api_key:clerk>"] + " extra"),
                      api_secret=s(ref, "<api_secret:clerk>"))
    f = sim_fail(ref, user)
    assert (f.status, f.exc_type) == (403, "PermissionError")
    assert "ran as Guest" in f.cause and "Authorization" in f.fix


@pytest.mark.parametrize(("who", "expected"), [("nokey", "nokey@example.com"),
                                               ("clerk", "clerk@example.com"),
                                               ("website", "website@example.com")])
def test_sim_password_login(fresh: SimServer, who: str, expected: str) -> None:
    client = sim_connect(fresh, login_user(fresh, who))
    assert client.identity.frappe_user == expected
    assert client.get("/api/method/frappe.auth.get_logged_user").message == expected
    client.identity.logout(client)
    client.close()
    assert fresh.controls.login_attempts == [(f"{who}@example.com", True)]
    kinds = {r.authorization_kind for r in fresh.controls.requests}
    assert kinds <= {"none", "session"}  # no token header ever travelled with the cookie


@pytest.mark.parametrize(("who", "password", "cause"), [
    ("readonly", "WrongPass1!", "wrong password or unknown user"),
    ("nosuchuser", "WrongPass1!", "wrong password or unknown user"),
    ("disabled", None, "the user is disabled"),
])
def test_sim_password_failures(fresh: SimServer, who: str, password: str | None,
                               cause: str) -> None:
    budget = LoginBudget()
    f = sim_fail(fresh, login_user(fresh, who, password), budget)
    assert (f.status, f.exc_type) == (401, "AuthenticationError")
    assert cause in f.cause
    again = sim_fail(fresh, login_user(fresh, who, password), budget)
    assert again.cause.startswith("not attempted: ")
    assert fresh.controls.login_attempts == [(f"{who}@example.com", False)]


def test_sim_lockout_is_reported_and_budget_caps_attempts(fresh: SimServer) -> None:
    fresh.site.settings.allow_consecutive_login_attempts = 1
    budget = LoginBudget()
    causes = [sim_fail(fresh, login_user(fresh, who, "WrongPass1!"), budget)
              for who in ("clerk", "manager", "memo", "readonly")]
    assert len(fresh.controls.login_attempts) == 3
    assert causes[2].status == 500 and causes[2].exc_type == "SecurityException"
    assert "locked" in causes[2].cause
    assert causes[3].cause.startswith("not attempted: 3 password logins already failed")


@pytest.mark.parametrize(("change", "cause"), [
    (lambda site: setattr(site.settings, "disable_user_pass_login", True),
     "disable_user_pass_login"),
    (lambda site: setattr(site.users["nokey@example.com"], "restrict_ip", "10.9."),
     "restrict_ip"),
    (lambda site: setattr(site.users["nokey@example.com"], "login_after", 25),
     "login_after"),
    (lambda site: setattr(site.users["nokey@example.com"], "password_expired", True),
     "password has expired"),
    (lambda site: (setattr(site.settings, "enable_two_factor_auth", True),
                   setattr(site.users["nokey@example.com"], "two_factor", True)),
     "two-factor authentication"),
])
def test_sim_login_refusals(fresh: SimServer, change: Any, cause: str) -> None:
    change(fresh.site)
    f = sim_fail(fresh, login_user(fresh, "nokey"))
    assert cause in f.cause, f


def test_sim_auth_hook(fresh: SimServer) -> None:
    fresh.site.settings.auth_hook_denies = ("/api/method/frappe.auth",)
    f = sim_fail(fresh, token(fresh, "clerk"))
    assert f.status == 401 and "auth hook" in f.cause


def test_sim_redirect_is_an_auth_failure(fresh: SimServer) -> None:
    fresh.site.settings.redirect_to = "https://erp.example.com"
    f = sim_fail(fresh, token(fresh, "clerk"))
    assert f.status == 301 and "drops the Authorization header" in f.cause


def test_sim_wrong_site_name(ref: SimServer) -> None:
    f = sim_fail(ref, token(ref, "clerk"), host_header="other.localhost")
    assert f.status == 404 and "other.localhost does not exist" in f.cause
    assert "[site] host" in f.fix


def test_sim_session_expiry_relogs_in_once(fresh: SimServer) -> None:
    client = sim_connect(fresh, login_user(fresh, "nokey"))
    fresh.runtime.sessions.clear()  # the server forgets every session
    replies = run_threads(6, lambda i: client.get("/api/resource/Vendor"))
    assert all(r.status == 200 for r in replies)
    assert fresh.controls.login_attempts == [("nokey@example.com", True)] * 2
    fresh.runtime.sessions.clear()
    reply = client.get("/api/resource/Vendor")
    assert reply.status == 403 and reply.session_expired  # no third login in one run
    assert len(fresh.controls.login_attempts) == 2
    client.close()


def test_sim_oauth_bearer_valid(ref: SimServer) -> None:
    user = UserConfig("app", AuthMethod.OAUTH, access_token=s(ref, "<bearer:clerk>"))
    with sim_connect(ref, user) as client:
        assert client.identity.frappe_user == "clerk@example.com"


def test_sim_oauth_expired_without_and_with_refresh(fresh: SimServer) -> None:
    fresh.controls.expire_token(fresh.secrets["<bearer:clerk>"])
    plain = UserConfig("app", AuthMethod.OAUTH, access_token=s(fresh, "<bearer:clerk>"))
    f = sim_fail(fresh, plain)
    assert f.status == 401 and "expired or revoked" in f.cause
    refreshing = UserConfig("app", AuthMethod.OAUTH, access_token=s(fresh, "<bearer:clerk>"),
                            refresh_token=s(fresh, "<refresh_token:clerk>"),
                            client_id="see26bk3pc")
    with sim_connect(fresh, refreshing) as client:
        assert client.identity.frappe_user == "clerk@example.com"
        assert client.get("/api/resource/Vendor").status == 200
        identity = client.identity
        assert isinstance(identity, OAuthIdentity) and identity.refreshes == 1


def test_sim_oauth_revoked(fresh: SimServer) -> None:
    bearer = fresh.secrets["<bearer:clerk>"]
    with sim_connect(fresh, token(fresh, "clerk")) as client:
        revoke = client.post("/api/method/frappe.integrations.oauth2.revoke_token",
                             data={"token": bearer}, authenticate=False)
        assert revoke.status == 200
    f = sim_fail(fresh, UserConfig("app", AuthMethod.OAUTH, access_token=Secret(bearer)))
    assert f.status == 401 and "revoked" in f.cause


def test_sim_oauth_refresh_only_and_refused(fresh: SimServer) -> None:
    user = UserConfig("app", AuthMethod.OAUTH, refresh_token=s(fresh, "<refresh_token:clerk>"),
                      client_id="see26bk3pc")
    with sim_connect(fresh, user) as client:
        assert client.identity.frappe_user == "clerk@example.com"
    bad = UserConfig("app", AuthMethod.OAUTH, refresh_token=Secret("no-such-refresh-token"),
                     client_id="see26bk3pc")
    f = sim_fail(fresh, bad)
    assert "refresh token was refused" in f.cause


def test_sim_503_retried_for_get_only(fresh: SimServer) -> None:
    with sim_connect(fresh, token(fresh, "clerk")) as client:
        fresh.controls.fail_next(1, 503)
        assert client.get("/api/resource/Vendor").status == 200
        fresh.controls.fail_next(1, 503)
        reply = client.call("frappe.client.has_permission", http_method="POST",
                            doctype="Vendor", docname="Acme Corp", perm_type="write")
        assert reply.status == 503


def test_sim_rate_limit_429_is_waited_out(fresh: SimServer) -> None:
    from audit.http.client import RateLimiter

    limiter = RateLimiter(50, 4)
    client = connect(token(fresh, "clerk"), fresh.url, opts(fresh, retries=2), limiter,
                     LoginBudget())
    fresh.controls.set_rate_limit(100, 2)
    fresh.controls.exhaust_rate_limit()
    reply = client.get("/api/resource/Vendor")
    statuses = [r.status for r in fresh.controls.requests[-2:]]
    assert reply.status == 200 and statuses == [429, 200]
    client.close()


def test_sim_identity_check_answered_500_is_asked_again(fresh: SimServer) -> None:
    # A 500 on frappe.auth.get_logged_user (a GET: no login is counted) is the server, not
    # the credential: one such reply must not cost a user, or the auditor, the whole run.
    fresh.controls.fail_next(2, 500)
    with sim_connect(fresh, token(fresh, "clerk")) as client:
        assert client.identity.frappe_user == "clerk@example.com"
    checks = [r.status for r in fresh.controls.requests if r.path.endswith(LOGGED_USER)]
    assert checks == [500, 500, 200]


def test_sim_identity_check_500_every_time_fails_as_a_server_failure(fresh: SimServer) -> None:
    fresh.controls.fail_next(5, 500)
    f = sim_fail(fresh, token(fresh, "clerk"))
    assert f.status == 500 and "server failed" in f.cause
    checks = [r.status for r in fresh.controls.requests if r.path.endswith(LOGGED_USER)]
    assert checks == [500, 500, 500]  # three asks, then it gives up
