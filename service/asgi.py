"""ASGI entry point for servers: `service.asgi:create` builds the app from the environment."""

from litestar import Litestar

from service.app import create_app
from service.config import Settings
from service.lib.logs import configure_logging


def create() -> Litestar:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
