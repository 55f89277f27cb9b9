"""The tags admin: scoped to the staff user's tenants, writing through the tag services."""

import pytest
from django.contrib.auth.models import Permission

from tags.models import Tag
from tests.factories.tags import TagFactory
from tests.factories.tenancy import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, tenant):
    membership = MembershipFactory(tenant=tenant)
    membership.user.user_permissions.set(Permission.objects.filter(content_type__app_label="tags"))
    client.force_login(membership.user)
    return client


def test_changelist_shows_only_the_users_tenants(staff_client, tenant, other_tenant):
    TagFactory(tenant=tenant, name="ours")
    TagFactory(tenant=other_tenant, name="theirs")
    response = staff_client.get("/admin/tags/tag/")
    assert response.status_code == 200
    assert b"ours" in response.content
    assert b"theirs" not in response.content


def test_tenant_filter_offers_only_the_users_tenants(staff_client, tenant, other_tenant):
    page = staff_client.get("/admin/tags/tag/").content.decode()
    assert f"?tenant={tenant.pk}" in page
    assert other_tenant.pk not in page
    assert str(other_tenant) not in page


def test_another_tenants_tag_cannot_be_opened(staff_client, other_tenant):
    theirs = TagFactory(tenant=other_tenant)
    response = staff_client.get(f"/admin/tags/tag/{theirs.pk}/change/")
    assert response.status_code == 302  # the admin's "does not exist" redirect
    assert Tag.objects.filter(pk=theirs.pk).exists()


def test_add_goes_through_the_service_rules(staff_client, tenant):
    response = staff_client.post("/admin/tags/tag/add/", {"tenant": tenant.pk, "name": "  Gold "})
    assert response.status_code == 302
    tag = Tag.objects.get()
    assert tag.name == "Gold"
    assert tag.created_by.startswith("usr_")


def test_add_shows_the_same_errors_as_the_api(staff_client, tenant):
    TagFactory(tenant=tenant, name="Gold")
    too_long = staff_client.post("/admin/tags/tag/add/", {"tenant": tenant.pk, "name": "x" * 65})
    assert "A tag name has at most 64 characters." in too_long.content.decode()
    duplicate = staff_client.post("/admin/tags/tag/add/", {"tenant": tenant.pk, "name": "gold"})
    assert duplicate.status_code == 200
    assert "already exists" in duplicate.content.decode()
    assert Tag.objects.count() == 1


def test_cannot_add_a_tag_to_another_tenant(staff_client, other_tenant):
    response = staff_client.post("/admin/tags/tag/add/", {"tenant": other_tenant.pk, "name": "x"})
    assert response.status_code == 200
    assert Tag.objects.count() == 0
