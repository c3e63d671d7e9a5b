"""Every way authentication fails (and succeeds), over HTTP on loopback."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable

import pytest
import requests

from audit.sim.model import SiteData
from audit.sim.server import SimServer

from .helpers import Client, messages

LOGGED = "/api/method/frappe.auth.get_logged_user"


def raw(sim: SimServer, path: str = LOGGED, **headers: str) -> requests.Response:
    return requests.get(sim.url + path, headers={"Host": sim.host, "Accept": "application/json",
                                                 **headers}, allow_redirects=False, timeout=30)


def login(sim: SimServer, usr: str, pwd: str | None = None,
          **headers: str) -> requests.Response:
    return requests.post(sim.url + "/api/method/login",
                         json={"usr": usr, "pwd": sim.secrets["<password>"] if pwd is None
                               else pwd},
                         headers={"Host": sim.host, "Accept": "application/json", **headers},
                         timeout=30)


def key(sim: SimServer, user: str) -> str:
    return f"{sim.secrets[f'<api_key:{user}>']}:{sim.secrets[f'<api_secret:{user}>']}"


@pytest.mark.parametrize(("header", "status"), [
    ("token {k}", 200), ("Token {k}", 200), ("basic {b}", 200), ("Bearer {bearer}", 200),
    ("token {key}:wrong", 401), ("token nosuchkey:nosuchsecret", 401), ("token {key}", 401),
    ("Bearer {k}", 401), ("Bearer garbage", 401), ("token ", 401), ("token :", 401),
    ("token {k}:extra", 401), ("Digest x", 401), ("Basic {email_b}", 401),
    ("Basic !!!notbase64!!!", 400), ("token  {k}", 403), ("token {k} extra", 403), ("{k}", 403),
])
def test_authorization_header_variants(sim: SimServer, header: str, status: int) -> None:
    values = {"k": key(sim, "clerk"), "key": sim.secrets["<api_key:clerk>"],
              "b": base64.b64encode(key(sim, "clerk").encode()).decode(),
              "email_b": base64.b64encode(
                  f"clerk@example.com:{sim.secrets['<password>']}".encode()).decode(),
              "bearer": sim.secrets["<bearer:clerk>"]}
    reply = raw(sim, Authorization=header.format(**values))
    assert reply.status_code == status, reply.text
    if status == 200:
        assert reply.json() == {"message": "clerk@example.com"}
    if status == 401:
        assert reply.json()["exc_type"] == "AuthenticationError"
        assert "sid=;" in reply.headers["Set-Cookie"]  # cookies are deleted
    if status == 400:
        assert reply.json()["exc_type"] == "InvalidAuthorizationToken"


def test_disabled_user_key_still_works_but_password_login_does_not(sim: SimServer) -> None:
    assert raw(sim, Authorization=f"token {key(sim, 'disabled')}").status_code == 200
    wrong = login(sim, "disabled@example.com", "nope")
    assert wrong.json()["message"] == "Invalid login credentials"
    right = login(sim, "disabled@example.com")
    assert right.status_code == 401 and right.json()["message"] == "User disabled or missing"
    assert "Set-Cookie" not in right.headers


def test_password_login_session_and_logout(sim: SimServer) -> None:
    reply = login(sim, "clerk@example.com")
    assert reply.json() == {"message": "Logged In", "home_page": "/app", "full_name": "Clerk"}
    cookies = reply.raw.headers.getlist("Set-Cookie")
    assert [c.split("=")[0] for c in cookies] == ["sid", "system_user", "full_name", "user_id",
                                                  "user_image"]
    sid = reply.cookies["sid"]
    assert raw(sim, Cookie=f"sid={sid}").json() == {"message": "clerk@example.com"}
    assert raw(sim, f"{LOGGED}?sid={sid}").json() == {"message": "clerk@example.com"}
    out = raw(sim, "/api/method/logout", Cookie=f"sid={sid}")
    assert out.json()["message"] == "No App"
    after = raw(sim, Cookie=f"sid={sid}")
    assert after.status_code == 403 and after.json()["session_expired"] == 1


def test_form_encoded_login_and_website_user(sim: SimServer) -> None:
    reply = requests.post(sim.url + "/api/method/login", headers={"Host": sim.host},
                          data={"usr": "website@example.com", "pwd": sim.secrets["<password>"]},
                          timeout=30)
    assert reply.json() == {"message": "No App", "home_page": "/me", "full_name": "Website"}
    assert reply.cookies["system_user"] == "no"


def test_incomplete_and_unknown_logins(sim: SimServer) -> None:
    assert login(sim, "clerk@example.com", "").json()["message"] == "Incomplete login details"
    unknown = login(sim, "nobody@example.com", "x")
    assert unknown.status_code == 401 and unknown.json()["message"] == "Invalid login credentials"
    assert sim.controls.login_attempts == [("clerk@example.com", False),
                                           ("nobody@example.com", False)]


def test_lockout_per_user_and_ip(sim: SimServer) -> None:
    sim.site.settings.allow_consecutive_login_attempts = 2
    for _ in range(3):
        assert login(sim, "readonly@example.com", "wrong").status_code == 401
    locked = login(sim, "readonly@example.com")
    assert locked.status_code == 500 and locked.json()["exc_type"] == "SecurityException"
    assert messages(locked) == ["Your account has been locked and will resume after 60 seconds"]
    other_ip = login(sim, "manager@example.com", **{"X-Forwarded-For": "10.0.0.9"})
    assert other_ip.status_code == 200
    assert login(sim, "manager@example.com").status_code == 500  # same IP is locked too


Change = Callable[[SiteData], object]


@pytest.mark.parametrize(("change", "status", "text"), [
    (lambda s: setattr(s.settings, "disable_user_pass_login", True), 401,
     "Login with username and password is not allowed."),
    (lambda s: setattr(s.users["nokey@example.com"], "restrict_ip", "10.9."), 401,
     "Access not allowed from this IP Address"),
    (lambda s: setattr(s.users["nokey@example.com"], "login_after", 24), 401,
     "Login not allowed at this time"),
])
def test_login_refusals(sim: SimServer, change: Change, status: int, text: str) -> None:
    change(sim.site)
    reply = login(sim, "nokey@example.com")
    assert reply.status_code == status and messages(reply) == [text]
    assert "Set-Cookie" not in reply.headers


def test_restrict_ip_uses_the_first_forwarded_address(sim: SimServer) -> None:
    sim.site.users["clerk@example.com"].restrict_ip = "10.1."
    ok = login(sim, "clerk@example.com", **{"X-Forwarded-For": "10.1.2.3, 192.168.0.1"})
    assert ok.status_code == 200
    resumed = raw(sim, Cookie=f"sid={ok.cookies['sid']}")
    assert resumed.status_code == 401
    assert messages(resumed) == ["Access not allowed from this IP Address"]
    assert raw(sim, Authorization=f"token {key(sim, 'clerk')}").status_code == 200


def test_password_expiry_and_two_factor(sim: SimServer) -> None:
    sim.site.users["nokey@example.com"].password_expired = True
    reset = login(sim, "nokey@example.com")
    assert reset.status_code == 200 and reset.json()["message"] == "Password Reset"
    assert "redirect_to" in reset.json()
    assert reset.cookies.get("sid") in (None, "Guest")  # no session was created
    sim.site.users["nokey@example.com"].password_expired = False
    sim.site.settings.enable_two_factor_auth = True
    sim.site.users["nokey@example.com"].two_factor = True
    first = login(sim, "nokey@example.com")
    assert set(first.json()) == {"verification", "tmp_id"}
    tmp = first.json()["tmp_id"]
    bad = requests.post(sim.url + "/api/method/login", json={"tmp_id": tmp, "otp": "0"},
                        headers={"Host": sim.host}, timeout=30)
    assert bad.status_code == 401 and messages(bad) == ["Incorrect Verification code"]
    good = requests.post(sim.url + "/api/method/login", json={"tmp_id": tmp, "otp": "123456"},
                         headers={"Host": sim.host}, timeout=30)
    assert good.json()["message"] == "Logged In"
    expired = requests.post(sim.url + "/api/method/login", json={"tmp_id": "x", "otp": "1"},
                            headers={"Host": sim.host}, timeout=30)
    assert expired.status_code == 500 and expired.json()["exc_type"] == "ExpiredLoginException"


def test_deny_multiple_sessions(sim: SimServer) -> None:
    sim.site.settings.deny_multiple_sessions = True
    sim.site.users["clerk@example.com"].simultaneous_sessions = 1
    first = login(sim, "clerk@example.com").cookies["sid"]
    second = login(sim, "clerk@example.com").cookies["sid"]
    assert raw(sim, Cookie=f"sid={first}").json().get("session_expired") == 1
    assert raw(sim, Cookie=f"sid={second}").status_code == 200


def test_auth_hook_and_redirect(sim: SimServer) -> None:
    sim.site.settings.auth_hook_denies = ("/api/resource/",)
    hooked = raw(sim, "/api/resource/Vendor", Authorization=f"token {key(sim, 'clerk')}")
    assert hooked.status_code == 401 and messages(hooked) == ["Access not allowed for this URL"]
    sim.site.settings.auth_hook_denies = ()
    sim.site.settings.redirect_to = "https://erp.example.com"
    moved = raw(sim, "/api/resource/Vendor?limit=1")
    assert moved.status_code == 301
    assert moved.headers["Location"] == "https://erp.example.com/api/resource/Vendor?limit=1"


def test_csrf_only_after_the_desk_stored_a_token(sim: SimServer) -> None:
    sid = login(sim, "clerk@example.com").cookies["sid"]
    body = {"doctype": "Vendor", "docname": "Acme Corp", "perm_type": "write"}
    url = sim.url + "/api/method/frappe.client.has_permission"
    headers = {"Host": sim.host, "Accept": "application/json", "Cookie": f"sid={sid}"}
    assert requests.post(url, json=body, headers=headers, timeout=30).status_code == 200
    desk = requests.get(sim.url + "/app", headers=headers, timeout=30)
    token = re.search(r'frappe\.csrf_token = "([^"]+)"', desk.text)
    assert token is not None
    refused = requests.post(url, json=body, headers=headers, timeout=30)
    assert refused.status_code == 400 and set(refused.json()) == {"exc_type", "_server_messages"}
    accepted = requests.post(url, json=body, timeout=30,
                             headers={**headers, "X-Frappe-CSRF-Token": token.group(1)})
    assert accepted.status_code == 200
    assert requests.get(url, params=body, headers=headers, timeout=30).status_code == 200


def test_guest_and_unknown_site(sim: SimServer) -> None:
    guest = raw(sim)
    assert guest.status_code == 403 and messages(guest)[0].startswith("<details>")
    assert raw(sim, "/api/method/ping").json() == {"message": "pong"}
    wrong = requests.get(sim.url + "/api/method/ping", headers={"Host": "other.localhost"},
                         timeout=30)
    assert wrong.status_code == 404 and "other.localhost does not exist" in wrong.text
    named = requests.get(sim.url + "/api/method/ping", timeout=30,
                         headers={"Host": "x.invalid", "X-Frappe-Site-Name": sim.host})
    assert named.status_code == 200


def test_session_expiry_control(sim: SimServer) -> None:
    # idle time: a second is far beyond a loopback round trip, even on a busy machine
    sim.controls.session_expiry_s = 1.0
    sid = login(sim, "clerk@example.com").cookies["sid"]
    assert raw(sim, Cookie=f"sid={sid}").status_code == 200
    time.sleep(1.1)
    expired = raw(sim, Cookie=f"sid={sid}")
    assert expired.status_code == 403 and expired.json()["session_expired"] == 1


def test_oauth_code_flow_refresh_revoke_and_expiry(sim: SimServer, client: Client) -> None:
    session = client.login("clerk")
    args = {"client_id": "see26bk3pc", "response_type": "code", "scope": "all openid",
            "redirect_uri": "http://127.0.0.1:9999/callback", "state": "s1"}
    page = session.get(sim.url + "/api/method/frappe.integrations.oauth2.authorize",
                       params=args, headers={"Host": sim.host}, timeout=30)
    assert page.status_code == 200 and "frappe.integrations.oauth2.approve" in page.text
    approved = session.get(sim.url + "/api/method/frappe.integrations.oauth2.approve",
                           params=args, headers={"Host": sim.host}, allow_redirects=False,
                           timeout=30)
    code = re.search(r"code=([^&]+)&state=s1", approved.headers["Location"])
    assert approved.status_code == 302 and code is not None
    token_url = sim.url + "/api/method/frappe.integrations.oauth2.get_token"
    issued = requests.post(token_url, data={
        "grant_type": "authorization_code", "code": code.group(1), "client_id": "see26bk3pc",
        "redirect_uri": args["redirect_uri"]}, headers={"Host": sim.host}, timeout=30).json()
    assert issued["token_type"] == "Bearer" and "id_token" in issued
    again = requests.post(token_url, data={"grant_type": "authorization_code",
                                           "code": code.group(1), "client_id": "see26bk3pc",
                                           "redirect_uri": args["redirect_uri"]},
                          headers={"Host": sim.host}, timeout=30)
    assert again.status_code == 400  # a code is used once
    bearer = issued["access_token"]
    assert raw(sim, Authorization=f"Bearer {bearer}").status_code == 200
    sim.controls.expire_token(bearer)
    assert raw(sim, Authorization=f"Bearer {bearer}").status_code == 401
    fresh = requests.post(token_url, data={"grant_type": "refresh_token", "client_id":
                                           "see26bk3pc", "refresh_token": issued["refresh_token"]},
                          headers={"Host": sim.host}, timeout=30).json()
    assert raw(sim, Authorization=f"Bearer {fresh['access_token']}").status_code == 200
    requests.post(sim.url + "/api/method/frappe.integrations.oauth2.revoke_token",
                  data={"token": fresh["access_token"]}, headers={"Host": sim.host}, timeout=30)
    assert raw(sim, Authorization=f"Bearer {fresh['access_token']}").status_code == 401
