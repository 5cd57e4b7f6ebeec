"""Checking a webhook Herald delivered: Standard Webhooks signatures, through the
`standardwebhooks` package."""

from __future__ import annotations

from collections.abc import Mapping

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class InvalidSignature(Exception):
    """The webhook's signature, or its timestamp, does not check out."""


def verify(payload: bytes, headers: Mapping[str, str], secret: str) -> None:
    """Raises InvalidSignature unless `payload` (the raw request body, byte for byte) was
    signed with `secret` (`whsec_...`) within 5 minutes of now. Any one of the
    space-separated signatures may match: during a rotation Herald signs with the old
    secret and the new. `headers` may be any mapping; names are matched case-insensitively.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        Webhook(secret).verify(payload, lowered, json_parse=False)
    except WebhookVerificationError as exc:
        raise InvalidSignature(str(exc)) from exc
