"""The catalogue of reasons a Frappe API call fails with 401, 403 or 429.

One :class:`Cause` per row of the field catalogue (CAUSES.md) that applies to Frappe 15,
plus the causes the recorded Frappe 15.55.1 transcripts show. Ids are stable: reports,
``explain --format json`` and scripts rely on them. Each cause says what the caller sees,
what tells it apart from its look-alikes, and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOGUE", "Cause", "cause"]


@dataclass(frozen=True)
class Cause:
    id: str
    row: int | None  # the CAUSES.md row, None for a cause only the transcripts show
    title: str
    seen: str  # what the caller sees
    tells_apart: str  # what separates it from the causes that look the same
    fix: str
    frappe15: bool = True  # False: does not happen on Frappe 15 (``seen`` says why)


_C = Cause
CATALOGUE: tuple[Cause, ...] = (
    # -- the Authorization header -------------------------------------------------------------
    _C("wrong-scheme", 1, "the Authorization header has the wrong scheme word or misses the secret",
       "401 AuthenticationError with no message ('Bearer KEY:SECRET', 'token KEY', "
       "'token KEY:SECRET:x', an unknown scheme)",
       "the header itself: a key pair needs 'token KEY:SECRET'; 'Bearer' is read as an OAuth "
       "token", "send 'Authorization: token KEY:SECRET' or 'Basic base64(KEY:SECRET)'"),
    _C("header-not-split", 2, "the Authorization header was ignored: it is not exactly two words",
       "403 as Guest ('User Guest does not have doctype access', 'is not whitelisted')",
       "a double space, an extra word or a missing scheme in the header; Frappe then skips "
       "authentication silently", "one single space between the scheme and KEY:SECRET"),
    _C("basic-email-password", 3, "HTTP Basic with email:password",
       "401 AuthenticationError with no message",
       "the Basic value decodes to an e-mail address before the colon; Frappe reads Basic as "
       "api_key:api_secret", "use an API key pair, or log in with /api/method/login"),
    _C("basic-not-base64", 4, "the Basic value is not valid base64",
       "400 InvalidAuthorizationToken 'Failed to decode token, please provide a valid "
       "base64-encoded token.'", "the status 400 and that exact message",
       "base64-encode KEY:SECRET again, with no stray characters"),
    _C("wrong-secret", 5, "the API secret is wrong (often: the keys were generated again)",
       "401 AuthenticationError with no message, on every call; the web login still works",
       "the api_key exists on a User (the auditor can see it) but the secret does not match",
       "distribute the current secret (User > API Access > Generate Keys issues a new one); "
       "stop automated regeneration"),
    _C("unknown-key", None, "the API key is unknown to this site",
       "401 AuthenticationError with no message",
       "no User of this site holds the api_key (a key of another site or a deleted user)",
       "use a key generated on this site for this user"),
    _C("api-secret-missing", None, "the API key exists but no secret is stored",
       "401 'Password not found for User … api_secret'", "that message",
       "generate the keys again (User > API Access) and update the caller"),
    _C("guest-fallback-old", 6, "an older Frappe ran a bad token silently as Guest",
       "a 403 that looks like a permission problem (Frappe 14 and older)",
       "Frappe 15 answers 401 to a refused key pair instead", "treat a Guest identity as an "
       "authentication failure; upgrade", frappe15=False),
    _C("no-credential", None, "no credential reached Frappe: the request ran as Guest",
       "403 'User Guest does not have doctype access' / 'is not whitelisted', no session_expired",
       "the request carried no Authorization header and no session cookie",
       "send 'Authorization: token KEY:SECRET' on every request"),
    _C("proxy-stripped-auth", 33, "a proxy or WAF stripped the Authorization header",
       "every call runs as Guest (403) although the caller sent a well-formed header",
       "the header sent is well formed, yet Frappe saw Guest",
       "forward the header (nginx: proxy_set_header Authorization $http_authorization)"),
    _C("redirect-dropped-auth", 32, "a redirect dropped the Authorization header",
       "301/302/307/308 to another scheme, host or port; requests drops Authorization there, "
       "so the next call is Guest, and 301/302 turn POST into GET",
       "a 3xx status with a Location to another origin", "call the final (https) URL; refuse "
       "redirects"),
    _C("cookie-and-token", 17, "a session cookie and a token in one request",
       "results for the wrong identity: the cookie's user wins and the token is ignored",
       "the request carries both a non-Guest sid cookie and an Authorization header",
       "one cookie jar per identity; send no cookies with token auth"),
    # -- users and accounts -------------------------------------------------------------------
    _C("user-disabled", 7, "the user is disabled",
       "password login: 401 'User disabled or missing'; Frappe 15.55.1 still accepts a "
       "disabled user's API key (a finding)", "User.enabled = 0 (the auditor can read it)",
       "enable the user, or disable it and revoke its key"),
    _C("session-user-disabled", None, "the session's user was disabled",
       "417 'User X is disabled. Please contact your System Manager.'", "that message",
       "enable the user, or stop using it"),
    _C("website-user", 28, "a Website User (no desk role) calls a desk DocType",
       "403 'does not have doctype access via role permission' for DocTypes that used to work",
       "User.user_type is 'Website User' (the auditor can read it)",
       "give the user a role with desk access that grants the right"),
    _C("ip-restricted", 22, "the user is restricted to some IP addresses (restrict_ip)",
       "401 'Access not allowed from this IP Address'",
       "that message; behind a proxy the first X-Forwarded-For value counts",
       "call from an allowed address, fix the proxy's X-Forwarded-For, or the allow-list"),
    _C("login-hours", 23, "login outside the user's hours",
       "401 'Login not allowed at this time'", "that message (password login only)",
       "adjust login_after / login_before, or use an API key pair"),
    _C("account-locked", 24, "the account is locked after failed logins",
       "500 SecurityException 'Your account has been locked and will resume after N seconds'",
       "that message; Frappe counts failures per user and per client IP",
       "wait until the lock ends; never retry passwords blindly"),
    _C("password-login-disabled", 25, "password login is switched off for the site",
       "401 'Login with username and password is not allowed.'", "that message",
       "use an API key pair"),
    _C("two-factor", 26, "two-factor authentication is on for the user",
       "the login answers 200 with verification/tmp_id and opens no session; later calls are "
       "Guest (403); a wrong code gives 401 'Incorrect Verification code'",
       "verification / tmp_id in the login reply", "use an API key pair for automation"),
    _C("password-expired", 27, "the password has expired",
       "the login answers 200 'Password Reset' with a reset link and opens no session",
       "message 'Password Reset' in the login reply", "reset the password"),
    _C("login-invalid-credentials", None, "wrong password or unknown user",
       "401 'Invalid login credentials' (the same for both: no user enumeration)",
       "that message", "check the username and password; each failure counts towards the "
       "lockout"),
    _C("login-incomplete", None, "the login lacked a username or password",
       "401 'Incomplete login details'", "that message", "send usr and pwd"),
    # -- sessions -----------------------------------------------------------------------------
    _C("session-expired", 18, "the session cookie expired or was logged out",
       "403 with session_expired=1 ('User Guest does not have doctype access', 'is not "
       "whitelisted')", "session_expired=1 in the body; a fresh login works again",
       "log in again and detect expiry; prefer API keys"),
    _C("sessions-cleared", 19, "another login cleared this session (deny_multiple_sessions)",
       "like an expired session: 403 with session_expired=1, Guest",
       "System Settings deny_multiple_sessions is on and the user logged in elsewhere",
       "prefer API keys; log in once per user"),
    _C("csrf-token", 16, "a cookie session without its CSRF token on POST/PUT/DELETE",
       "400 CSRFTokenError 'Invalid Request'",
       "a cookie session that opened /app (the desk) holds a csrf_token",
       "send X-Frappe-CSRF-Token, or use token auth without cookies"),
    # -- OAuth --------------------------------------------------------------------------------
    _C("oauth-token-refused", 20, "the OAuth bearer token is expired, revoked or unknown",
       "401 AuthenticationError with no message (older Frappe: 403 'Not permitted')",
       "the header is 'Bearer <token>'; the auditor can read the OAuth Bearer Token's status "
       "and expiration_time", "refresh the token (refresh_token grant) or issue a new one"),
    _C("oauth-refresh-bug", 21,
       "the OAuth refresh-token grant refused with 'No permission for User'",
       "403 'No permission for User' from the token endpoint",
       "only on the refresh_token grant of affected versions",
       "upgrade Frappe", frappe15=False),
    # -- the site -----------------------------------------------------------------------------
    _C("wrong-site", 31, "the Host header names no site of this bench",
       "HTML 404 '<host> does not exist' before any authentication",
       "the HTML 404 page naming the host", "send the site's name as Host (or "
       "X-Frappe-Site-Name)"),
    _C("auth-hook", 34, "an installed auth hook refused the request",
       "401 'Access not allowed for this URL'", "that message",
       "check the site's installed apps for auth_hooks"),
    _C("rate-limit", 30, "the site's rate limit was hit",
       "429 TooManyRequestsError with Retry-After (the budget is site-wide, all users)",
       "status 429", "back off until Retry-After; lower the request rate"),
    # -- permissions --------------------------------------------------------------------------
    _C("no-role", 8, "no role of the user grants the right on the DocType",
       "403 'User X does not have doctype access via role permission for document D' / "
       "'No permission for D'", "the user's roles have no rule with this right at level 0",
       "grant the right to a role of the user (Role Permission Manager), or add a role that "
       "has it"),
    _C("right-missing-on-doc", None,
       "the user's roles give other rights on the DocType, not this one",
       "403 'You need the 'P' permission on D N' / 'does not have access to this document' "
       "without a role reason", "the rules grant the user read (say) but not P",
       "grant that right to a role of the user, or add a role that has it"),
    _C("linked-doctype-right", 9, "a right is missing on a linked DocType",
       "403, or a misleading 'You need the create permission on D'",
       "the message names another DocType than the request, or a link field's DocType",
       "grant read/select on the linked DocType"),
    _C("user-permission", 10, "a User Permission restricts the user to other documents",
       "403 'Not allowed for D: N … does not have access to this document'; lists silently "
       "show only the allowed documents", "'Not allowed for' in the reasons",
       "add a User Permission for this document, or remove the restriction; check strict user "
       "permissions"),
    _C("if-owner", 11, "the right is given only on documents the user created (if_owner)",
       "403 'does not have access to this document' on other users' documents; lists show only "
       "own documents", "the rule granting the right has 'Only if Creator' and the document's "
       "owner is someone else", "expected; to allow it grant a role without if_owner, or share "
       "the document"),
    _C("controller-hook", None, "a has_permission hook of the DocType refused",
       "403 'Not allowed via controller permission check'", "that reason",
       "meet the hook's condition (e.g. ToDo: allocated to the user), or share the document"),
    _C("permlevel", 12, "a field is above permlevel 0",
       "no 403: the field is missing from replies and writes to it are silently ignored",
       "the field's permlevel is above 0 and no role of the user has a rule at that level",
       "add a role rule at that permlevel"),
    _C("select-only", 13, "the user has only the select right",
       "link pickers and name lists work; reading a document fails with 403",
       "the rules give select but not read", "grant read"),
    _C("child-table", 14, "a child-table DocType was called directly",
       "bare 403 PermissionError / 'Insufficient Permission for …' / 'Parent DocType Required'",
       "the DocType is a child table (istable) and no parent was passed",
       "read through the parent document, or pass parent=<Parent DocType>"),
    _C("not-whitelisted", 15, "the method is not whitelisted, or needs another verb",
       "403 'Function X is not whitelisted' / 'Not permitted' / 'Method Not Allowed'",
       "the caller is not Guest (get_logged_user answers) and the function is not exposed",
       "call a whitelisted method with the right verb"),
    _C("only-for-gate", None, "the function is restricted to a role (only_for)",
       "bare 403 PermissionError with no message",
       "System Manager-only functions (Permission Manager, User Permission admin, "
       "generate_keys)", "call it with a System Manager account"),
    _C("docstatus", None, "the document's docstatus does not allow the operation",
       "417 'Submitted Record cannot be deleted' / 'Cannot edit cancelled document' (not a "
       "403)", "the document is submitted or cancelled",
       "cancel before deleting; amend a cancelled document instead of editing it"),
    _C("cancel-needs-write", None, "cancel also needs the write right",
       "403 'You need the 'write' permission on D N' on a cancel",
       "the user has cancel but no write", "grant write together with cancel"),
    _C("report-access", 29, "the user may not run the report",
       "403 'You don't have access to Report: X'", "that message",
       "add the user's role to the Report, and grant report on its DocType"),
    _C("misleading-message", 35, "the error text names another DocType than the request",
       "e.g. a 403 naming 'Page' for a DocType request",
       "the DocType in the message differs from the request's",
       "run live explain (or the Permission Inspector) to find the real check"),
)

_BY_ID = {c.id: c for c in CATALOGUE}


def cause(cause_id: str) -> Cause:
    """The catalogue entry with this id (KeyError for an unknown id)."""
    return _BY_ID[cause_id]
