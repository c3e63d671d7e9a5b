"""Frappe's OAuth 2 / OpenID Connect provider (SPEC.md §7, auth-oauth-*.json).

Endpoints live under ``/api/method/frappe.integrations.oauth2.<fn>`` and reply with bare
JSON (no ``message`` envelope). The client secret is never checked; refresh tokens never
expire; the bearer check ignores ``User.enabled`` (as Frappe 15.55.1 does).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

from audit.sim.model import OAuthClient, OAuthToken
from audit.sim.reply import Reply
from audit.sim.util import random_token, stable_name

if TYPE_CHECKING:
    from audit.sim.context import Ctx

CODE_LIFETIME = 600
TOKEN_LIFETIME = 3600


def bearer_user(ctx: Ctx, token: str) -> str | None:
    """``validate_oauth``: the token's user when the token is valid (SPEC.md §7.4)."""
    row = ctx.site.oauth_tokens.get(token)
    if row is None or row.status == "Revoked" or time.time() >= row.expiration_time:
        return None
    client = ctx.site.oauth_clients.get(row.client)
    if client is None or not set(row.scopes.split()) <= set(client.scopes.split()):
        return None
    return row.user


def _error(status: int, error: str, description: str = "") -> Reply:
    body: dict[str, Any] = {"error": error}
    if description:
        body["error_description"] = description
    return Reply(status=status, body=body)


def _fatal(description: str) -> Reply:
    return Reply(status=400, body={"description": description, "status_code": 400,
                                   "error": "invalid_request"})


def _client_error(ctx: Ctx, client: OAuthClient | None, args: dict[str, Any]) -> Reply | None:
    if client is None or not set(client.allowed_roles) & ctx.engine.roles(ctx.user):
        return _fatal("Invalid client_id parameter value.")
    redirect = str(args.get("redirect_uri") or client.default_redirect_uri)
    if redirect not in client.redirect_uris.split():
        return _fatal("Mismatching redirect URI.")
    wanted = str(args.get("response_type") or "")
    own = "code" if client.response_type == "Code" else "token"
    if wanted not in (own, "id_token", "code id_token", "id_token token"):
        return _fatal("Unsupported response type.")
    if not set(str(args.get("scope") or "").split()) <= set(client.scopes.split()):
        return _fatal("Invalid scope.")
    return None


def authorize(ctx: Ctx) -> Reply:
    args = ctx.form
    if ctx.user == "Guest":
        target = ctx.request.full_path
        return Reply.redirect("/login?redirect-to=" + quote(target, safe=""))
    client = ctx.site.oauth_clients.get(str(args.get("client_id") or ""))
    problem = _client_error(ctx, client, args)
    if problem is not None or client is None:
        return problem or _fatal("Invalid client_id parameter value.")
    keys = ("client_id", "response_type", "redirect_uri", "scope", "state", "nonce",
            "code_challenge", "code_challenge_method")
    query = urlencode({k: args[k] for k in keys if args.get(k) not in (None, "")})
    approve_url = "/api/method/frappe.integrations.oauth2.approve?" + query
    if client.skip_authorization:
        return approve(ctx)
    scopes = "".join(f"<li>{s.title()}</li>" for s in str(args.get("scope") or "").split())
    redirect = str(args.get("redirect_uri") or client.default_redirect_uri)
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><title>Confirm Access</title></head>"
            "<body>\n"
            f"<div class=\"panel-title\">{client.app_name}</div>\n"
            "<p class=\"panel-subtitle\">wants to access the following details from your "
            f"account</p>\n<ul>{scopes}</ul>\n"
            "<button id=\"deny\">Deny</button> <button id=\"allow\">Allow</button>\n<script>\n"
            f"  /* Allow */ window.location.replace(\"{approve_url}\");\n"
            f"  /* Deny */ window.location.replace(\"{redirect}?error=access_denied\");\n"
            "</script>\n</body></html>\n")
    return Reply.html(page, 200, **{"X-Page-Name": "message", "X-From-Cache": "False"})


def approve(ctx: Ctx) -> Reply:
    """Issue a code for the ``user_id`` cookie's user and redirect back to the client."""
    from audit.sim.context import AuthCode

    args = ctx.form
    client = ctx.site.oauth_clients.get(str(args.get("client_id") or ""))
    problem = _client_error(ctx, client, args)
    if problem is not None or client is None:
        return problem or _fatal("Invalid client_id parameter value.")
    user = unquote(ctx.request.cookies.get("user_id") or "") or ctx.user
    redirect = str(args.get("redirect_uri") or client.default_redirect_uri)
    code = random_token()
    ctx.rt.codes[code] = AuthCode(
        code=code, client=client.client_id, user=user, scopes=str(args.get("scope") or ""),
        redirect_uri=redirect, expires=time.time() + CODE_LIFETIME,
        nonce=str(args.get("nonce") or ""), code_challenge=str(args.get("code_challenge") or ""),
        code_challenge_method=str(args.get("code_challenge_method") or ""))
    params = {"code": code}
    if args.get("state"):
        params["state"] = str(args["state"])
    return Reply.redirect(f"{redirect}?{urlencode(params)}")


def issue(ctx: Ctx, client: OAuthClient, user: str, scopes: str, nonce: str = "") -> dict[str, Any]:
    now = time.time()
    token = OAuthToken(access_token=random_token(), refresh_token=random_token(),
                       client=client.client_id, user=user, scopes=scopes,
                       expiration_time=now + TOKEN_LIFETIME, creation=now)
    ctx.site.oauth_tokens[token.access_token] = token
    body: dict[str, Any] = {"access_token": token.access_token, "expires_in": TOKEN_LIFETIME,
                            "token_type": "Bearer", "scope": scopes,
                            "refresh_token": token.refresh_token}
    if "openid" in scopes.split():
        body["id_token"] = _id_token(ctx, client, user, nonce, now)
    return body


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _id_token(ctx: Ctx, client: OAuthClient, user: str, nonce: str, now: float) -> str:
    claims: dict[str, Any] = {"aud": client.client_id, "iat": int(now),
                              "exp": int(now) + TOKEN_LIFETIME, "iss": f"http://{ctx.site.name}"}
    claims.update(userinfo(ctx, user))
    if nonce:
        claims["nonce"] = nonce
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = hmac.new(client.client_secret.encode(), f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{_b64(sig.digest())}"


def _pkce_ok(code_challenge: str, method: str, verifier: str) -> bool:
    if not code_challenge:
        return True
    if method.lower() == "s256":
        digest = _b64(hashlib.sha256(verifier.encode()).digest())
        return hmac.compare_digest(digest, code_challenge)
    return hmac.compare_digest(verifier, code_challenge)


def get_token(ctx: Ctx) -> Reply:
    form = ctx.form
    client = ctx.site.oauth_clients.get(str(form.get("client_id") or ""))
    if client is None:
        return _error(401, "invalid_client")
    grant = str(form.get("grant_type") or "")
    if grant == "authorization_code":
        code = ctx.rt.codes.get(str(form.get("code") or ""))
        if code is None or not code.valid or code.client != client.client_id \
                or code.expires < time.time():
            return _error(400, "invalid_grant")
        if str(form.get("redirect_uri") or "") != code.redirect_uri:
            return _error(400, "invalid_request", "Mismatching redirect URI.")
        if not _pkce_ok(code.code_challenge, code.code_challenge_method,
                        str(form.get("code_verifier") or "")):
            return _error(400, "invalid_grant")
        code.valid = False
        return Reply(body=issue(ctx, client, code.user, code.scopes, code.nonce))
    if grant == "refresh_token":
        old = next((t for t in ctx.site.oauth_tokens.values()
                    if t.refresh_token == form.get("refresh_token") and t.status == "Active"
                    and t.client == client.client_id), None)
        if old is None:
            return _error(400, "invalid_grant")
        return Reply(body=issue(ctx, client, old.user, old.scopes))
    if grant == "password":
        from audit.sim.auth import authenticate

        udef = authenticate(ctx, str(form.get("username") or ""), str(form.get("password") or ""))
        return Reply(body=issue(ctx, client, udef.name, str(form.get("scope") or client.scopes)))
    if grant == "client_credentials":
        return _error(400, "unauthorized_client")
    return _error(400, "unsupported_grant_type")


def revoke_token(ctx: Ctx) -> Reply:
    token = str(ctx.form.get("token") or "")
    hint = str(ctx.form.get("token_type_hint") or "access_token")
    for row in ctx.site.oauth_tokens.values():
        if (hint == "refresh_token" and row.refresh_token == token) or \
                (hint != "refresh_token" and row.access_token == token):
            row.status = "Revoked"
    return Reply(body={})


def userinfo(ctx: Ctx, user: str) -> dict[str, Any]:
    udef = ctx.site.users.get(user)
    full = udef.full_name if udef and udef.full_name else user
    parts = full.split(" ", 1)
    return {"sub": (udef.social_userid if udef and udef.social_userid
                    else stable_name("sub", user, length=40)),
            "name": full, "given_name": parts[0],
            "family_name": parts[1] if len(parts) > 1 else None, "email": user,
            "picture": None, "roles": ctx.engine.role_list(user),
            "iss": f"http://{ctx.site.name}"}


def openid_profile(ctx: Ctx) -> Reply:
    return Reply(body=userinfo(ctx, ctx.user))


def introspect_token(ctx: Ctx) -> Reply:
    token = str(ctx.form.get("token") or "")
    hint = str(ctx.form.get("token_type_hint") or "access_token")
    row = next((t for t in ctx.site.oauth_tokens.values()
                if (t.refresh_token if hint == "refresh_token" else t.access_token) == token),
               None)
    if row is None:
        return Reply(body={"active": False})
    client = ctx.site.oauth_clients.get(row.client)
    body: dict[str, Any] = {"client_id": row.client,
                            "trusted_client": int(bool(client and client.skip_authorization)),
                            "active": row.status == "Active", "exp": int(row.expiration_time),
                            "scope": row.scopes}
    if "openid" in row.scopes.split():
        body.update(userinfo(ctx, row.user))
    return Reply(body=body)


def openid_configuration(ctx: Ctx) -> Reply:
    base = f"http://{ctx.site.name}/api/method/frappe.integrations.oauth2"
    return Reply(body={
        "issuer": f"http://{ctx.site.name}", "authorization_endpoint": f"{base}.authorize",
        "token_endpoint": f"{base}.get_token", "userinfo_endpoint": f"{base}.openid_profile",
        "revocation_endpoint": f"{base}.revoke_token",
        "introspection_endpoint": f"{base}.introspect_token",
        "response_types_supported": ["code", "token", "code id_token", "code token id_token",
                                     "id_token", "id_token token"],
        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["HS256"]})
