"""The few HTML pages the simulator serves: werkzeug error pages, the desk boot page
(which stores a CSRF token in the session), the login page and Frappe's error pages."""

from __future__ import annotations

import html
import secrets

from audit.sim.context import Ctx
from audit.sim.reply import Reply

HTML_ERRORS = {
    401: ("Session Expired", "Your session has expired, please login again to continue."),
    403: ("Not Permitted", "You do not have enough permissions to complete the action."),
    404: ("Not Found", "Sorry! We could not find what you were looking for."),
}


def werkzeug_error(status: int, title: str, text: str) -> Reply:
    """The plain page werkzeug renders for NotFound / MethodNotAllowed."""
    page = (f"<!doctype html>\n<html lang=en>\n<title>{status} {html.escape(title)}</title>\n"
            f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(text)}</p>\n")
    return Reply.html(page, status=status)


def unknown_site(host: str) -> Reply:
    return werkzeug_error(404, "Not Found", f"{host} does not exist")


def frappe_error_page(status: int, detail: str = "") -> Reply:
    if status == 429:
        return Reply(status=429, body="Too Many Requests", content_type="text/plain")
    title, text = HTML_ERRORS.get(status, ("Server Error", detail or "Server Error"))
    page = (f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>"
            f"<h1>{title}</h1><p>{html.escape(text)}</p></body></html>\n")
    return Reply.html(page, status=status)


def desk(ctx: Ctx) -> Reply:
    """``/app``: Guests go to the login page; a session gets (and shows) a CSRF token."""
    if ctx.user == "Guest":
        return Reply.redirect("/login?redirect-to=" + ctx.path.replace("/", "%2F"))
    udef = ctx.site.users.get(ctx.user)
    if udef is not None and udef.user_type != "System User":
        return frappe_error_page(403)
    if ctx.session is not None:
        if not ctx.session.csrf_token:
            ctx.session.csrf_token = secrets.token_hex(28)
        token = ctx.session.csrf_token
    else:
        token = "None"
    page = ("<!DOCTYPE html>\n<html><head><title>Frappe</title></head><body>\n"
            "<div id=\"body\"></div>\n<script>\n"
            f"\tfrappe.csrf_token = \"{token}\";\n"
            f"\tfrappe.boot = {{\"user\": {{\"name\": \"{html.escape(ctx.user)}\"}}}};\n"
            "</script>\n</body></html>\n")
    return Reply.html(page)


def login_page(ctx: Ctx) -> Reply:
    page = ("<!DOCTYPE html>\n<html><head><title>Login</title></head><body>\n"
            "<form class=\"form-signin\" action=\"/api/method/login\" method=\"post\">"
            "<input name=\"usr\"><input name=\"pwd\" type=\"password\"></form>\n"
            "</body></html>\n")
    return Reply.html(page)


def website(ctx: Ctx) -> Reply:
    if ctx.path in ("/", "/index", "/me"):
        if ctx.path == "/me" and ctx.user == "Guest":
            return Reply.redirect("/login?redirect-to=%2Fme")
        return Reply.html(f"<!DOCTYPE html>\n<html><head><title>{ctx.site.name}</title></head>"
                          "<body></body></html>\n")
    if ctx.path == "/login":
        return login_page(ctx)
    if ctx.path == "/app" or ctx.path.startswith("/app/"):
        return desk(ctx)
    return frappe_error_page(404)
