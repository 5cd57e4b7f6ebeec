"""The headers of a webhook request, in one place: the worker sends them, the console shows
which were sent with each attempt."""

from __future__ import annotations

import uuid

from service import __version__

USER_AGENT = f"herald/{__version__}"


def listener_headers(
    own: dict[str, str], listener_id: uuid.UUID, queue_id: uuid.UUID
) -> dict[str, str]:
    """The listener's own headers, then the Herald headers the same for every delivery."""
    return {
        **own,
        "accept-encoding": "identity",
        "user-agent": USER_AGENT,
        "herald-listener-id": str(listener_id),
        "herald-queue-id": str(queue_id),
    }


def request_headers(
    fixed: dict[str, str],
    original: dict[str, str] | None,
    *,
    message_id: str,
    content_type: str,
    timestamp: int,
    signature: str,
    attempt: int,
    event_type: str | None,
) -> dict[str, str]:
    """Inlet headers, then the listener's (`fixed`, from listener_headers), then Herald's
    for this attempt (which nothing overrides). A delivery is named by its message."""
    if original:
        headers = {f"herald-original-{k}": v for k, v in original.items()}
        headers.update(fixed)
    else:
        headers = fixed.copy()
    headers["content-type"] = content_type
    headers["webhook-id"] = message_id
    headers["webhook-timestamp"] = str(timestamp)
    headers["webhook-signature"] = signature
    headers["herald-message-id"] = message_id
    headers["herald-attempt"] = str(attempt)
    if event_type is not None:
        headers["herald-event-type"] = event_type
    return headers
