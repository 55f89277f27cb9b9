"""The tags admin: scoped to the staff user's tenants, writing through the tag services."""

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import ContactTag
from contacts.services import contact_create, contact_delete
from tags.models import Tag
from tags.services import tag_delete
from tests.factories.tags import TagFactory
from tests.factories.tenancy import MembershipFactory, ServiceAccountFactory, UserFactory

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


def _tag_contacts(tenant, *tags, count):
    return [
        contact_create(
            tenant=tenant, created_by="usr_x", name=f"Contact {n}", tag_ids=[t.pk for t in tags]
        )
        for n in range(count)
    ]


def test_changelist_shows_how_many_live_contacts_carry_each_tag(staff_client, tenant):
    gold, silver, _ = (TagFactory(tenant=tenant, name=n) for n in ["gold", "silver", "unused"])
    _tag_contacts(tenant, gold, count=2)
    both = _tag_contacts(tenant, gold, silver, count=2)
    contact_delete(tenant=tenant, contact_id=both[0].pk)

    response = staff_client.get("/admin/tags/tag/")

    counts = {tag.name: tag.contact_count for tag in response.context["cl"].result_list}
    assert counts == {"gold": 3, "silver": 1, "unused": 0}
    assert '<td class="field-contact_count">3</td>' in response.content.decode()
    by_count = staff_client.get("/admin/tags/tag/?o=2")  # the contacts column, ascending
    assert [tag.name for tag in by_count.context["cl"].result_list] == ["unused", "silver", "gold"]
    search = staff_client.get("/admin/tags/tag/?q=SIL")
    assert [tag.name for tag in search.context["cl"].result_list] == ["silver"]


def test_delete_says_how_many_contacts_lose_the_tag_then_deletes_it(staff_client, tenant):
    gold, other = TagFactory(tenant=tenant, name="gold"), TagFactory(tenant=tenant)
    _tag_contacts(tenant, gold, count=2)
    _tag_contacts(tenant, other, count=1)
    url = f"/admin/tags/tag/{quote(gold.pk)}/delete/"

    confirmation = staff_client.get(url)

    assert confirmation.status_code == 200
    assert "2 contacts will lose the tag “gold”." in confirmation.content.decode()
    assert ContactTag.objects.filter(tag=gold).count() == 2

    response = staff_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Tag.objects.filter(pk=gold.pk).exists()
    assert ContactTag.objects.filter(tag_id=gold.pk).count() == 0
    assert ContactTag.objects.filter(tag=other).count() == 1


def test_delete_confirmation_of_an_unused_tag(staff_client, tenant):
    lonely = TagFactory(tenant=tenant, name="lonely")
    page = staff_client.get(f"/admin/tags/tag/{quote(lonely.pk)}/delete/").content.decode()
    assert "0 contacts will lose the tag “lonely”." in page


def test_bulk_delete_says_how_many_contacts_lose_the_tags_then_deletes_them(
    staff_client, tenant, other_tenant, monkeypatch
):
    gold, silver, kept = (TagFactory(tenant=tenant, name=n) for n in ["gold", "silver", "kept"])
    theirs = TagFactory(tenant=other_tenant)
    _tag_contacts(tenant, gold, silver, count=2)  # counted once each
    _tag_contacts(tenant, silver, kept, count=1)
    _tag_contacts(tenant, kept, count=1)
    selected = {"action": "delete_selected", "_selected_action": [gold.pk, silver.pk, theirs.pk]}
    deleted_through_service = []
    monkeypatch.setattr(
        "tags.admin.tag_delete",
        lambda **kwargs: deleted_through_service.append(kwargs["tag_id"]) or tag_delete(**kwargs),
    )

    confirmation = staff_client.post("/admin/tags/tag/", selected)

    assert confirmation.status_code == 200
    assert "3 contacts will lose these tags." in confirmation.content.decode()
    assert theirs.name not in confirmation.content.decode()

    response = staff_client.post("/admin/tags/tag/", {**selected, "post": "yes"})

    assert response.status_code == 302
    assert sorted(deleted_through_service) == sorted([gold.pk, silver.pk])
    assert set(Tag.objects.values_list("pk", flat=True)) == {kept.pk, theirs.pk}
    assert ContactTag.objects.filter(tag_id__in=[gold.pk, silver.pk]).count() == 0
    assert ContactTag.objects.filter(tag=kept).count() == 2


def test_tag_autocomplete_does_not_count_contacts(staff_client, tenant):
    gold = TagFactory(tenant=tenant, name="gold")
    _tag_contacts(tenant, gold, count=1)
    url = "/admin/autocomplete/?app_label=contacts&model_name=contact&field_name=tags&term=go"

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url)

    assert response.json()["results"] == [{"id": gold.pk, "text": "gold"}]
    assert not [q for q in queries if "contacts_contacttag" in q["sql"]]


def test_a_malformed_id_in_an_admin_url_is_not_found(staff_client):
    response = staff_client.get("/admin/tags/tag/tag_%00/change/")
    assert response.status_code == 302  # the admin's "does not exist" redirect


def test_created_by_is_a_name_with_the_id_on_hover_in_one_query_per_kind(staff_client, tenant):
    account = ServiceAccountFactory(tenant=tenant, name="CRM sync")
    people = [UserFactory(first_name="Ann", last_name=f"Agent{n}") for n in range(3)]
    TagFactory(tenant=tenant, name="by-account", created_by=account.pk)
    TagFactory(tenant=tenant, name="by-person", created_by=people[0].pk)
    TagFactory(tenant=tenant, name="by-someone-gone", created_by="usr_01GONE")
    with CaptureQueriesContext(connection) as few:
        page = staff_client.get("/admin/tags/tag/").content.decode()
    assert f'<td class="field-created_by_name"><span title="{account.pk}">CRM sync</span>' in page
    assert f'<span title="{people[0].pk}">Ann Agent0</span>' in page
    assert '<span title="usr_01GONE">usr_01GONE</span>' in page

    for n, person in enumerate(people[1:]):
        TagFactory(tenant=tenant, name=f"more-{n}", created_by=person.pk)
        TagFactory(
            tenant=tenant, name=f"more-svc-{n}", created_by=ServiceAccountFactory(tenant=tenant).pk
        )
    with CaptureQueriesContext(connection) as more:
        staff_client.get("/admin/tags/tag/")
    assert len(more) == len(few)

    tag = Tag.objects.get(name="by-account")
    change = staff_client.get(f"/admin/tags/tag/{quote(tag.pk)}/change/").content.decode()
    assert f'<span title="{account.pk}">CRM sync</span>' in change
