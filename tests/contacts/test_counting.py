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


def test_many_deltas_are_folded_into_one_row(tenant, monkeypatch):
    monkeypatch.setattr("contacts.selectors.COUNT_COMPACT_THRESHOLD", 5)
    for i in range(12):
        contact_create(tenant=tenant, created_by="t", name=f"c{i}")
    assert contact_count(tenant=tenant, archived=False) == 12  # sums 12 rows, then folds them
    assert ContactCountDelta.objects.filter(tenant=tenant, archived=False).count() == 1
    assert contact_count(tenant=tenant, archived=False) == 12


def test_recount_command_rebuilds_counts_from_the_rows(tenant):
    Contact.objects.bulk_create(Contact(tenant=tenant, name=f"raw{i}") for i in range(3))
    assert contact_count(tenant=tenant, archived=False) == 0  # a bulk load bypassed the services
    out = StringIO()
    call_command("recount_contacts", "--tenant", tenant.slug, stdout=out)
    assert out.getvalue() == f"{tenant.slug}: 3 active, 0 archived\n"
    assert contact_count(tenant=tenant, archived=False) == 3
