"""Listener signing secrets and API/inlet tokens: generation, hashing, encryption at rest."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "SecretBox", "hash_token", "new_encryption_key", "new_signing_secret"]


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_encryption_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Encrypts with the first of the server's Fernet keys (HERALD_SECRET_KEY, comma
    separated, newest first) and decrypts with any of them."""

    def __init__(self, keys: str) -> None:
        fernets = [Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()]
        if not fernets:
            raise ValueError("HERALD_SECRET_KEY is not set")
        self._fernet = MultiFernet(fernets)

    def seal(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def open(self, token: bytes) -> str:
        return self._fernet.decrypt(token).decode()

    def reseal(self, token: bytes) -> bytes:
        """The same secret, encrypted with the newest key."""
        return self._fernet.rotate(token)

    def seal_headers(self, headers: dict[str, str]) -> bytes | None:
        return self.seal(json.dumps(headers)) if headers else None

    def open_headers(self, sealed: bytes | None) -> dict[str, str]:
        return dict(json.loads(self.open(sealed))) if sealed else {}
