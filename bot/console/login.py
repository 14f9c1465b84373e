"""Signing in and out: name and password, then the TOTP code when the account has one; every attempt is audited.

A wrong name and a wrong password get the same message. An address that tries too often gets 429
(``LoginLimiter``); an account with too many failures in a row is locked for a while (``AccountStore``),
and says so, because staff must know to wait or ask an admin.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web

from bot.console import audit, auth, cookies
from bot.console.accounts import Account, PasswordCheck
from bot.console.audit import Actor
from bot.console.context import Context
from bot.console.pages import Pages
from bot.console.sessions import FULL, TOTP

pages = Pages()

WRONG = "That name and password do not match an account. Check them and try again."
RATE_LIMITED = "Too many failed sign-ins from this computer. Wait a few minutes, then try again."
_SAFE_NEXT = re.compile(r"^/(?![/\\])[A-Za-z0-9/_.~%?=&+-]*$")
_FAILURES = {"unknown": "unknown name", "wrong_password": "wrong password", "locked": "account locked", "disabled": "account disabled"}


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def safe_next(value: object) -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    text = str(value or "")
    return text if _SAFE_NEXT.match(text) and not text.startswith(("/login", "/logout")) else ""


def locked_message(ctx: Context) -> str:
    minutes = ctx.services.accounts.lockout.minutes
    return f"Too many failed sign-ins: this account is locked for {minutes} minutes. An admin can unlock it sooner."


def landing(ctx: Context, account: Account) -> str:
    """The first page of the navigation this account may use."""
    for item in sorted(ctx.services.nav, key=lambda i: (i.order, i.label)):
        if item.permission is None or account.can(item.permission):
            return item.path
    return "/account"


@pages.get("/", None)
async def home(request: web.Request, ctx: Context) -> web.StreamResponse:
    assert ctx.account is not None
    return redirect(landing(ctx, ctx.account))


@pages.get("/login", None, public=True)
async def login_form(request: web.Request, ctx: Context) -> web.StreamResponse:
    if ctx.account is not None:
        return redirect(landing(ctx, ctx.account))
    notice = "You are signed out." if request.query.get("signed_out") else ""
    return _login_page(ctx, safe_next(request.query.get("next")), notice=notice)


@pages.post("/login", None, public=True)
async def login_submit(request: web.Request, ctx: Context) -> web.StreamResponse:
    services = ctx.services
    name = str(ctx.form.get("username", ""))[:64]
    password = str(ctx.form.get("password", ""))
    after = safe_next(ctx.form.get("next"))
    tried = auth.normalise_username(name)[:64]
    if services.limiter.blocked(ctx.client):
        services.audit.append(audit.LOGIN_FAILED, Actor(tried, None, ctx.client), detail="too many failures from this address")
        return _login_page(ctx, after, error=RATE_LIMITED, name=name, status=429)
    check: PasswordCheck = await asyncio.get_running_loop().run_in_executor(None, services.accounts.check_password, name, password)
    if not check.ok:
        services.limiter.failed(ctx.client)
        account = check.account
        detail = _FAILURES[check.reason] + ("; the account is now locked" if check.locked_now else "")
        actor = Actor(account.username if account else tried, account.id if account else None, ctx.client)
        services.audit.append(audit.LOGIN_FAILED, actor, detail=detail)
        locked = check.reason == "locked" or check.locked_now
        return _login_page(ctx, after, error=locked_message(ctx) if locked else WRONG, name=name, status=401)
    account = check.account
    assert account is not None
    if ctx.session is not None:
        services.sessions.end(ctx.session.token_hash)
    if account.totp_enabled:
        token, _ = services.sessions.create(account.id, stage=TOTP)
        response = redirect("/login/totp" + (f"?next={quote(after, safe='/')}" if after else ""))
        cookies.set_session(response, token, services.settings.https)
        return response
    return _signed_in(ctx, account, after, "password")


@pages.get("/login/totp", None, public=True)
async def totp_form(request: web.Request, ctx: Context) -> web.StreamResponse:
    if ctx.session is None or ctx.session.stage != TOTP:
        return redirect("/login")
    return ctx.render("totp.html", next=safe_next(request.query.get("next")), error="")


@pages.post("/login/totp", None, public=True)
async def totp_submit(request: web.Request, ctx: Context) -> web.StreamResponse:
    services = ctx.services
    session = ctx.session
    if session is None or session.stage != TOTP:
        return redirect("/login")
    after = safe_next(ctx.form.get("next"))
    account = services.accounts.by_id(session.account_id)
    assert account is not None  # the session middleware ends sessions of missing accounts
    actor = Actor(account.username, account.id, ctx.client)
    if services.limiter.blocked(ctx.client):
        services.audit.append(audit.LOGIN_FAILED, actor, detail="too many failures from this address")
        return ctx.render("totp.html", status=429, next=after, error=RATE_LIMITED)
    if services.accounts.check_totp(account.id, str(ctx.form.get("code", ""))):
        services.sessions.end(session.token_hash)
        return _signed_in(ctx, account, after, "password and TOTP code")
    services.limiter.failed(ctx.client)
    services.audit.append(audit.LOGIN_FAILED, actor, detail="wrong TOTP code")
    now_locked = services.accounts.by_id(account.id)
    if now_locked is not None and now_locked.locked(datetime.now(UTC)):
        services.sessions.end(session.token_hash)
        response = _login_page(ctx, after, error=locked_message(ctx), status=401)
        cookies.clear_session(response, services.settings.https)
        return response
    return ctx.render("totp.html", status=401, next=after, error="That code is not right (or was used already). Enter the current one.")


@pages.post("/logout", None)
async def logout(request: web.Request, ctx: Context) -> web.StreamResponse:
    assert ctx.session is not None
    ctx.audit(audit.LOGOUT)
    ctx.services.sessions.end(ctx.session.token_hash)
    response = redirect("/login?signed_out=1")
    cookies.clear_session(response, ctx.services.settings.https)
    return response


def _signed_in(ctx: Context, account: Account, after: str, how: str) -> web.Response:
    services = ctx.services
    services.accounts.record_success(account.id)
    token, _ = services.sessions.create(account.id, stage=FULL)
    services.audit.append(audit.LOGIN, Actor(account.username, account.id, ctx.client), detail=how)
    response = redirect(after or landing(ctx, account))
    cookies.set_session(response, token, services.settings.https)
    return response


def _login_page(ctx: Context, after: str, error: str = "", notice: str = "", name: str = "", status: int = 200) -> web.Response:
    """The sign-in form with its CSRF token, kept in a cookie until there is a session."""
    https = ctx.services.settings.https
    token = cookies.read(ctx.request, cookies.LOGIN, https) or ""
    if not (40 <= len(token) <= 64):
        token = auth.new_token()
    response = ctx.render("login.html", status=status, csrf_token=token, next=after, error=error, notice=notice, name=name)
    cookies.set_login(response, token, https)
    return response
