import orjson
from django.db import models

from flownally_admin.tenancy.models import Tenant

from .types import EventType, Source


class JSONTextField(models.TextField):
    """A JSON document kept as the text it was written as, not as PostgreSQL's jsonb.

    Nothing queries inside an event's data, and the feed sends it on as it is: as jsonb,
    writing parsed every document and reading printed it again, the largest cost of both.
    """

    def get_prep_value(self, value):
        return None if value is None else orjson.dumps(value).decode()

    def from_db_value(self, value, expression, connection):
        return None if value is None else orjson.loads(value)

    def to_python(self, value):
        return orjson.loads(value) if isinstance(value, str) else value


class Event(models.Model):
    """One change, as the sync feed, a contact's history and webhooks all read it.

    Keyed by (tenant, sequence): a tenant's sequences are dense and handed out in
    commit order (see `events.services`), so the feed is one range scan of the
    primary key. `contact_id` is set on contact events, for history and the
    feed's `contactId` filter. The public `id` is not indexed: nothing looks an
    event up by it.
    """

    pk = models.CompositePrimaryKey("tenant_id", "sequence")
    # No database constraint: EventCounter's, written in the same transaction, ties the
    # events of a transaction to a live tenant (as contacts do; bench/README.md).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    sequence = models.BigIntegerField()
    id = models.CharField(max_length=30, editable=False)
    type = models.CharField(max_length=32, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    actor_id = models.CharField(max_length=40)
    api_key_id = models.CharField(max_length=40, blank=True, default="")
    source = models.CharField(max_length=8, choices=Source.choices)
    trace_id = models.CharField(max_length=55, blank=True, default="")
    contact_id = models.CharField(max_length=30, blank=True, default="")
    data = JSONTextField()

    class Meta:
        indexes = [
            models.Index(
                fields=["contact_id", "sequence"],
                condition=~models.Q(contact_id=""),
                name="event_by_contact",
            ),
        ]

    def __str__(self):
        return f"#{self.sequence} {self.type}"


class EventCounter(models.Model):
    """A tenant's last handed-out sequence, and how far retention has purged.

    Its row is the lock that orders a tenant's event-writing transactions (see
    `events.services.events_record`).
    """

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_sequence = models.BigIntegerField(default=0)
    purged_through = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.tenant_id}: {self.last_sequence}"
