"""Tags and custom-field definitions record their events, through the API and the admin."""

import pytest
from django.contrib.auth.models import Permission

from events.models import Event
from tests.factories.tenancy import MembershipFactory

pytestmark = pytest.mark.django_db


def _events(tenant):
    return [(e.type, e.data) for e in Event.objects.filter(tenant=tenant).order_by("sequence")]


def test_tag_created_and_deleted(client_a, tenant):
    tag = client_a.post("/v1/tags", {"name": "VIP"}, format="json").json()
    assert client_a.post("/v1/tags", {"name": "vip"}, format="json").status_code == 409
    assert client_a.delete(f"/v1/tags/{tag['id']}").status_code == 204
    assert _events(tenant) == [("tag.created", {"tag": tag}), ("tag.deleted", {"tagId": tag["id"]})]


def test_custom_field_created_updated_and_deleted(client_a, tenant):
    path = "/v1/contacts/custom-fields"
    field = client_a.post(path, {"name": "Plan", "type": "text"}, format="json").json()
    renamed = client_a.patch(f"{path}/{field['id']}", {"name": "Tier"}, format="json").json()
    # The same name again changes nothing, and records nothing.
    assert (
        client_a.patch(f"{path}/{field['id']}", {"name": "Tier"}, format="json").status_code == 200
    )
    assert client_a.delete(f"{path}/{field['id']}").status_code == 204
    assert _events(tenant) == [
        ("custom_field.created", {"customField": field}),
        (
            "custom_field.updated",
            {"customField": renamed, "changes": {"name": {"from": "Plan", "to": "Tier"}}},
        ),
        ("custom_field.deleted", {"customFieldId": field["id"]}),
    ]


def test_the_admin_records_its_user_and_source(client, tenant):
    membership = MembershipFactory(tenant=tenant)
    membership.user.user_permissions.set(Permission.objects.filter(content_type__app_label="tags"))
    client.force_login(membership.user)
    response = client.post("/admin/tags/tag/add/", {"tenant": tenant.pk, "name": "Gold"})
    assert response.status_code == 302
    event = Event.objects.get(tenant=tenant)
    assert (event.type, event.actor_id, event.source) == (
        "tag.created",
        membership.user.pk,
        "admin",
    )
    assert event.trace_id.startswith("00-")
