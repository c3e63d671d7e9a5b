"""Why authentication failed, in one plain sentence, and what to do about it.

The cause is the one the 401/403 classifier of ``audit.explain`` finds (its catalogue id
travels with the failure); this module words it for the configuration a user edits.
Transport errors (no reply at all) are classified here.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.config.loader import UserConfig
from audit.explain.hints import hint_for_reply
from audit.http.client import REDIRECT_STATUSES, RedirectError, TransportError
from audit.http.reply import FrappeReply, plain_text
from audit.model import AuthMethod

BASIC_EMAIL_CAUSE = ("Frappe reads HTTP Basic as api_key:api_secret and answers 401 to "
                     "email:password (ERPNext's API docs suggest it)")
BASIC_EMAIL_FIX = 'use an API key pair or auth = "password"'


def basic_email_hint(user: UserConfig) -> str | None:
    """The one plain sentence for a Basic user whose api_key is an e-mail address."""
    if not user.basic_with_email:
        return None
    return f"{BASIC_EMAIL_CAUSE}; {BASIC_EMAIL_FIX}"


@dataclass(frozen=True)
class AuthFailure:
    user: str  # the config name
    method: AuthMethod
    status: int | None  # None: no HTTP reply
    exc_type: str
    cause: str
    fix: str
    cause_id: str = ""  # the catalogue id (audit/explain/catalogue.py), "" when none applies


@dataclass(frozen=True)
class AuthExplanation:
    cause_id: str  # catalogue id, "" when no catalogue cause applies (server error, odd reply)
    cause: str
    fix: str


# -- why an identity check failed, worded for the configuration: (cause, fix) ----------------
_KEY_FIX = ("generate a new key pair for the user (User > API Access) and update api_key and "
            "api_secret")
_GUEST_HEADER = (
    "the request ran as Guest: Frappe never saw the credential (a proxy or WAF stripped the "
    "Authorization header, or it did not split into exactly two words, e.g. a space inside "
    "the key or secret)",
    "forward the header (nginx: proxy_set_header Authorization $http_authorization) and check "
    "the credential has no spaces")
_WORDING: dict[str, tuple[str, str]] = {
    "login-invalid-credentials": (
        "wrong password or unknown user (Frappe answers both alike)",
        "check username and password; permaudit tried once only, so it locked nothing"),
    "user-disabled": ("the user is disabled (Frappe says so only when the password was right)",
                      "enable the user in Frappe, or drop it from the audit"),
    "login-incomplete": ("the login lacked a username or password",
                         "set username and password for this user"),
    "password-login-disabled": (
        "password login is switched off for the whole site (disable_user_pass_login)",
        'use an API key pair (auth = "token")'),
    "ip-restricted": (
        "the user is restricted to some IP addresses (restrict_ip) and this one is not among "
        "them; behind a proxy the first X-Forwarded-For value counts",
        "run from an allowed address, fix the proxy's X-Forwarded-For, or use API keys"),
    "login-hours": ("the user may log in only at set hours (login_after / login_before)",
                    "run within those hours, or use an API key pair (hours do not apply to keys)"),
    "auth-hook": ("an installed auth hook (auth_hooks) refused the request",
                  "check the site's installed apps for auth hooks that limit API access"),
    "account-locked": (
        "the account is locked after too many failed logins (Frappe counts them per user and "
        "per client IP)", "wait until the lock ends, then fix the password; never retry blindly"),
    "two-factor": ("two-factor authentication is on for this user: the login asked for a code "
                   "and opened no session", "use an API key pair for automation"),
    "password-expired": ("the password has expired: the login answered with a reset link and "
                         "opened no session", "reset the password in Frappe"),
    "api-secret-missing": ("the API key exists but no API secret is stored for its user",
                           "generate the keys again (User > API Access) and update the config"),
    "session-user-disabled": ("the session's user has been disabled",
                              "enable the user, or drop it from the audit"),
    "csrf-token": ("the session wants a CSRF token: it has opened the desk (/app)",
                   "use a fresh login session that never loads /app, or an API key pair"),
    "basic-not-base64": ("the Basic credential is not valid base64",
                         "check api_key and api_secret hold no stray characters"),
    "basic-email-password": (BASIC_EMAIL_CAUSE, BASIC_EMAIL_FIX),
    "rate-limit": ("the site's rate limit was hit (429 Too Many Requests)",
                   "wait for the window to pass, or lower [crawl] rate_limit"),
    "wrong-secret": ("the API key or secret was refused (unknown key, wrong secret, or the "
                     "keys were generated again since)", _KEY_FIX),
    "wrong-scheme": ("the Authorization header is malformed (scheme word, or KEY:SECRET not in "
                     "two parts)", "check api_key and api_secret hold no ':' or spaces"),
    "oauth-token-refused": ("the bearer token is unknown, expired or revoked (Frappe tokens live "
                            "one hour)", "give refresh_token and client_id so permaudit can "
                            "refresh it, or issue a new token"),
    "header-not-split": _GUEST_HEADER,
    "proxy-stripped-auth": _GUEST_HEADER,
    "session-expired": (
        "the session did not hold and the request ran as Guest (it expired, was logged out, or "
        "another login cleared it under deny_multiple_sessions)",
        "prefer an API key pair; otherwise check session_expiry and deny_multiple_sessions"),
    "no-credential": (
        "the request ran as Guest: no session cookie reached Frappe (a proxy may drop cookies)",
        "check the proxy forwards the Cookie header, or use an API key pair"),
}
_BY_METHOD: dict[tuple[str, AuthMethod], tuple[str, str]] = {
    ("wrong-secret", AuthMethod.BASIC): (
        "the Basic credential was refused: Frappe reads it as api_key:api_secret and found no "
        "match (unknown key or wrong secret)", _KEY_FIX),
    ("wrong-secret", AuthMethod.PASSWORD): ("the session was refused (401)",
                                            "check the user can still log in"),
}
_KIND = {AuthMethod.TOKEN: "token", AuthMethod.BASIC: "basic", AuthMethod.OAUTH: "bearer"}


def explain_auth_reply(reply: FrappeReply, method: AuthMethod) -> AuthExplanation:
    """Why this reply to a login or identity check means "not authenticated".

    The cause comes from the one classifier (:func:`audit.explain.hints.hint_for_reply`);
    only its wording is the configuration's (``[site] host``, ``auth = "token"``).
    """
    hint = hint_for_reply(reply, credential_kind=_KIND.get(method),
                          cookie_session=method is AuthMethod.PASSWORD)
    if not reply.is_json and reply.status == 404:
        if hint is not None and hint.cause == "wrong-site":
            host = plain_text(reply.text).split("Not Found", 1)[-1].strip()
            return AuthExplanation(
                "wrong-site", f'the server knows no site by this name (HTML 404 "{host}")',
                "set [site] host to the site's name: a multi-site bench picks the site from "
                "the Host header")
        return AuthExplanation("", "no Frappe API answers at this URL (HTML 404)",
                               "check [site] url: the site's base URL, e.g. https://erp.example.com")
    if reply.status in REDIRECT_STATUSES:
        return AuthExplanation("redirect-dropped-auth",
                               f"the server redirected to {reply.headers.get('Location', '?')}",
                               "put the final URL in [site] url")
    if hint is not None:
        if hint.cause == "account-locked" and "has been locked" not in reply.text:
            return AuthExplanation(hint.cause, "the server refused the login for security "
                                   "reasons (SecurityException)",
                                   "wait a minute and check the account is not locked")
        cause, fix = _BY_METHOD.get((hint.cause, method)) or _WORDING.get(
            hint.cause, (hint.title, hint.fix))
        return AuthExplanation(hint.cause, cause, fix)
    if reply.status == 200:
        return AuthExplanation("", "the login or identity check answered 200 without a session "
                               "or user", "run with --debug and compare the reply with the "
                               "site's login page")
    detail = f" {reply.exc_type}" if reply.exc_type else ""
    if reply.status >= 500:
        return AuthExplanation("", f"the server failed (HTTP {reply.status}{detail})",
                               "check the site's Error Log, then run again")
    return AuthExplanation("", f"unexpected reply (HTTP {reply.status}{detail}) to the identity "
                           "check", "check [site] url and that the site runs Frappe 14 or newer")


def classify_auth_reply(reply: FrappeReply, method: AuthMethod) -> tuple[str, str]:
    """Why this reply to a login or identity check means "not authenticated": (cause, fix)."""
    found = explain_auth_reply(reply, method)
    return found.cause, found.fix


def classify_transport_error(exc: TransportError) -> tuple[str, str]:
    """Why no usable reply came: (cause, fix)."""
    if isinstance(exc, RedirectError):
        return (f"the server answered {exc.status} redirecting to {exc.location or '?'}; "
                "requests drops the Authorization header when a redirect changes host or "
                "scheme, so the audit would run as Guest",
                "put the final URL (often https://...) in [site] url")
    if "TLS" in exc.reason:
        return (exc.reason, 'pass --ca-bundle PATH or set [site] verify_tls = "/path/ca.pem"')
    if "connect" in exc.reason:
        return (f"the site could not be reached: {exc.reason}",
                "check [site] url, the network, and that the site is up")
    if "no reply within" in exc.reason:
        return (f"the site did not answer: {exc.reason}",
                "raise [site] timeout, or check the server load")
    return (f"the reply could not be used: {exc.reason}", "run again; if it persists, use --debug")
