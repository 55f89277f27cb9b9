"""An event as the API (and webhooks) show it."""

import orjson

from flownally_admin.timestamps import rfc3339

from .models import Event
from .types import actor_type

# What the feed reads of each event: the columns of the envelope, then the data as the
# JSON text it is stored as (see `event_feed_json`).
FEED_COLUMNS = ("sequence", "id", "type", "occurred_at", "actor_id", "source", "trace_id")


def event_data(event: Event) -> dict:
    return _envelope(*(getattr(event, column) for column in FEED_COLUMNS), data=event.data)


def event_feed_json(rows: list[tuple], next_after: int) -> bytes:
    """The feed's answer, `{events, nextAfter}`, from `(*FEED_COLUMNS, data text)` rows.

    Each event's `data` goes into the answer as the JSON text the database holds, never
    parsed and serialised again: a page of a thousand contacts' pictures is most of the
    feed's cost otherwise.
    """
    events = [_envelope(*row[:-1], data=orjson.Fragment(row[-1])) for row in rows]
    return orjson.dumps({"events": events, "nextAfter": next_after})


def _envelope(sequence, event_id, type, occurred_at, actor_id, source, trace_id, *, data):
    return {
        "id": event_id,
        "sequence": sequence,
        "type": type,
        "occurredAt": rfc3339(occurred_at),
        "actor": {"type": actor_type(actor_id), "id": actor_id},
        "source": source,
        "traceId": trace_id or None,
        "data": data,
    }
