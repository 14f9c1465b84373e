"""How a console page is declared: its route, the permission it needs, and its place in the navigation.

Every route goes through one guard, so a page cannot forget a check:

- no signed-in account: GET goes to the sign-in page (then back), anything else gets 403;
- the account lacks the page's permission: 403, and an ``access_denied`` audit entry;
- POST: the form's ``csrf_token`` must equal the session's (before sign-in, the sign-in cookie's), else 403.

Only routes declared ``public=True`` (the sign-in pages) skip the first two.

    pages = Pages()

    @pages.get("/insights", Permission.VIEW_INSIGHTS, nav="Insights", order=40)
    async def insights(request: web.Request, ctx: Context) -> web.StreamResponse:
        return ctx.render("insights.html", ...)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from bot.console import audit, cookies
from bot.console.auth import csrf_ok
from bot.console.context import Context, NavItem, Services
from bot.console.roles import Permission

Handler = Callable[[web.Request, Context], Awaitable[web.StreamResponse]]
Decorator = Callable[[Handler], Handler]
CONTEXT = "console_context"  # where the request keeps its Context
SERVICES = web.AppKey("console_services", Services)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    permission: Permission | None  # None: any signed-in account
    public: bool = False
    nav: str | None = None
    order: int = 50


class Pages:
    """The routes of one part of the console."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def get(self, path: str, permission: Permission | None, *, nav: str | None = None, order: int = 50, public: bool = False) -> Decorator:
        return self._add("GET", path, permission, nav, order, public)

    def post(self, path: str, permission: Permission | None, *, public: bool = False) -> Decorator:
        return self._add("POST", path, permission, None, 50, public)

    def _add(self, method: str, path: str, permission: Permission | None, nav: str | None, order: int, public: bool) -> Decorator:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, path, handler, permission, public, nav, order))
            return handler

        return register


def install(app: web.Application, groups: Iterable[Pages]) -> list[Route]:
    """Add every route, behind the guard, and collect the navigation."""
    services = app[SERVICES]
    routes = [route for group in groups for route in group.routes]
    for route in routes:
        app.router.add_route(route.method, route.path, guard(route))
        if route.nav:
            services.nav.append(NavItem(route.nav, route.path, route.permission, route.order))
    return routes


def context(request: web.Request) -> Context:
    return request[CONTEXT]


def guard(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        ctx = context(request)
        if not route.public:
            if ctx.account is None:
                if request.method == "GET":
                    raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")
                return error(ctx, 403, "Please sign in", "Your session has ended. Sign in again, then repeat what you were doing.")
            if route.permission is not None and not ctx.account.can(route.permission):
                ctx.audit(audit.ACCESS_DENIED, detail=f"{request.method} {request.path}"[:200])
                return error(ctx, 403, "Not available to your role", "Your account's role does not give access to this page.")
        if request.method == "POST":
            form = await request.post()
            given = form.get("csrf_token")
            expected = [ctx.session.csrf_token] if ctx.session else []
            if route.public:  # the sign-in form, before there is a session: its cookie's token
                expected.append(cookies.read(request, cookies.LOGIN, ctx.services.settings.https) or "")
            if not any(csrf_ok(token, given) for token in expected):  # type: ignore[arg-type]
                return error(ctx, 403, "The form has expired", "Nothing was changed. Go back, reload the page and try again.")
            ctx.form = form
        return await route.handler(request, ctx)

    handle.__name__ = route.handler.__name__
    return handle


def error(ctx: Context, status: int, title: str, message: str) -> web.Response:
    return ctx.render("error.html", status=status, title=title, message=message)
