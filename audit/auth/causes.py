"""Why authentication failed, in one plain sentence, and what to do about it.

Each classified cause matches a row of the field catalogue of 401/403 causes:
refused keys, Basic email:password, ignored headers (Guest), password-login
refusals, lockouts, OAuth expiry, auth hooks, wrong sites and redirects.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.config.loader import UserConfig
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


# -- why an identity check failed: (cause, fix), one plain sentence each ----------------
_TEXT_CAUSES: tuple[tuple[str, str, str], ...] = (
    ("Invalid login credentials",
     "wrong password or unknown user (Frappe answers both alike)",
     "check username and password; permaudit tried once only, so it locked nothing"),
    ("User disabled or missing",
     "the user is disabled (Frappe says so only when the password was right)",
     "enable the user in Frappe, or drop it from the audit"),
    ("Incomplete login details",
     "the login lacked a username or password", "set username and password for this user"),
    ("Login with username and password is not allowed",
     "password login is switched off for the whole site (disable_user_pass_login)",
     'use an API key pair (auth = "token")'),
    ("Password size exceeded",
     "the password is longer than Frappe accepts (512 characters)", "check the password"),
    ("Access not allowed from this IP Address",
     "the user is restricted to some IP addresses (restrict_ip) and this one is not among "
     "them; behind a proxy the first X-Forwarded-For value counts",
     "run from an allowed address, fix the proxy's X-Forwarded-For, or use API keys"),
    ("Login not allowed at this time",
     "the user may log in only at set hours (login_after / login_before)",
     "run within those hours, or use an API key pair (hours do not apply to keys)"),
    ("Access not allowed for this URL",
     "an installed auth hook (auth_hooks) refused the request",
     "check the site's installed apps for auth hooks that limit API access"),
    ("has been locked",
     "the account is locked after too many failed logins (Frappe counts them per user and "
     "per client IP)", "wait until the lock ends, then fix the password; never retry blindly"),
    ("Incorrect Verification code",
     "two-factor authentication asked for a code", "use an API key pair for automation"),
    ("Login session expired",
     "two-factor authentication is on and its login step expired",
     "use an API key pair for automation"),
    ("Password not found for User",
     "the API key exists but no API secret is stored for its user",
     "generate the keys again (User > API Access) and update the config"),
    ("is disabled. Please contact",
     "the session's user has been disabled", "enable the user, or drop it from the audit"),
)
_KEY_FIX = ("generate a new key pair for the user (User > API Access) and update api_key and "
            "api_secret")
_401_CAUSES: dict[AuthMethod, tuple[str, str]] = {
    AuthMethod.TOKEN: ("the API key or secret was refused (unknown key, wrong secret, or the "
                       "keys were generated again since)", _KEY_FIX),
    AuthMethod.BASIC: ("the Basic credential was refused: Frappe reads it as api_key:api_secret "
                       "and found no match (unknown key or wrong secret)", _KEY_FIX),
    AuthMethod.OAUTH: ("the bearer token is unknown, expired or revoked (Frappe tokens live one "
                       "hour)", "give refresh_token and client_id so permaudit can refresh it, "
                       "or issue a new token"),
    AuthMethod.PASSWORD: ("the session was refused (401)", "check the user can still log in"),
}
_GUEST_HEADER = (
    "the request ran as Guest: Frappe never saw the credential (a proxy or WAF stripped the "
    "Authorization header, or it did not split into exactly two words, e.g. a space inside "
    "the key or secret)",
    "forward the header (nginx: proxy_set_header Authorization $http_authorization) and check "
    "the credential has no spaces")
_GUEST_SESSION = (
    "the session did not hold and the request ran as Guest (it expired, was logged out, or "
    "another login cleared it under deny_multiple_sessions)",
    "prefer an API key pair; otherwise check session_expiry and deny_multiple_sessions")

_GUEST_NO_COOKIE = (
    "the request ran as Guest: no session cookie reached Frappe (a proxy may drop cookies)",
    "check the proxy forwards the Cookie header, or use an API key pair")


def classify_auth_reply(reply: FrappeReply, method: AuthMethod) -> tuple[str, str]:
    """Why this reply to a login or identity check means "not authenticated": (cause, fix)."""
    body = reply.body if isinstance(reply.body, dict) else {}
    text = " ".join([reply.message or "", *map(plain_text, reply.server_messages),
                     reply.error_message, reply.exc_type])
    if not reply.is_json and reply.status == 404:
        if "does not exist" in reply.text:
            return ("the server knows no site by this name (HTML 404 \"" +
                    plain_text(reply.text).split("Not Found", 1)[-1].strip() + "\")",
                    "set [site] host to the site's name: a multi-site bench picks the site from "
                    "the Host header")
        return ("no Frappe API answers at this URL (HTML 404)",
                "check [site] url: the site's base URL, e.g. https://erp.example.com")
    if reply.status in REDIRECT_STATUSES:
        return (f"the server redirected to {reply.headers.get('Location', '?')}",
                "put the final URL in [site] url")
    if reply.status == 429:
        return ("the site's rate limit was hit (429 Too Many Requests)",
                "wait for the window to pass, or lower [crawl] rate_limit")
    for needle, cause, fix in _TEXT_CAUSES:
        if needle.lower() in text.lower():
            return cause, fix
    if "verification" in body or "tmp_id" in body:
        return ("two-factor authentication is on for this user: the login asked for a code "
                "and opened no session", "use an API key pair for automation")
    if reply.message == "Password Reset":
        return ("the password has expired: the login answered with a reset link and opened no "
                "session", "reset the password in Frappe")
    if reply.exc_type == "SecurityException":
        return ("the server refused the login for security reasons (SecurityException)",
                "wait a minute and check the account is not locked")
    if reply.exc_type == "CSRFTokenError":
        return ("the session wants a CSRF token: it has opened the desk (/app)",
                "use a fresh login session that never loads /app, or an API key pair")
    if reply.exc_type == "InvalidAuthorizationToken" or "Failed to decode token" in text:
        return ("the Basic credential is not valid base64",
                "check api_key and api_secret hold no stray characters")
    if reply.status == 401:
        return _401_CAUSES[method]
    guest = reply.session_expired or "Guest" in text or "is not whitelisted" in text
    if reply.status == 403 and guest:
        if method is not AuthMethod.PASSWORD:
            return _GUEST_HEADER
        return _GUEST_SESSION if reply.session_expired else _GUEST_NO_COOKIE
    if reply.status == 200:
        return ("the login or identity check answered 200 without a session or user",
                "run with --debug and compare the reply with the site's login page")
    detail = f" {reply.exc_type}" if reply.exc_type else ""
    if reply.status >= 500:
        return (f"the server failed (HTTP {reply.status}{detail})",
                "check the site's Error Log, then run again")
    return (f"unexpected reply (HTTP {reply.status}{detail}) to the identity check",
            "check [site] url and that the site runs Frappe 14 or newer")


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
