"""The console's web application: security headers on every response, the session of every request, the pages.

aiohttp (installed with Rasa) rather than Rasa's Sanic 21.12: it runs in-process in tests without a
global app registry, and its server stops cleanly on SIGTERM and SIGINT, which scripts/start relies on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bot.console import account, admin, cookies, inbox, insights, login, unanswered
from bot.console.context import Context, Services, client_address
from bot.console.pages import CONTEXT, SERVICES, Pages, Route, error, install
from bot.console.sessions import FULL

STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".png": "image/png"}
MAX_BODY = 64 * 1024  # forms are small; a note is at most 2,000 characters
# The parts of the console, in navigation order; a new part adds its module here.
FEATURES: list[Pages] = [login.pages, inbox.pages, unanswered.pages, insights.pages, admin.pages, account.pages]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROUTES = web.AppKey("console_routes", list)


def security_headers(https: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def create_app(services: Services) -> web.Application:
    app = web.Application(middlewares=[_headers_and_errors, _session], client_max_size=MAX_BODY)
    app[SERVICES] = services
    routes = install(app, FEATURES)
    app.router.add_get("/static/{name}", _static)
    app[ROUTES] = routes  # for the tests that check every page
    return app


def routes_of(app: web.Application) -> list[Route]:
    return app[ROUTES]


@web.middleware
async def _headers_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    services = request.app[SERVICES]
    headers = security_headers(services.settings.https)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status in (404, 405, 413) and CONTEXT in request:
            titles = {404: "Not found", 405: "Not allowed", 413: "Too large"}
            response = error(request[CONTEXT], exc.status, titles[exc.status], "There is no such page here.")
        else:
            exc.headers.update(headers)
            exc.headers["Server"] = "staff-console"
            exc.headers["Cache-Control"] = "no-store"
            raise
    response.headers.update(headers)
    response.headers["Server"] = "staff-console"  # not the framework and its version
    # Pages carry patient information: never stored by the browser or a proxy. Static files may be revalidated.
    response.headers["Cache-Control"] = "no-cache" if request.path.startswith("/static/") else "no-store"
    return response


@web.middleware
async def _session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the request's Context: the account of a live, fully signed-in session, else none."""
    services = request.app[SERVICES]
    https = services.settings.https
    session = services.sessions.get(cookies.read(request, cookies.SESSION, https))
    account = services.accounts.by_id(session.account_id) if session else None
    if session and (account is None or account.disabled):
        services.sessions.end(session.token_hash)
        session, account = None, None
    ctx = Context(
        request=request,
        services=services,
        account=account if session and session.stage == FULL else None,
        session=session,
        client=client_address(request, services.settings.trust_proxy),
    )
    request[CONTEXT] = ctx
    return await handler(request)


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        raise web.HTTPNotFound()
    return web.Response(
        body=path.read_bytes(), content_type=STATIC_TYPES[path.suffix], charset="utf-8" if path.suffix in (".css", ".js") else None
    )
