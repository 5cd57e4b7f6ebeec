"""The OpenAPI document and its interactive page at /schema, with Swagger UI served from
the installed package (no CDN: the page works on a network without internet access)."""

from __future__ import annotations

from litestar import Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from service import __version__

ASSETS = "/schema/assets"


def openapi_config() -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        js_url=f"{ASSETS}/swagger-ui-bundle.js",
        css_url=f"{ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
    )
    return OpenAPIConfig(
        title="Herald", version=__version__, path="/schema", render_plugins=[swagger]
    )


def swagger_assets() -> Router:
    return create_static_files_router(
        path=ASSETS, directories=[swagger_ui_path], include_in_schema=False
    )
