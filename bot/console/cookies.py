"""The console's two cookies, both HttpOnly and SameSite=Strict, Secure and ``__Host-`` prefixed behind HTTPS.

- the session: a random token (the database keeps only its hash), for as long as the browser runs;
- the sign-in form's CSRF token, before there is a session (an hour).
"""

from __future__ import annotations

from aiohttp import web

SESSION = "console_session"
LOGIN = "console_login"


def name(base: str, https: bool) -> str:
    """``__Host-`` cookies (HTTPS only) are bound to this host and path /, and no subdomain can set them."""
    return f"__Host-{base}" if https else base


def read(request: web.Request, base: str, https: bool) -> str | None:
    return request.cookies.get(name(base, https))


def set_session(response: web.StreamResponse, token: str, https: bool) -> None:
    response.set_cookie(name(SESSION, https), token, httponly=True, samesite="Strict", secure=https, path="/")


def set_login(response: web.StreamResponse, token: str, https: bool) -> None:
    response.set_cookie(name(LOGIN, https), token, httponly=True, samesite="Strict", secure=https, path="/", max_age=3600)


def clear_session(response: web.StreamResponse, https: bool) -> None:
    response.del_cookie(name(SESSION, https), path="/")
