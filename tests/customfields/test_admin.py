"""Definitions in the admin: same rules and messages as the API, predefined read-only."""

import pytest
from django.contrib.auth.models import Permission

from customfields.models import CustomFieldDefinition
from tests.factories.contacts import ContactFactory
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tenancy import MembershipFactory

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/customfields/customfielddefinition/add/"


def _login(client, tenant, role):
    membership = MembershipFactory(tenant=tenant, role=role)
    membership.user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="customfields")
    )
    client.force_login(membership.user)
    return client


@pytest.fixture
def admin_client_a(client, tenant):
    return _login(client, tenant, "admin")


def admin_tenant_id(response):
    return response.wsgi_request.user.memberships.get().tenant_id


def _change_url(definition):
    return f"/admin/customfields/customfielddefinition/{definition.pk}/change/"


def test_add_uses_the_service(admin_client_a, tenant):
    response = admin_client_a.post(
        ADD_URL,
        {"tenant": tenant.pk, "entity_type": "property", "name": " Region ", "type": "text"},
    )
    assert response.status_code == 302
    created = CustomFieldDefinition.objects.get(tenant=tenant, entity_type="property")
    assert (created.name, created.public_id[:3], created.created_by[:4]) == (
        "Region",
        "cf_",
        "usr_",
    )


def test_duplicate_and_invalid_names_show_the_api_messages(admin_client_a, tenant):
    response = admin_client_a.post(
        ADD_URL, {"tenant": tenant.pk, "entity_type": "contact", "name": "EMAIL", "type": "text"}
    )
    assert "A contact field named &#x27;EMAIL&#x27; already exists." in response.content.decode()
    response = admin_client_a.post(
        ADD_URL, {"tenant": tenant.pk, "entity_type": "contact", "name": "x" * 65, "type": "text"}
    )
    assert "A name has at most 64 characters." in response.content.decode()
    assert CustomFieldDefinition.objects.filter(tenant=tenant).count() == 2


def test_retype_conflict_says_how_many_values_fail(admin_client_a, tenant):
    definition = CustomFieldDefinitionFactory(tenant=tenant, name="When", type="text")
    for value in ["later", "2026-01-01", "soon"]:
        ContactFactory(tenant=tenant, custom_fields={definition.public_id: value})
    response = admin_client_a.post(_change_url(definition), {"name": "When", "type": "date"})
    assert response.status_code == 200
    assert (
        "2 existing values of &#x27;When&#x27; are not valid as date." in response.content.decode()
    )
    definition.refresh_from_db()
    assert definition.type == "text"


def test_predefined_fields_are_read_only_and_cannot_be_deleted(admin_client_a, tenant):
    email = CustomFieldDefinition.objects.get(tenant=tenant, public_id="cf_email")
    page = admin_client_a.get(_change_url(email)).content.decode()
    assert 'name="name"' not in page
    assert "Delete" not in page.split("submit-row")[-1]
    delete = admin_client_a.get(f"/admin/customfields/customfielddefinition/{email.pk}/delete/")
    assert delete.status_code == 403


def test_delete_hides_the_definition(admin_client_a, tenant):
    definition = CustomFieldDefinitionFactory(tenant=tenant, name="Gone")
    response = admin_client_a.post(
        f"/admin/customfields/customfielddefinition/{definition.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    listing = admin_client_a.get("/admin/customfields/customfielddefinition/")
    assert definition not in listing.context["cl"].result_list
    definition.refresh_from_db()
    assert definition.deleted_at is not None


def test_bulk_delete_with_a_predefined_field_is_refused_in_red(admin_client_a, tenant):
    email = CustomFieldDefinition.objects.get(tenant=tenant, public_id="cf_email")
    plan = CustomFieldDefinitionFactory(tenant=tenant, name="Plan")
    selected = {"action": "delete_selected", "_selected_action": [email.pk, plan.pk]}
    response = admin_client_a.post(
        "/admin/customfields/customfielddefinition/", {**selected, "post": "yes"}, follow=True
    )
    assert [(m.level_tag, str(m)) for m in response.context["messages"]] == [
        (
            "error",
            "Nothing was deleted: Email is a predefined field, which cannot be deleted. "
            "Unselect it and try again.",
        )
    ]
    plan.refresh_from_db()
    assert plan.deleted_at is None
    response = admin_client_a.post(
        "/admin/customfields/customfielddefinition/",
        {"action": "delete_selected", "_selected_action": [plan.pk], "post": "yes"},
        follow=True,
    )
    plan.refresh_from_db()
    assert plan.deleted_at is not None


def test_only_the_users_tenants_are_listed(admin_client_a, other_tenant):
    CustomFieldDefinitionFactory(tenant=other_tenant, name="Foreign field")
    listing = admin_client_a.get("/admin/customfields/customfielddefinition/")
    assert {d.tenant_id for d in listing.context["cl"].result_list} == {admin_tenant_id(listing)}
    assert "Foreign field" not in listing.content.decode()
    foreign = CustomFieldDefinition.objects.get(tenant=other_tenant, public_id="cf_phone")
    assert admin_client_a.get(_change_url(foreign)).status_code == 302


def test_agents_cannot_manage_definitions(client, tenant):
    _login(client, tenant, "agent")
    assert client.get("/admin/customfields/customfielddefinition/").status_code in (302, 403)
    response = client.post(
        ADD_URL, {"tenant": tenant.pk, "entity_type": "contact", "name": "Sneaky", "type": "text"}
    )
    assert response.status_code in (200, 403)
    assert not CustomFieldDefinition.objects.filter(name="Sneaky").exists()
