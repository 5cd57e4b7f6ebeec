"""The browser side of the application: the console's and the portal's routers (each with
its own authentication, CSRF check, error pages and security headers) and their templates."""

from __future__ import annotations

import hashlib
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from service.config import Settings
from service.console.auth import (
    ConsoleAuthentication,
    SignInRequired,
    herald_error_page,
    sign_in_first,
)
from service.console.controller import ConsoleQueues, ConsoleSignIn
from service.console.keys_controller import ConsoleApiKeys
from service.console.listener_controller import ConsoleListeners
from service.console.render import age
from service.console.security import portal_headers, secure_headers
from service.errors import HeraldError
from service.lib.ids import id_time
from service.portal.pages import (
    PortalAuthentication,
    PortalPages,
    PortalSignIn,
    PortalSignInRequired,
    portal_ended,
    portal_error,
)

HERE = Path(__file__).parent
OPEN_PATHS = [r"^/console/sign-in", r"^/console/static/"]


def console_router(settings: Settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            ConsoleSignIn,
            ConsoleQueues,
            ConsoleListeners,
            ConsoleApiKeys,
            create_static_files_router(
                path="/console/static", directories=[HERE / "static"], include_in_schema=False
            ),
        ],
        middleware=[
            DefineMiddleware(CSRFMiddleware, config=csrf_config(settings, "/console")),
            DefineMiddleware(ConsoleAuthentication, exclude=OPEN_PATHS),
        ],
        after_request=secure_headers,
        exception_handlers={SignInRequired: sign_in_first, HeraldError: herald_error_page},
        include_in_schema=False,
    )


def console_templates() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined
    )
    environment.filters["age"] = age
    environment.filters["id_time"] = lambda value: id_time(value).strftime("%Y-%m-%d %H:%M:%S")
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def portal_router(settings: Settings) -> Router:
    return Router(
        path="/",
        route_handlers=[PortalSignIn, PortalPages],
        middleware=[
            DefineMiddleware(CSRFMiddleware, config=csrf_config(settings, "/portal")),
            DefineMiddleware(PortalAuthentication, exclude=[r"^/portal/sign-in/"]),
        ],
        after_request=portal_headers(settings.portal_frame_ancestors),
        exception_handlers={PortalSignInRequired: portal_ended, HeraldError: portal_error},
        include_in_schema=False,
    )


def csrf_config(settings: Settings, path: str) -> CSRFConfig:
    """Forms of the console and the portal carry a token matching a signed cookie
    (Litestar's double-submit check). The API authenticates with keys, never cookies."""
    key = settings.secret_key.split(",")[0].strip().encode()
    return CSRFConfig(
        secret=hashlib.sha256(b"herald console csrf\0" + key).hexdigest(),
        cookie_path=path,
        cookie_httponly=True,
        cookie_samesite="strict",
    )
