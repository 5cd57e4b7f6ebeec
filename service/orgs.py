"""Creating an organization with its first API key, outside any HTTP request."""

from __future__ import annotations

import uuid

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.keys.repository import ApiKeyRepository
from service.keys.service import ApiKeyService
from service.lib.secrets import hash_token


async def create_organization(settings: Settings, name: str) -> tuple[uuid.UUID, str]:
    """Commits a new organization and an admin key; returns (org id, key in clear)."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            org, _, key = await ApiKeyService(ApiKeyRepository(session)).create_organization(name)
            return org.id, key
    finally:
        await engine.dispose()


async def key_is_valid(settings: Settings, key: str) -> bool:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await ApiKeyRepository(session).find_by_hash(hash_token(key)) is not None
    finally:
        await engine.dispose()
