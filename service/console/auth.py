"""Who is signed in to the console: the session cookie's principal, checked against the
route's scope like an API key (service/auth.py), and the pages for when there is none."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.response import Redirect, Template

from service.auth import REQUIRED_SCOPE, requires
from service.console.render import html
from service.console.sessions import COOKIE
from service.errors import Forbidden, HeraldError

SIGN_IN = "/console/sign-in"
# What the console's routes need of the signed-in key (its `opt`).
READ, WRITE, ADMIN = requires("queues:read"), requires("queues:write"), requires("admin")
MESSAGES = requires("messages:read")


class SignInRequired(Exception):
    """No session, or it ended (signed out, expired, its key deleted)."""


class ConsoleAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = connection.cookies.get(COOKIE)
        principal = await connection.app.state.console_sessions.principal(token) if token else None
        if principal is None:
            raise SignInRequired
        scope = connection.route_handler.opt.get(REQUIRED_SCOPE)
        if scope is not None and not principal.allows(scope):
            raise Forbidden(f"Your API key lacks the '{scope}' scope")
        return AuthenticationResult(user=principal, auth=token)


def sign_in_first(request: Request[Any, Any, Any], _: SignInRequired) -> Response[Any]:
    if request.method == "GET":
        return Redirect(f"{SIGN_IN}?next={quote(request.url.path)}")
    return error_page(401, "Your session has ended: sign in again.")


def herald_error_page(_: Request[Any, Any, Any], exc: HeraldError) -> Response[Any]:
    return error_page(exc.status_code, exc.detail)


def error_page(status_code: int, detail: str) -> Template:
    return html("error.html", status_code, status_code=status_code, detail=detail)
