"""Who is asking: sessions, password login, CSRF and the Authorization header (SPEC.md §2).

The steps run in Frappe 15's order: session resume or password login, the CSRF check, then
(after the rate limiter) ``validate_auth`` for the Authorization header and auth hooks.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from urllib.parse import quote

from audit.sim import oauth
from audit.sim.context import Ctx, PendingLogin, Session
from audit.sim.errors import (
    AuthenticationError,
    CSRFTokenError,
    ExpiredLoginException,
    InvalidAuthorizationToken,
    SecurityException,
    ValidationError,
)
from audit.sim.hooks import ADMIN, GUEST
from audit.sim.model import Document, UserDef
from audit.sim.util import full_name_of, now_str, random_name

UNSAFE = frozenset({"POST", "PUT", "DELETE", "PATCH"})
GUEST_COOKIES = {"sid": "Guest", "system_user": "no", "full_name": "Guest", "user_id": "Guest",
                 "user_image": ""}


# ---- cookies ------------------------------------------------------------------------------
def user_cookies(ctx: Ctx, sid: str, user: str) -> dict[str, str]:
    udef = ctx.site.users.get(user)
    system = udef is None or udef.user_type == "System User"
    name = (udef.full_name if udef and udef.full_name else full_name_of(user))
    return {"sid": sid, "system_user": "yes" if system else "no", "full_name": quote(name),
            "user_id": quote(user), "user_image": ""}


def _full_name(ctx: Ctx, user: str) -> str:
    udef = ctx.site.users.get(user)
    return udef.full_name if udef and udef.full_name else full_name_of(user)


# ---- sessions -----------------------------------------------------------------------------
def _expired(ctx: Ctx, session: Session, now: float, age_limit: float | None) -> bool:
    if age_limit is not None and now - session.created >= age_limit:
        return True
    return now - session.last_active >= ctx.site.settings.session_expiry_s


def resume_session(ctx: Ctx, age_limit: float | None) -> None:
    """``LoginManager`` resume: cookie ``sid`` (or a ``sid`` form field)."""
    sid = ctx.request.cookies.get("sid") or ctx.form.get("sid")
    ctx.cookies.values = dict(GUEST_COOKIES)
    if not sid or sid == "Guest":
        return
    now = time.time()
    session = ctx.rt.sessions.get(str(sid))
    if session is not None and _expired(ctx, session, now, age_limit):
        ctx.rt.sessions.pop(session.sid, None)
        _activity(ctx, f"{_full_name(ctx, session.user)} logged out: <strong>Session Expired"
                       "</strong>", "Logout", "Success", session.user)
        session = None
    if session is None:
        ctx.response["session_expired"] = 1
        ctx.cookies.delete = True
        return
    udef = ctx.site.users.get(session.user)
    if udef is not None and not udef.enabled and session.user != ADMIN:
        raise ctx.log.throw(f"User {session.user} is disabled. Please contact your System "
                            "Manager.", ValidationError)
    if udef is not None:
        validate_ip(ctx, udef)
    session.last_active = now
    ctx.session, ctx.user, ctx.auth_kind = session, session.user, "session"
    ctx.cookies.values = user_cookies(ctx, session.sid, session.user)


def validate_ip(ctx: Ctx, udef: UserDef) -> None:
    prefixes = [p.strip() for p in (udef.restrict_ip or "").replace("\n", ",").split(",")
                if p.strip()]
    if not prefixes:
        return
    settings = ctx.site.settings
    bypass = settings.bypass_restrict_ip_check_if_2fa_enabled
    if settings.enable_two_factor_auth and not bypass:
        bypass = udef.bypass_restrict_ip_check_if_2fa_enabled
    if bypass or any(ctx.ip.startswith(p) for p in prefixes):
        return
    raise ctx.log.throw("Access not allowed from this IP Address", AuthenticationError)


def check_csrf(ctx: Ctx) -> None:
    """``validate_csrf_token``: only unsafe verbs on a session that rendered the desk."""
    session = ctx.session
    if ctx.method not in UNSAFE or ctx.site.settings.ignore_csrf or session is None:
        return
    if not session.csrf_token:
        return
    sent = ctx.header("X-Frappe-CSRF-Token") or ctx.form.pop("csrf_token", None)
    if sent == session.csrf_token:
        return
    ctx.disable_traceback = True
    raise ctx.log.throw("Invalid Request", CSRFTokenError)


# ---- activity log -------------------------------------------------------------------------
def _activity(ctx: Ctx, subject: str, operation: str, status: str, user: str) -> None:
    """Activity Log rows are committed even when the request fails (not journaled)."""
    now = now_str()
    udef = ctx.site.users.get(user)
    ctx.store.record(Document(
        doctype="Activity Log", name=random_name(), owner=user if udef else GUEST,
        creation=now, modified=now, modified_by=user if udef else GUEST,
        values={"subject": subject, "operation": operation, "status": status, "user": user,
                "full_name": _full_name(ctx, user) if udef else user,
                "ip_address": ctx.ip, "communication_date": now}))


# ---- lockout ------------------------------------------------------------------------------
def _tracker_allows(ctx: Ctx, key: str) -> None:
    settings = ctx.site.settings
    limit = settings.allow_consecutive_login_attempts
    if limit <= 0:
        return
    tracker = ctx.rt.trackers.get(key)
    now = time.time()
    if tracker and tracker.first_failure and now < tracker.first_failure + \
            settings.allow_login_after_fail and tracker.count > limit:
        raise ctx.log.throw(f"Your account has been locked and will resume after "
                            f"{settings.allow_login_after_fail} seconds", SecurityException)


def _tracker_fail(ctx: Ctx, *keys: str) -> None:
    from audit.sim.context import Tracker

    now = time.time()
    for key in keys:
        tracker = ctx.rt.trackers.setdefault(key, Tracker())
        if not tracker.first_failure or now >= tracker.first_failure + \
                ctx.site.settings.allow_login_after_fail:
            tracker.count, tracker.first_failure = 0, now
        tracker.count += 1


def _tracker_clear(ctx: Ctx, *keys: str) -> None:
    for key in keys:
        ctx.rt.trackers.pop(key, None)


# ---- password login -----------------------------------------------------------------------
def _fail(ctx: Ctx, message: str, user: str) -> AuthenticationError:
    _activity(ctx, message, "Login", "Failed", user)
    ctx.response["message"] = message
    return AuthenticationError()


def authenticate(ctx: Ctx, usr: str, pwd: str) -> UserDef:
    """``LoginManager.authenticate`` with both lockout trackers (SPEC.md §2.2, §2.8)."""
    if not usr or not pwd:
        raise _fail(ctx, "Incomplete login details", usr)
    if len(pwd) > 512:
        raise _fail(ctx, "Password size exceeded the maximum allowed size", usr)
    udef = ctx.site.users.get(usr) or next(
        (u for u in ctx.site.users.values() if u.name.lower() == usr.lower()), None)
    ip_key = f"ip:{ctx.ip}"
    _tracker_allows(ctx, ip_key)
    if udef is None or usr in (GUEST,):
        _tracker_fail(ctx, ip_key)
        raise _fail(ctx, "Invalid login credentials", usr)
    user_key = f"user:{udef.name}"
    _tracker_allows(ctx, user_key)
    if udef.password is None or pwd != udef.password:
        _tracker_fail(ctx, user_key, ip_key)
        raise _fail(ctx, "Invalid login credentials", udef.name)
    if not udef.enabled and udef.name != ADMIN:
        _tracker_fail(ctx, user_key, ip_key)
        raise _fail(ctx, "User disabled or missing", udef.name)
    _tracker_clear(ctx, user_key, ip_key)
    return udef


def login(ctx: Ctx, age_limit: float | None) -> dict[str, object]:
    """``/api/method/login``: the reply body (cookies are set on ``ctx``)."""
    ctx.cookies.suppressed = True
    if ctx.site.settings.disable_user_pass_login:
        raise ctx.log.throw("Login with username and password is not allowed.",
                            AuthenticationError)
    if ctx.form.get("tmp_id"):
        return _second_factor(ctx)
    usr, pwd = str(ctx.form.get("usr") or ""), str(ctx.form.get("pwd") or "")
    ctx.login_attempt = (usr, False)
    udef = authenticate(ctx, usr, pwd)
    ctx.login_attempt = (usr, True)
    if udef.password_expired:
        ctx.cookies.suppressed, ctx.cookies.values = False, dict(GUEST_COOKIES)
        return {"message": "Password Reset",
                "redirect_to": f"/update-password?key={random_name(32)}&password_expired=true"}
    if ctx.site.settings.enable_two_factor_auth and udef.two_factor and udef.name != ADMIN:
        ctx.cookies.suppressed, ctx.cookies.values = False, dict(GUEST_COOKIES)
        tmp_id = random_name(8)
        otp = ctx.site.secrets.get(f"<otp:{udef.name.split('@')[0]}>") or "123456"
        ctx.rt.pending_logins[tmp_id] = PendingLogin(udef.name, time.time() + 180, otp)
        return {"verification": {"method": "OTP App", "setup": True}, "tmp_id": tmp_id}
    return post_login(ctx, udef)


def _second_factor(ctx: Ctx) -> dict[str, object]:
    pending = ctx.rt.pending_logins.get(str(ctx.form.get("tmp_id")))
    if pending is None or pending.expires < time.time():
        raise ctx.log.throw("Login session expired, refresh page to retry",
                            ExpiredLoginException)
    if str(ctx.form.get("otp") or "") != pending.otp:
        _tracker_fail(ctx, f"user:{pending.user}")
        raise ctx.log.throw("Incorrect Verification code", AuthenticationError)
    ctx.rt.pending_logins.pop(str(ctx.form.get("tmp_id")), None)
    return post_login(ctx, ctx.site.users[pending.user])


def post_login(ctx: Ctx, udef: UserDef) -> dict[str, object]:
    validate_ip(ctx, udef)
    hour = time.gmtime().tm_hour
    if (udef.login_before and hour >= udef.login_before) or \
            (udef.login_after and hour < udef.login_after):
        raise ctx.log.throw("Login not allowed at this time", AuthenticationError)
    now = time.time()
    sid = secrets.token_hex(28)
    session = Session(sid=sid, user=udef.name, created=now, last_active=now, ip=ctx.ip)
    if ctx.site.settings.deny_multiple_sessions:
        _trim_sessions(ctx, udef)
    ctx.rt.sessions[sid] = session
    udef.last_login = udef.last_active = now_str()
    udef.last_ip = ctx.ip
    _activity(ctx, f"{_full_name(ctx, udef.name)} logged in", "Login", "Success", udef.name)
    ctx.session, ctx.user, ctx.auth_kind = session, udef.name, "session"
    ctx.cookies.values = user_cookies(ctx, sid, udef.name)
    ctx.cookies.suppressed = False
    ctx.cookies.delete = False
    ctx.response.pop("session_expired", None)
    system = udef.user_type == "System User"
    return {"message": "Logged In" if system else "No App",
            "home_page": "/app" if system else "/me", "full_name": _full_name(ctx, udef.name)}


def _trim_sessions(ctx: Ctx, udef: UserDef) -> None:
    """Keep the ``simultaneous_sessions - 1`` newest others; the new one is added after."""
    mine = sorted((s for s in ctx.rt.sessions.values() if s.user == udef.name),
                  key=lambda s: s.last_active, reverse=True)
    keep = max(udef.simultaneous_sessions - 1, 0)
    for session in mine[keep:]:
        ctx.rt.sessions.pop(session.sid, None)


def logout(ctx: Ctx) -> dict[str, object]:
    if ctx.session is not None:
        ctx.rt.sessions.pop(ctx.session.sid, None)
        _activity(ctx, f"{_full_name(ctx, ctx.session.user)} logged out: <strong>User "
                       "Manually Logged Out</strong>", "Logout", "Success", ctx.session.user)
    ctx.session, ctx.user = None, GUEST
    ctx.cookies.values, ctx.cookies.delete = dict(GUEST_COOKIES), True
    return {"message": "No App", "home_page": "/login", "full_name": "Guest"}


# ---- Authorization header -----------------------------------------------------------------
def header_kind_of(header: str) -> str:
    """How a request authenticates: token / basic / bearer / other / none."""
    parts = header.split(" ")
    if len(parts) != 2:
        return "none" if not header else "other"
    return {"token": "token", "basic": "basic", "bearer": "bearer"}.get(parts[0].lower(),
                                                                          "other")


def header_kind(ctx: Ctx) -> str:
    return header_kind_of(ctx.header("Authorization"))


def _api_key(ctx: Ctx, key: str, secret: str) -> None:
    """``validate_api_key_secret``: no ``enabled`` check in 15.55.1 (SPEC.md §2.1)."""
    udef = next((u for u in ctx.site.users.values() if u.api_key is not None
                 and u.api_key == key), None)
    if udef is None:
        raise AuthenticationError()
    if not udef.api_secret:
        raise ctx.log.throw(f"Password not found for User {udef.name} api_secret",
                            AuthenticationError)
    if secret != udef.api_secret:
        raise AuthenticationError()
    if ctx.user in ("", GUEST):
        ctx.user = udef.name


def validate_auth(ctx: Ctx) -> None:
    parts = ctx.header("Authorization").split(" ")
    if len(parts) == 2:
        scheme, credential = parts
        user = oauth.bearer_user(ctx, credential)
        if user is not None:
            ctx.user = user
        try:
            if scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(credential)
                except binascii.Error:
                    raise ctx.log.throw("Failed to decode token, please provide a valid "
                                        "base64-encoded token.",
                                        InvalidAuthorizationToken) from None
                key, secret = decoded.decode("utf-8").split(":")
                _api_key(ctx, key, secret)
            elif scheme.lower() == "token":
                key, secret = credential.split(":")
                _api_key(ctx, key, secret)
        except (AttributeError, TypeError, ValueError):
            pass
    for prefix in ctx.site.settings.auth_hook_denies:
        if ctx.path.startswith(prefix):
            raise ctx.log.throw("Access not allowed for this URL", AuthenticationError)
    if len(parts) == 2 and ctx.user in ("", GUEST):
        raise AuthenticationError()
