"""Standard Webhooks signatures.

Hand-written on purpose: the `standardwebhooks` package signs `str` payloads, while Herald
delivers arbitrary bytes verbatim. Tests verify these signatures with that package.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`."""
    return signature_header_for_keys([secret_bytes(secret)], webhook_id, timestamp, body)


def signature_header(secrets: list[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per valid secret (two during a rotation's overlap)."""
    keys = [secret_bytes(secret) for secret in secrets]
    return signature_header_for_keys(keys, webhook_id, timestamp, body)


def signature_header_for_keys(
    keys: Sequence[bytes], webhook_id: str, timestamp: int, body: bytes
) -> str:
    """The same from decoded secrets (the hot path decodes them once per listener)."""
    signed = b"%s.%d.%s" % (webhook_id.encode(), timestamp, body)
    return " ".join(
        "v1," + base64.b64encode(hmac.digest(key, signed, "sha256")).decode() for key in keys
    )
