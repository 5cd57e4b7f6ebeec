"""All ORM models, imported here so that metadata is complete for Alembic."""

from service.db.models.activity import DeliveryMinute, IngestMinute
from service.db.models.deliveries import Attempt, Delivery
from service.db.models.event_types import EventType
from service.db.models.listeners import Listener
from service.db.models.messages import Batch, BatchFailure, Inlet, Message
from service.db.models.operational_events import OperationalEventRow
from service.db.models.organizations import ApiKey, Organization
from service.db.models.portal_sessions import PortalSession
from service.db.models.queues import DeletedQueue, Queue
from service.db.models.secret_key import SecretKeyCheck
from service.db.models.web_sessions import WebSession

__all__ = [
    "ApiKey",
    "Attempt",
    "Batch",
    "BatchFailure",
    "DeletedQueue",
    "Delivery",
    "DeliveryMinute",
    "EventType",
    "IngestMinute",
    "Inlet",
    "Listener",
    "Message",
    "OperationalEventRow",
    "Organization",
    "PortalSession",
    "Queue",
    "SecretKeyCheck",
    "WebSession",
]
