"""ASGI entry point for servers: `service.asgi:create` builds the app from the environment."""

from litestar import Litestar

from service.app import create_app
from service.config import Settings


def create() -> Litestar:
    return create_app(Settings())
