"""Standard Webhooks signatures.

Hand-written on purpose: the `standardwebhooks` package signs `str` payloads, while Herald
delivers arbitrary bytes verbatim. Tests verify these signatures with that package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signers(secrets: Sequence[str]) -> tuple[hmac.HMAC, ...]:
    """An HMAC-SHA256 keyed with each secret, once: signing copies it instead of keying
    anew (the hot path keeps these per listener)."""
    return tuple(hmac.new(secret_bytes(secret), digestmod=hashlib.sha256) for secret in secrets)


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`."""
    return signature_header_with(signers([secret]), webhook_id, timestamp, body)


def signature_header(secrets: list[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per valid secret (two during a rotation's overlap)."""
    return signature_header_with(signers(secrets), webhook_id, timestamp, body)


def signature_header_with(
    keyed: Sequence[hmac.HMAC], webhook_id: str, timestamp: int, body: bytes
) -> str:
    """The same from `signers`."""
    signed = b"%s.%d.%s" % (webhook_id.encode(), timestamp, body)
    signatures = []
    for signer in keyed:
        mac = signer.copy()
        mac.update(signed)
        signatures.append("v1," + base64.b64encode(mac.digest()).decode())
    return " ".join(signatures)
