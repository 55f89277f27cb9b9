"""Merge rules below the API: restoring a merged contact, racing merges, and the indexes
the duplicates lookup relies on."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.merging import contact_duplicates, contact_merge
from contacts.models import Contact, Identity
from contacts.services import (
    IdentityConflict,
    contact_create,
    contact_delete,
    contact_restore,
    contact_update,
)
from events.models import Event
from tests.factories.tenancy import TenantFactory


def _contact(tenant, name, number, **values):
    return contact_create(
        tenant=tenant,
        created_by="usr_t",
        name=name,
        identities=[{"channel": "whatsapp", "externalId": number}],
        custom_fields=values,
    )


@pytest.mark.django_db
def test_a_merged_contact_cannot_be_restored_while_its_target_holds_its_identities(tenant):
    target = _contact(tenant, "Target", "+14155550100")
    source = _contact(tenant, "Source", "+14155550101")
    contact_merge(tenant=tenant, target_id=target.pk, source_ids=[source.pk])
    with pytest.raises(IdentityConflict) as refused:
        contact_restore(tenant=tenant, contact_id=source.pk)
    assert refused.value.holder_id == target.pk
    assert refused.value.detail == (
        f"It was merged into Target ({target.pk}), which still holds its whatsapp identity "
        "'+14155550101'. Remove the identity from Target (or delete it) before restoring this "
        "one."
    )
    assert Contact.objects.get(pk=source.pk).merged_into_id == target.pk


@pytest.mark.django_db
def test_a_merged_contact_comes_back_with_its_identities_once_they_are_free(tenant):
    target = _contact(tenant, "Target", "+14155550100")
    source = _contact(tenant, "Source", "+14155550101", cf_email="s@example.com")
    contact_merge(tenant=tenant, target_id=target.pk, source_ids=[source.pk])
    contact_update(
        tenant=tenant,
        contact_id=target.pk,
        identities=[{"channel": "whatsapp", "externalId": "+14155550100"}],
    )
    restored = contact_restore(tenant=tenant, contact_id=source.pk)
    assert (restored.name, restored.custom_fields) == ("Source", {"cf_email": "s@example.com"})
    assert restored.merged_into_id is None
    assert [(i.external_id, i.active) for i in Identity.objects.filter(contact=source)] == [
        ("+14155550101", True)
    ]
    # The target keeps what the merge gave it: a restore undoes the deletion, not the merge.
    assert Contact.objects.get(pk=target.pk).custom_fields == {"cf_email": "s@example.com"}


@pytest.mark.django_db
def test_a_merged_contact_comes_back_when_its_target_is_deleted(tenant):
    target = _contact(tenant, "Target", "+14155550100")
    source = _contact(tenant, "Source", "+14155550101")
    contact_merge(tenant=tenant, target_id=target.pk, source_ids=[source.pk])
    contact_delete(tenant=tenant, contact_id=target.pk)
    contact_restore(tenant=tenant, contact_id=source.pk)
    with pytest.raises(IdentityConflict):  # now the target cannot come back
        contact_restore(tenant=tenant, contact_id=target.pk)


# --- races (PostgreSQL: real row locks, one connection per thread) ------------------

SCENARIOS = {
    # Each pair deletes a contact the other needs: exactly one can win.
    "the same merge twice": (("T", ["A", "B"]), ("T", ["A", "B"])),
    "crossed targets": (("T", ["A"]), ("A", ["T"])),
    "overlapping sources": (("T", ["A", "B"]), ("A", ["B", "C"])),
}


def _race(client, contacts: dict[str, str], merges) -> list[tuple[int, str | None]]:
    """Run the merges at once, each on its own connection; their (status, code)s."""
    barrier = threading.Barrier(len(merges))
    outcomes = []

    def merge(target, sources):
        try:
            barrier.wait()
            response = client.post(
                f"/v1/contacts/{contacts[target]}/merge",
                {"sourceIds": [contacts[s] for s in sources]},
                format="json",
            )
            outcomes.append((response.status_code, response.json().get("code")))
        finally:
            connection.close()

    threads = [threading.Thread(target=merge, args=args) for args in merges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_racing_merges_one_wins_and_no_identity_is_lost(make_client, scenario):
    for _ in range(4):  # a few rounds, for different interleavings
        tenant = TenantFactory()
        contacts = {
            name: _contact(tenant, name, f"+1415555010{i}").pk
            for i, name in enumerate(("T", "A", "B", "C"))
        }
        won, lost = _race(make_client(tenant=tenant), contacts, SCENARIOS[scenario])
        assert won == (200, None), lost
        assert lost in {(404, "contact_not_found"), (409, "merge_conflict")}
        live = set(
            Contact.objects.filter(tenant=tenant, deleted_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        holders = Identity.objects.filter(tenant=tenant, active=True).values_list(
            "external_id", "contact_id"
        )
        assert sorted(number for number, _ in holders) == [f"+1415555010{i}" for i in range(4)]
        assert {holder for _, holder in holders} <= live
        assert Event.objects.filter(tenant=tenant, type="contact.merged").count() == 1


# --- indexes ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_duplicates_are_found_through_the_matching_indexes(tenant):
    """Each lookup is an index probe by value, never a walk of the tenant: checked on a
    tenant big enough, and analysed, for PostgreSQL to plan as it would in production."""
    contacts = Contact.objects.bulk_create(
        Contact(
            tenant=tenant,
            created_by="usr_t",
            custom_fields={"cf_email": f"u{n}@example.com", "cf_phone": f"+1415{n:07d}"},
        )
        for n in range(3000)
    )
    Identity.objects.bulk_create(
        Identity(tenant=tenant, contact=c, channel=channel, external_id=address)
        for n, c in enumerate(contacts)
        for channel, address in (("email", f"w{n}@example.com"), ("sms", f"+1416{n:07d}"))
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact, contacts_identity")
    with CaptureQueriesContext(connection) as queries:
        found = contact_duplicates(tenant=tenant, contact_id=contacts[7].pk)
    assert found == []
    lookups = [
        q["sql"] for q in queries if "->>" in q["sql"] or 'FROM "contacts_identity"' in q["sql"]
    ]
    plans = []
    with connection.cursor() as cursor:
        for sql in lookups:
            cursor.execute(f"EXPLAIN {sql}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    # One statement: a probe per value, then one per address.
    probes = [
        {
            "contact_by_email": "cf_email",
            "contact_by_phone": "cf_phone",
            "uniq_live_identity": "external_id",
        },
    ]
    assert len(plans) == len(probes)
    for plan, indexes in zip(plans, probes, strict=True):
        lines = plan.splitlines()
        assert "Seq Scan" not in plan, plan
        for index, column in indexes.items():
            at = next(i for i, line in enumerate(lines) if index in line and "Scan" in line)
            assert "Index Cond" in lines[at + 1] and column in lines[at + 1], plan
