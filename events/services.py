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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

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
_COPY_TYPES = {
    "CharField": "varchar",
    "BigIntegerField": "int8",
    "DateTimeField": "timestamptz",
    "TextField": "text",
    "ForeignKey": "varchar",
}


@dataclass(frozen=True)
class NewEvent:
    type: str
    data: dict = field(hash=False)
    contact_id: str = ""


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
    if not connection.in_atomic_block:
        raise RuntimeError("Events are recorded inside the transaction of their change.")
    origin = origin or current_origin()
    first = event_sequences_take(tenant_id=tenant.pk, count=len(events))
    now = timezone.now()
    rows = [
        Event(
            tenant_id=tenant.pk,
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
        for offset, (event, event_id) in enumerate(
            zip(events, new_ids("evt", len(events)), strict=True)
        )
    ]
    if connection.vendor == "postgresql" and len(rows) >= COPY_FROM:
        _copy(rows)
    else:
        Event.objects.bulk_create(rows)
    # Robust: a reader's failure (a broker down, say) must not fail a change already committed.
    transaction.on_commit(
        partial(events_committed.send, sender=Event, tenant_id=tenant.pk), robust=True
    )
    return rows


def _copy(events: list[Event]) -> None:
    """Binary COPY: an import records a batch's worth of events at once."""
    fields = Event._meta.concrete_fields
    data = Event._meta.get_field("data")
    statement = (
        f"COPY {Event._meta.db_table} ({', '.join(f.column for f in fields)}) "
        "FROM STDIN (FORMAT BINARY)"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own, for COPY
        with connection.wrap_database_errors, raw.copy(statement) as copy:
            copy.set_types([_COPY_TYPES[f.get_internal_type()] for f in fields])
            for event in events:
                copy.write_row(
                    [
                        data.get_prep_value(event.data) if f is data else getattr(event, f.attname)
                        for f in fields
                    ]
                )


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
