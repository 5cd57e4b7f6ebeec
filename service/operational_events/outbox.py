"""Operational events (contract, "Operational events"): the changes Herald reports to an
organization, and the one way a statement records one.

A statement that makes one of these changes writes the event's outbox row itself (a CTE
built by `emit`), so an event exists exactly when its change committed, once per change;
service/operational_events/publisher.py then ingests outbox rows into the organization's
events queue. No row is written for an organization without an events queue, nor about a
listener of the events queue itself (its failures would otherwise feed themselves).
"""

from __future__ import annotations

import enum


class OperationalEvent(enum.StrEnum):
    LISTENER_DISABLED = "listener.disabled"  # a 410, or failing for too long
    LISTENER_UNREACHABLE = "listener.unreachable"  # its liveness_url stopped answering
    LISTENER_RECOVERED = "listener.recovered"  # its liveness_url answers again
    DELIVERY_FAILED = "delivery.failed"  # attempts exhausted, or refused for good
    LISTENER_SECRET_ROTATED = "listener.secret_rotated"


# What every listener event's data holds, from a row `r` with listener_id, queue_id, name.
LISTENER_DATA = "'listener_id', r.listener_id, 'queue_id', r.queue_id, 'name', r.name"


def emit(rows: str, event: OperationalEvent, data: str) -> str:
    """INSERT of one outbox row per row `r` of `rows` (with org_id and queue_id, the queue
    of the listener it is about) whose organization has an events queue other than that
    one. `data`: the pairs of a jsonb_build_object over `r`."""
    return f"""
    INSERT INTO operational_events (org_id, type, data)
    SELECT r.org_id, '{event}', jsonb_build_object({data})
      FROM {rows} r
     WHERE coalesce((SELECT e.id FROM queues e WHERE e.org_id = r.org_id AND e.operational_events)
                    <> r.queue_id, false)
    """
