"""Finished deliveries leave after WEBHOOK_DELIVERIES_RETENTION_DAYS; open ones stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flownally_admin.ids import id_floor
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_deliveries_purge_expired

pytestmark = pytest.mark.django_db


def test_finished_deliveries_older_than_the_retention_are_deleted(hooked, settings):
    subscribe, change = hooked
    subscribe(eventTypes=["tag.created"])
    for name in ("a", "b", "c", "d"):
        change("post", "/v1/tags", {"name": name})
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.status for d in deliveries] == ["succeeded"] * 4
    old = timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERIES_RETENTION_DAYS + 1)
    # Made long ago: ids sort by creation, which is what the purge reads.
    aged = {}
    for n, (delivery, status) in enumerate(
        zip(deliveries[:3], ["succeeded", "failed", "retrying"], strict=True)
    ):
        aged[delivery.pk] = id_floor("dlv", old - timedelta(seconds=3 - n))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(id=aged[delivery.pk], status=status)
    assert webhook_deliveries_purge_expired() == 2
    kept = WebhookDelivery.objects.order_by("pk")
    assert [(d.pk, d.status) for d in kept] == [
        (aged[deliveries[2].pk], "retrying"),  # still to be attempted: never purged
        (deliveries[3].pk, "succeeded"),
    ]
    assert webhook_deliveries_purge_expired() == 0


def test_id_floor_sorts_below_every_later_id_and_above_every_earlier_one():
    from flownally_admin.ids import new_id

    before = new_id("dlv")
    floor = id_floor("dlv", timezone.now() + timedelta(milliseconds=5))
    assert before < floor
    assert id_floor("dlv", timezone.now() - timedelta(days=1)) < new_id("dlv")
