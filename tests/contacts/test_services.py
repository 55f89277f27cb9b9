"""Domain rules that the API tests do not reach, and races settled by the database."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from contacts.models import Contact, Identity
from contacts.services import (
    IdentityConflict,
    contact_create,
    contact_delete,
    contact_restore,
)
from flownally_admin.api.models import IdempotencyRecord
from flownally_admin.errors import ValidationFailed
from flownally_admin.tenancy.models import Tenant
from tests.factories.tenancy import TenantFactory

WHATSAPP = {"channel": "whatsapp", "externalId": "+14155550123"}


@pytest.mark.django_db
def test_restore_brings_back_a_deleted_contact_and_its_identities(tenant):
    contact = contact_create(tenant=tenant, created_by="usr_t", identities=[WHATSAPP])
    contact_delete(tenant=tenant, contact_id=contact.pk)
    restored = contact_restore(tenant=tenant, contact_id=contact.pk)
    assert restored.deleted_at is None
    assert list(Identity.objects.filter(contact=contact).values_list("active", flat=True)) == [True]


@pytest.mark.django_db
def test_restore_is_refused_when_an_identity_was_claimed_meanwhile(tenant):
    first = contact_create(tenant=tenant, created_by="usr_t", identities=[WHATSAPP])
    contact_delete(tenant=tenant, contact_id=first.pk)
    second = contact_create(tenant=tenant, created_by="usr_t", identities=[WHATSAPP])
    with pytest.raises(IdentityConflict) as excinfo:
        contact_restore(tenant=tenant, contact_id=first.pk)
    assert excinfo.value.holder_id == second.pk
    assert Contact.objects.get(pk=first.pk).deleted_at is not None


def _race(attempts, work):
    barrier = threading.Barrier(attempts)
    outcomes = []

    def run():
        try:
            barrier.wait()
            outcomes.append(work())
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_identity_create_one_contact():
    tenant = TenantFactory()
    outcomes = _race(
        6, lambda: contact_create(tenant=tenant, created_by="svc_t", identities=[WHATSAPP]).pk
    )
    assert sorted(o for o in outcomes if not o.startswith("ctc_")) == ["IdentityConflict"] * 5
    assert Identity.objects.filter(tenant=tenant, active=True).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_idempotency_key_create_one_contact(make_client):
    tenant = TenantFactory()
    client = make_client(tenant=tenant)

    def post():
        response = client.post(
            "/v1/contacts", {"name": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
        )
        return (response.status_code, response.json()["id"])

    outcomes = _race(5, post)
    assert {status for status, _ in outcomes} == {201}
    assert len({contact_id for _, contact_id in outcomes}) == 1
    assert Contact.objects.filter(tenant=tenant).count() == 1
    assert IdempotencyRecord.objects.filter(tenant=tenant).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_tenant_deleted_while_a_contact_is_created_leaves_no_contact_behind():
    """Contact.tenant has no database constraint; the count delta written with the contact
    has one, checked at COMMIT: the creation fails instead of leaving a contact behind."""
    tenant = TenantFactory()
    created, deleted = threading.Event(), threading.Event()
    outcome = []

    def create_and_wait():
        try:
            with transaction.atomic():
                contact_create(tenant=tenant, created_by="svc_t", name="Ada")
                created.set()
                assert deleted.wait(10)
            outcome.append("committed")
        except IntegrityError:
            outcome.append("refused")
        finally:
            connection.close()

    creator = threading.Thread(target=create_and_wait)
    creator.start()
    assert created.wait(10)
    Tenant.objects.filter(pk=tenant.pk).delete()
    deleted.set()
    creator.join()
    assert outcome == ["refused"]
    assert not Contact.objects.filter(tenant_id=tenant.pk).exists()


@pytest.mark.django_db
def test_more_than_fifty_identities_are_refused_by_the_service(tenant):
    identities = [{"channel": "livechat", "externalId": f"v-{i}"} for i in range(51)]
    with pytest.raises(ValidationFailed) as raised:
        contact_create(tenant=tenant, created_by="t", name="x", identities=identities)
    assert [(v.field, v.code) for v in raised.value.violations] == [("identities", "out_of_range")]
    assert not Contact.objects.exists()
