"""Contact counts are kept as deltas by the services; they must always equal the rows."""

from io import StringIO

import pytest
from django.core.management import call_command

from contacts.models import Contact, ContactCountDelta
from contacts.selectors import contact_count
from contacts.services import (
    contact_archive,
    contact_create,
    contact_delete,
    contact_restore,
    contact_unarchive,
)
from contacts.tasks import contact_counts_compact_task

pytestmark = pytest.mark.django_db


def _truth(tenant, archived):
    return Contact.objects.filter(tenant=tenant, archived=archived, deleted_at__isnull=True).count()


def test_counts_follow_every_lifecycle_change(tenant, other_tenant):
    ids = [contact_create(tenant=tenant, created_by="t", name=f"c{i}").pk for i in range(6)]
    contact_create(tenant=other_tenant, created_by="t", name="elsewhere")
    contact_archive(tenant=tenant, contact_id=ids[0])
    contact_archive(tenant=tenant, contact_id=ids[1])
    contact_unarchive(tenant=tenant, contact_id=ids[1])
    contact_delete(tenant=tenant, contact_id=ids[0])  # an archived one
    contact_delete(tenant=tenant, contact_id=ids[2])
    contact_restore(tenant=tenant, contact_id=ids[2])
    contact_delete(tenant=tenant, contact_id=ids[3])
    for archived, expected in [(False, 4), (True, 0)]:
        assert (
            contact_count(tenant=tenant, archived=archived) == expected == _truth(tenant, archived)
        )


def test_reading_a_count_writes_nothing(tenant, django_assert_num_queries):
    for i in range(3):
        contact_create(tenant=tenant, created_by="t", name=f"c{i}")
    with django_assert_num_queries(1):
        assert contact_count(tenant=tenant, archived=False) == 3
    assert ContactCountDelta.objects.filter(tenant=tenant, archived=False).count() == 3


def test_the_periodic_task_folds_crowded_buckets_only(tenant, other_tenant, monkeypatch):
    monkeypatch.setattr("contacts.services.COUNT_COMPACT_THRESHOLD", 5)
    for i in range(12):
        contact_create(tenant=tenant, created_by="t", name=f"c{i}")
    for i in range(3):
        contact_create(tenant=other_tenant, created_by="t", name=f"o{i}")

    assert contact_counts_compact_task.delay().get() == 1  # only tenant's active bucket

    assert ContactCountDelta.objects.filter(tenant=tenant, archived=False).count() == 1
    assert ContactCountDelta.objects.filter(tenant=other_tenant).count() == 3
    assert contact_count(tenant=tenant, archived=False) == 12
    assert contact_count(tenant=other_tenant, archived=False) == 3


def test_compaction_is_on_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "contacts.tasks.contact_counts_compact_task" in tasks


def test_recount_command_rebuilds_counts_from_the_rows(tenant):
    Contact.objects.bulk_create(Contact(tenant=tenant, name=f"raw{i}") for i in range(3))
    assert contact_count(tenant=tenant, archived=False) == 0  # a bulk load bypassed the services
    out = StringIO()
    call_command("recount_contacts", "--tenant", tenant.slug, stdout=out)
    assert out.getvalue() == f"{tenant.slug}: 3 active, 0 archived\n"
    assert contact_count(tenant=tenant, archived=False) == 3
