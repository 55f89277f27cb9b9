"""Reads of the event log: the sync feed and a contact's history."""

from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

from flownally_admin.errors import ApplicationError
from flownally_admin.tenancy.models import Tenant

from .models import Event, EventCounter
from .representation import FEED_COLUMNS


class EventsExpired(ApplicationError):
    code = "events_expired"
    default_detail = (
        "Events after this sequence have been purged. Re-read the contacts, then follow the "
        "feed from its newest sequence."
    )


def event_feed(*, tenant: Tenant, events: QuerySet[Event], after: int, limit: int) -> list[tuple]:
    """The first `limit` of `events` (the tenant's after `after`, filtered: EventFilterSet)
    in sequence order, as `(*FEED_COLUMNS, data as JSON text)` rows for `event_feed_json`.
    Raises EventsExpired when retention has purged part of what follows `after`."""
    rows = events.annotate(data_text=Cast("data", TextField())).order_by("sequence")
    page = list(rows.values_list(*FEED_COLUMNS, "data_text")[:limit])
    # Checked after the read: a purge that ran meanwhile is then seen too.
    if after < event_purged_through(tenant=tenant):
        raise EventsExpired()
    return page


def event_purged_through(*, tenant: Tenant) -> int:
    purged = EventCounter.objects.filter(tenant=tenant).values_list("purged_through", flat=True)
    return purged.first() or 0


def event_list(*, tenant: Tenant) -> QuerySet[Event]:
    return Event.objects.filter(tenant=tenant)


def contact_event_list(*, tenant: Tenant, contact_id: str) -> QuerySet[Event]:
    """A contact's events (newest first is the caller's ordering)."""
    return Event.objects.filter(tenant=tenant, contact_id=contact_id)
