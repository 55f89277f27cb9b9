"""The event log: recorded in the change's transaction, in dense per-tenant sequence."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from events.context import Origin, event_origin
from events.models import Event, EventCounter
from events.selectors import EventsExpired, event_feed, event_list
from events.services import (
    COPY_FROM,
    NewEvent,
    event_record,
    events_purge_expired,
    events_record,
)

pytestmark = pytest.mark.django_db


def _record(tenant, n=1, type="tag.created"):
    with transaction.atomic():
        return events_record(tenant=tenant, events=[NewEvent(type, {"n": i}) for i in range(n)])


def test_sequences_are_dense_per_tenant(tenant, other_tenant):
    _record(tenant, 3)
    _record(other_tenant, 2)
    _record(tenant, 1)
    assert list(
        Event.objects.filter(tenant=tenant).order_by("sequence").values_list("sequence", flat=True)
    ) == [1, 2, 3, 4]
    others = Event.objects.filter(tenant=other_tenant).order_by("sequence")
    assert list(others.values_list("sequence", flat=True)) == [
        1,
        2,
    ]


def test_a_rolled_back_change_leaves_no_event_and_no_gap(tenant):
    _record(tenant, 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        _record(tenant, 5)
        raise RuntimeError("the change failed")
    _record(tenant, 1)
    assert sorted(Event.objects.filter(tenant=tenant).values_list("sequence", flat=True)) == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_events_are_only_recorded_inside_a_transaction(tenant):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_record(tenant=tenant, type="tag.created", data={})


def test_the_origin_is_the_doors(tenant):
    with event_origin(actor_id="usr_01TESTTESTTESTTESTTESTTEST", source="admin", trace_id="00-a"):
        (event,) = _record(tenant)
    assert (event.actor_id, event.source, event.trace_id) == (
        "usr_01TESTTESTTESTTESTTESTTEST",
        "admin",
        "00-a",
    )
    (event,) = _record(tenant)
    assert (event.actor_id, event.source, event.trace_id) == ("system", "system", "")
    assert event.id.startswith("evt_")


def test_retention_purges_a_prefix_and_the_feed_says_expired(tenant, settings, monkeypatch):
    settings.EVENTS_RETENTION_DAYS = 30
    _record(tenant, 3)
    Event.objects.filter(tenant=tenant, sequence__lte=2).update(
        occurred_at=timezone.now() - timedelta(days=31)
    )
    monkeypatch.setattr("events.services.PURGE_BATCH", 1)
    assert events_purge_expired() == 2
    assert EventCounter.objects.get(tenant=tenant).purged_through == 2
    with pytest.raises(EventsExpired):
        event_feed(tenant=tenant, events=event_list(tenant=tenant), after=1, limit=10)
    later = event_list(tenant=tenant).filter(sequence__gt=2)
    assert [row[0] for row in event_feed(tenant=tenant, events=later, after=2, limit=10)] == [3]
    assert events_purge_expired() == 0


def test_many_events_are_written_in_one_go_with_their_origin(tenant):
    origin = Origin("usr_01TESTTESTTESTTESTTESTTEST", "import")
    with transaction.atomic():
        events_record(
            tenant=tenant,
            events=[
                NewEvent("contact.created", {"contactId": f"ctc_{i}"}, f"ctc_{i}")
                for i in range(250)
            ],
            origin=origin,
        )
    stored = list(Event.objects.filter(tenant=tenant).order_by("sequence"))
    assert [e.sequence for e in stored] == list(range(1, 251))
    assert stored[7].data == {"contactId": "ctc_7"} and stored[7].contact_id == "ctc_7"
    assert {(e.actor_id, e.source) for e in stored} == {(origin.actor_id, "import")}


def test_awkward_characters_survive_the_bulk_write(tenant):
    # From COPY_FROM events on, PostgreSQL gets them as COPY text, in which a tab, a line
    # break and a backslash mean something: each is escaped where it occurs, and only there.
    awkward = {"note": 'a\tb\nc\rd\\e "f" é', "path": "C:\\new\\table"}
    events = [NewEvent("contact.updated", {"n": i}, f"ctc_{i}") for i in range(COPY_FROM)]
    events += [NewEvent("contact.updated", awkward, "ctc_a\tb\\c")]
    with transaction.atomic():
        events_record(tenant=tenant, events=events, origin=Origin("usr_a\nb", "api"))
    stored = list(Event.objects.filter(tenant=tenant).order_by("sequence"))
    assert [e.data for e in stored] == [{"n": i} for i in range(COPY_FROM)] + [awkward]
    assert (stored[-1].contact_id, stored[-1].actor_id) == ("ctc_a\tb\\c", "usr_a\nb")
