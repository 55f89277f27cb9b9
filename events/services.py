"""Recording events: the one way into the log, always inside the change's transaction.

Order: a tenant's sequences come from an upsert of its EventCounter row, which
holds that row's lock until the transaction ends. A second transaction of the
tenant that records events waits there, and reads the counter only after the
first has committed (or rolled back, freeing its numbers). So a tenant's
sequences commit in ascending order with no gaps, and a reader that sees
sequence n already sees every sequence below it: the feed can never skip one.
Services record their events last, so the lock is held only for the insert and
the commit. docs/architecture.md says why this design was chosen.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Greatest
from django.utils import timezone

from flownally_admin.ids import new_ids
from flownally_admin.tenancy.models import Tenant

from .context import Origin, current_origin
from .models import Event, EventCounter
from .signals import events_committed

PURGE_BATCH = 5000
# From this many events a transaction writes them with COPY rather than INSERT.
COPY_FROM = 100
# COPY's text format: a backslash and the characters that end a field or a row, escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")
_COPY_STATEMENT = (
    f"COPY {Event._meta.db_table} (tenant_id, sequence, occurred_at, id, type, actor_id, "
    "api_key_id, source, trace_id, contact_id, data) FROM STDIN"
)


@dataclass(frozen=True)
class NewEvent:
    type: str
    data: dict = field(hash=False)
    contact_id: str = ""


@dataclass(frozen=True)
class PreparedEvents:
    """Events with everything but their sequences and time worked out: their ids, and
    each one's other columns as a line of COPY text.

    Preparing is most of the cost of recording many events, and needs no transaction:
    an import prepares a batch's events on its planning thread, while the batch before
    is being written, so that the batch's transaction only numbers and sends them
    (bench/README.md, "Events in an import's batch").
    """

    events: Sequence[NewEvent]
    origin: Origin
    ids: list[str]
    tails: list[str]  # id … data, tab-separated and escaped, for COPY

    def __len__(self) -> int:
        return len(self.events)

    def __add__(self, other: "PreparedEvents") -> "PreparedEvents":
        """Both, in this order, to be appended at once (one run of sequences)."""
        if other.origin != self.origin:
            raise ValueError("Events of one append share their origin.")
        events = [*self.events, *other.events]
        return PreparedEvents(events, self.origin, self.ids + other.ids, self.tails + other.tails)

    def models(self, tenant_id: str, first: int, now) -> list[Event]:
        origin = self.origin
        return [
            Event(
                tenant_id=tenant_id,
                sequence=first + offset,
                id=event_id,
                type=event.type,
                occurred_at=now,
                actor_id=origin.actor_id,
                api_key_id=origin.api_key_id,
                source=origin.source,
                trace_id=origin.trace_id or "",
                contact_id=event.contact_id,
                data=event.data,
            )
            for offset, (event, event_id) in enumerate(zip(self.events, self.ids, strict=True))
        ]


def event_record(
    *, tenant: Tenant, type: str, data: dict, contact_id: str = "", origin: Origin | None = None
) -> Event:
    return events_record(tenant=tenant, events=[NewEvent(type, data, contact_id)], origin=origin)[0]


def events_record(
    *, tenant: Tenant, events: Sequence[NewEvent], origin: Origin | None = None
) -> list[Event]:
    """Append `events` to the tenant's log, by `origin` or else the current one (a job's
    worker threads pass theirs: a context does not follow work into another thread)."""
    if not events:
        return []
    prepared = events_prepare(events, origin=origin or current_origin())
    first, now, rows = _append(tenant.pk, prepared)
    return rows if rows is not None else prepared.models(tenant.pk, first, now)


def events_prepare(events: Sequence[NewEvent], *, origin: Origin) -> PreparedEvents:
    """`events` made ready for `events_append`, outside any transaction, on any thread."""
    ids = new_ids("evt", len(events))
    common = "\t".join(
        _copy_text(value)
        for value in (origin.actor_id, origin.api_key_id, origin.source, origin.trace_id or "")
    )
    tails = [
        f"{event_id}\t{_copy_text(event.type)}\t{common}\t{_copy_text(event.contact_id)}\t"
        f"{_copy_text(orjson.dumps(event.data).decode())}\n"
        for event, event_id in zip(events, ids, strict=True)
    ]
    return PreparedEvents(events, origin, ids, tails)


def events_append(*, tenant: Tenant, prepared: PreparedEvents) -> None:
    """Append events made ready by `events_prepare` to the tenant's log, in the
    transaction of their change."""
    if len(prepared):
        _append(tenant.pk, prepared)


def _append(tenant_id: str, prepared: PreparedEvents):
    """(first sequence, time, the events as models or None when written by COPY)."""
    if not connection.in_atomic_block:
        raise RuntimeError("Events are recorded inside the transaction of their change.")
    first = event_sequences_take(tenant_id=tenant_id, count=len(prepared))
    now = timezone.now()
    rows = None
    if connection.vendor == "postgresql" and len(prepared) >= COPY_FROM:
        _copy(tenant_id, first, now, prepared.tails)
    else:
        rows = prepared.models(tenant_id, first, now)
        Event.objects.bulk_create(rows)
    # Robust: a reader's failure (a broker down, say) must not fail a change already committed.
    transaction.on_commit(
        partial(events_committed.send, sender=Event, tenant_id=tenant_id), robust=True
    )
    return first, now, rows


def _copy(tenant_id: str, first: int, now, tails: list[str]) -> None:
    """COPY in text format, the lines joined in one go: an import records a batch's worth
    of events at once, and building each row for the binary format cost the batch's
    transaction more than PostgreSQL's parsing of the text does."""
    head = f"{_copy_text(tenant_id)}\t"
    at = f"\t{now.isoformat()}\t"
    text = "".join(f"{head}{first + offset}{at}{tail}" for offset, tail in enumerate(tails))
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own, for COPY
        with connection.wrap_database_errors, raw.copy(_COPY_STATEMENT) as copy:
            copy.write(text.encode())


def _copy_text(value: str) -> str:
    """`value` as a field of COPY's text format. Most have nothing to escape, and looking
    is a sixth of the cost of translating (~0.3 against ~2 µs for an import event's data,
    which an import pays per contact)."""
    return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


def event_sequences_take(*, tenant_id: str, count: int) -> int:
    """The first of `count` consecutive sequences, now reserved for this transaction; the
    tenant's other event writers wait until it ends (see the module's docstring)."""
    table = connection.ops.quote_name(EventCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, last_sequence, purged_through) "  # noqa: S608
            "VALUES (%s, %s, 0) ON CONFLICT (tenant_id) DO UPDATE "
            f"SET last_sequence = {table}.last_sequence + excluded.last_sequence "
            "RETURNING last_sequence",
            [tenant_id, count],
        )
        (last,) = cursor.fetchone()
    return last - count + 1


def events_purge_expired() -> int:
    """Delete events older than EVENTS_RETENTION_DAYS, oldest first, in short transactions;
    returns how many went. Each tenant's purged range stays a prefix of its sequences, so
    `purged_through` tells a reader exactly what it can no longer get."""
    cutoff = timezone.now() - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    deleted = 0
    for tenant_id, purged in EventCounter.objects.values_list("tenant_id", "purged_through"):
        while True:
            oldest = Event.objects.filter(tenant_id=tenant_id, sequence__gt=purged).order_by(
                "sequence"
            )
            batch = list(oldest.values_list("sequence", "occurred_at")[:PURGE_BATCH])
            expired = [sequence for sequence, at in _prefix_before(batch, cutoff)]
            if not expired:
                break
            purged = expired[-1]
            with transaction.atomic():
                count, _ = Event.objects.filter(tenant_id=tenant_id, sequence__lte=purged).delete()
                EventCounter.objects.filter(tenant_id=tenant_id).update(
                    purged_through=Greatest("purged_through", purged)
                )
            deleted += count
            if len(expired) < len(batch) or len(batch) < PURGE_BATCH:
                break
    return deleted


def _prefix_before(batch, cutoff):
    for sequence, occurred_at in batch:
        if occurred_at >= cutoff:
            return
        yield sequence, occurred_at
