"""Your account: change your password, turn the TOTP second factor on or off. Any signed-in account."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.console import audit, auth, cookies
from bot.console.context import Context
from bot.console.pages import Pages

pages = Pages()

DONE = {"totp_on": "Two-step sign-in is on. From now on you will be asked for a code.", "totp_off": "Two-step sign-in is off."}


@pages.get("/account", None)
async def account(request: web.Request, ctx: Context) -> web.StreamResponse:
    setup = request.query.get("totp") == "setup"
    return account_page(ctx, secret=auth.new_totp_secret() if setup else "", notice=DONE.get(request.query.get("done", ""), ""))


def account_page(ctx: Context, secret: str = "", notice: str = "", error: str = "", status: int = 200) -> web.Response:
    assert ctx.account is not None
    return ctx.render(
        "account.html",
        status=status,
        secret=secret,
        grouped_secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        uri=auth.totp_uri(secret, ctx.account.username) if secret else "",
        notice=notice,
        error=error,
        min_password=auth.MIN_PASSWORD_CHARS,
    )


@pages.post("/account/password", None)
async def change_password(request: web.Request, ctx: Context) -> web.StreamResponse:
    assert ctx.account is not None
    store = ctx.services.accounts
    current, new, again = (str(ctx.form.get(k, "")) for k in ("current", "new", "again"))
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, store.verify_current_password, ctx.account.id, current):
        return account_page(ctx, error="Your current password is not right.", status=400)
    if new != again:
        return account_page(ctx, error="The new password and its repetition differ.", status=400)
    try:
        await loop.run_in_executor(None, store.set_password, ctx.account.username, new)
    except ValueError as exc:
        return account_page(ctx, error=str(exc).capitalize() + ".", status=400)
    ctx.audit(audit.PASSWORD_CHANGE, detail="own password")
    ctx.services.sessions.end_all(ctx.account.id)  # every other browser is signed out too
    response = web.Response(status=303, headers={"Location": "/login?signed_out=1"})
    cookies.clear_session(response, ctx.services.settings.https)
    return response


@pages.post("/account/totp", None)
async def change_totp(request: web.Request, ctx: Context) -> web.StreamResponse:
    assert ctx.account is not None
    store = ctx.services.accounts
    if ctx.form.get("action") == "enable":
        secret = str(ctx.form.get("secret", ""))
        if len(secret) != 32 or auth.totp_step(secret, str(ctx.form.get("code", "")), None) is None:
            return account_page(
                ctx, secret=secret if len(secret) == 32 else auth.new_totp_secret(), error="That code is not right.", status=400
            )
        store.set_totp(ctx.account.username, secret)
        ctx.audit(audit.TOTP_CHANGE, detail="enabled")
        return web.Response(status=303, headers={"Location": "/account?done=totp_on"})
    current = str(ctx.form.get("current", ""))
    if not await asyncio.get_running_loop().run_in_executor(None, store.verify_current_password, ctx.account.id, current):
        return account_page(ctx, error="Your current password is not right.", status=400)
    store.set_totp(ctx.account.username, None)
    ctx.audit(audit.TOTP_CHANGE, detail="disabled")
    return web.Response(status=303, headers={"Location": "/account?done=totp_off"})
