import threading

import pytest
from django.db import connection, transaction

from contacts.models import Contact
from customfields.models import CustomFieldDefinition
from customfields.selectors import custom_field_definitions_cached
from customfields.services import (
    CustomFieldExists,
    custom_field_definition_create,
    custom_field_definition_delete,
    custom_field_definition_purge,
    custom_field_definition_update,
)
from customfields.tasks import custom_field_definition_purge_task
from flownally_admin.tenancy.models import Tenant
from flownally_admin.tenancy.services import tenant_get_or_create
from tests.conftest import wait_until
from tests.factories.contacts import ContactFactory
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tenancy import TenantFactory


@pytest.mark.django_db
def test_every_new_tenant_gets_the_predefined_fields():
    for tenant in [TenantFactory(), tenant_get_or_create(slug="later")]:
        assert sorted(
            CustomFieldDefinition.objects.filter(tenant=tenant).values_list(
                "public_id", "name", "type", "entity_type", "predefined", "created_by"
            )
        ) == [
            ("cf_email", "Email", "text", "contact", True, "system"),
            ("cf_phone", "Phone", "text", "contact", True, "system"),
        ]


@pytest.mark.django_db
def test_delete_hides_at_once_and_purges_values_from_every_contact(
    tenant, other_tenant, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("customfields.services.PURGE_BATCH_SIZE", 7)
    doomed = CustomFieldDefinitionFactory(tenant=tenant, name="Doomed")
    kept = CustomFieldDefinitionFactory(tenant=tenant, name="Kept")
    holders = [
        ContactFactory(
            tenant=tenant, custom_fields={doomed.public_id: f"v{i}", kept.public_id: "k"}
        )
        for i in range(30)
    ]
    # Another tenant's contact with the same key (impossible through services) stays untouched.
    foreign = ContactFactory(tenant=other_tenant, custom_fields={doomed.public_id: "x"})

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        custom_field_definition_delete(
            tenant=tenant, entity_type="contact", definition_id=doomed.public_id
        )
    doomed.refresh_from_db()
    assert doomed.deleted_at is not None  # invisible to readers from now on
    assert len(callbacks) == 2  # the event's announcement (events_committed), then the purge

    assert custom_field_definition_purge(definition_pk=doomed.pk) == 30
    for contact in holders:
        contact.refresh_from_db()
        assert contact.custom_fields == {kept.public_id: "k"}
    foreign.refresh_from_db()
    assert foreign.custom_fields == {doomed.public_id: "x"}
    assert not CustomFieldDefinition.objects.filter(pk=doomed.pk).exists()
    assert custom_field_definition_purge(definition_pk=doomed.pk) == 0  # a retry is harmless


@pytest.mark.django_db
def test_purge_never_touches_a_live_definition(tenant):
    live = CustomFieldDefinitionFactory(tenant=tenant)
    contact = ContactFactory(tenant=tenant, custom_fields={live.public_id: "v"})
    assert custom_field_definition_purge(definition_pk=live.pk) == 0
    contact.refresh_from_db()
    assert contact.custom_fields == {live.public_id: "v"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_of_one_name_yields_one_definition(tenant):
    attempts = 6
    barrier = threading.Barrier(attempts)
    outcomes = []

    def create():
        try:
            barrier.wait()
            custom_field_definition_create(
                tenant=tenant, entity_type="contact", name="Tier", type="text", created_by="svc_t"
            )
            outcomes.append(201)
        except CustomFieldExists:
            outcomes.append(409)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [201] + [409] * (attempts - 1)
    assert CustomFieldDefinition.objects.filter(tenant=tenant, name="Tier").count() == 1


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_delete_through_the_api_is_purged_by_a_real_worker(celery_worker, make_client):
    tenant = TenantFactory()
    client = make_client(tenant=tenant)
    definition = CustomFieldDefinitionFactory(tenant=tenant, name="Old")
    Contact.objects.bulk_create(
        Contact(
            tenant=tenant, name=f"c{i}", custom_fields={definition.public_id: "x"}, created_by="t"
        )
        for i in range(250)
    )
    assert client.delete(f"/v1/contacts/custom-fields/{definition.public_id}").status_code == 204
    wait_until(
        lambda: not CustomFieldDefinition.objects.filter(pk=definition.pk).exists(),
        timeout=30,
        what="the purge task",
    )
    assert not Contact.objects.filter(custom_fields__has_key=definition.public_id).exists()


def test_purge_task_calls_the_service(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "customfields.tasks.custom_field_definition_purge",
        lambda **kwargs: calls.append(kwargs) or 3,
    )
    assert custom_field_definition_purge_task.apply(args=[42]).get() == 3
    assert calls == [{"definition_pk": 42}]


def test_cached_definitions_follow_every_change_seen_by_another_process(tenant):
    def names(seen_by):
        cached = custom_field_definitions_cached(tenant=seen_by, entity_type="contact")
        return [d.name for d in cached]

    elsewhere = Tenant.objects.get(pk=tenant.pk)  # another process's copy of the tenant
    assert names(elsewhere) == ["Email", "Phone"]
    plan = custom_field_definition_create(
        tenant=tenant, entity_type="contact", name="Plan", type="text", created_by="t"
    )
    assert names(elsewhere) == ["Email", "Phone"]  # its request began before the change
    elsewhere = Tenant.objects.get(pk=tenant.pk)  # its next request
    assert names(elsewhere) == ["Email", "Phone", "Plan"]
    custom_field_definition_update(
        tenant=tenant, entity_type="contact", definition_id=plan.public_id, name="Tier"
    )
    assert names(Tenant.objects.get(pk=tenant.pk)) == ["Email", "Phone", "Tier"]
    custom_field_definition_delete(
        tenant=tenant, entity_type="contact", definition_id=plan.public_id
    )
    assert names(Tenant.objects.get(pk=tenant.pk)) == ["Email", "Phone"]
    assert names(tenant) == ["Email", "Phone"]  # the changing request's own copy is current


def test_a_rolled_back_change_never_comes_back_from_the_cache(tenant):
    def names():
        fresh = Tenant.objects.get(pk=tenant.pk)
        return [
            d.name for d in custom_field_definitions_cached(tenant=fresh, entity_type="contact")
        ]

    with pytest.raises(RuntimeError), transaction.atomic():
        custom_field_definition_create(
            tenant=tenant, entity_type="contact", name="Doomed", type="text", created_by="t"
        )
        assert names() == ["Email", "Phone", "Doomed"]  # cached under the new version
        raise RuntimeError("the request fails after the change")
    assert names() == ["Email", "Phone"]
    custom_field_definition_create(
        tenant=Tenant.objects.get(pk=tenant.pk),
        entity_type="contact",
        name="Plan",
        type="text",
        created_by="t",
    )
    assert names() == ["Email", "Phone", "Plan"]
