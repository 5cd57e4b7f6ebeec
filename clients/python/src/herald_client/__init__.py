"""Herald's Python client: `Herald` (sync) and `AsyncHerald`, one method per route of the
HTTP API with typed models; `verify` for receivers of Herald's webhooks."""

from herald_client import models
from herald_client._async.client import AsyncHerald
from herald_client._sync.client import Herald
from herald_client.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HeraldError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
)
from herald_client.verify import InvalidSignature, verify

__all__ = [
    "AsyncHerald",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Herald",
    "HeraldError",
    "InvalidInput",
    "InvalidSignature",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "Unauthorized",
    "Unavailable",
    "models",
    "verify",
]
