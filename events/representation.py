"""An event as the API (and webhooks) show it."""

from flownally_admin.timestamps import rfc3339

from .models import Event
from .types import actor_type


def event_data(event: Event) -> dict:
    return {
        "id": event.id,
        "sequence": event.sequence,
        "type": event.type,
        "occurredAt": rfc3339(event.occurred_at),
        "actor": {"type": actor_type(event.actor_id), "id": event.actor_id},
        "source": event.source,
        "traceId": event.trace_id or None,
        "data": event.data,
    }
