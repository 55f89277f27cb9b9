"""The contact's history page in the admin: the event timeline, in words."""

import pytest

from contacts.services import contact_create, contact_delete, contact_update
from events.context import event_origin
from tests.factories.tags import TagFactory
from tests.factories.tenancy import MembershipFactory

pytestmark = pytest.mark.django_db


def _history(client, contact):
    return client.get(f"/admin/contacts/contact/{contact.pk}/history/")


@pytest.fixture
def agent(client, tenant):
    membership = MembershipFactory(tenant=tenant, role="agent")
    membership.user.first_name, membership.user.last_name = "Sam", "Support"
    membership.user.save()
    client.force_login(membership.user)
    return membership.user


def test_the_timeline_says_who_changed_what_newest_first(client, agent, tenant, make_key):
    key, _ = make_key(tenant=tenant)
    vip = TagFactory(tenant=tenant, name="VIP")
    with event_origin(actor_id=key.service_account_id, source="api", api_key_id=key.pk):
        contact = contact_create(
            tenant=tenant,
            created_by=key.service_account_id,
            name="Ada",
            custom_fields={"cf_phone": "+1 415 555 0123"},
        )
    with event_origin(actor_id=agent.pk, source="admin"):
        contact_update(
            tenant=tenant,
            contact_id=contact.pk,
            name="Ada Lovelace",
            tag_ids=[vip.pk],
            identities=[{"channel": "whatsapp", "externalId": "+14155550124"}],
            custom_fields={"cf_phone": "+1 415 555 0199"},
        )

    response = _history(client, contact)
    assert response.status_code == 200
    entries = response.context["entries"]
    assert [(e.headline, e.who, e.source) for e in entries] == [
        ("Changed", "Sam Support", "Admin"),
        ("Created", f"{key.service_account.name} (key {key.token_prefix}…)", "Api"),
    ]
    assert entries[0].changes == [
        "Name: Ada → Ada Lovelace",
        "WhatsApp +14155550124 added",
        "Tag VIP added",
        "Phone: +14155550123 → +14155550199",
    ]
    assert "Tag VIP added" in response.content.decode()


def test_deleted_contacts_history_is_for_staff_who_may_restore(client, agent, tenant):
    contact = contact_create(tenant=tenant, created_by="usr_t", name="Gone")
    contact_delete(tenant=tenant, contact_id=contact.pk)
    response = _history(client, contact)
    assert response.status_code == 200
    assert [e.headline for e in response.context["entries"]] == ["Deleted", "Created"]
    assert "was deleted" in response.content.decode()


def test_another_tenants_contact_history_is_404(client, agent, other_tenant):
    theirs = contact_create(tenant=other_tenant, created_by="usr_t", name="Theirs")
    assert _history(client, theirs).status_code == 404
    assert client.get("/admin/contacts/contact/ctc_%00/history/").status_code == 404


def test_the_edit_page_links_to_the_timeline(client, agent, tenant):
    contact = contact_create(tenant=tenant, created_by="usr_t", name="Ada")
    page = client.get(f"/admin/contacts/contact/{contact.pk}/change/").content.decode()
    assert f"/admin/contacts/contact/{contact.pk}/history/" in page


def test_a_merge_says_which_contacts_went_where(client, agent, tenant):
    from contacts.merging import contact_merge

    target = contact_create(tenant=tenant, created_by="usr_t", name="Ada")
    source = contact_create(tenant=tenant, created_by="usr_t", name="Ada L")
    contact_merge(tenant=tenant, target_id=target.pk, source_ids=[source.pk])
    response = _history(client, target)
    merged = response.context["entries"][0]
    line = f'Merged in: <span title="{source.pk}">Ada L</span>'
    assert (merged.headline, merged.changes) == ("Merged", [line])
    assert line in response.content.decode()  # by name, the id on hover
    deleted = _history(client, source).context["entries"][0]
    assert (deleted.headline, deleted.changes) == (
        "Deleted",
        [f'Merged into <span title="{target.pk}">Ada</span>'],
    )


def test_the_timeline_names_the_actors_with_their_ids_on_hover(client, agent, tenant):
    contact = contact_create(tenant=tenant, created_by=agent.pk, name="Ada")
    with event_origin(actor_id=agent.pk, source="admin"):
        contact_update(tenant=tenant, contact_id=contact.pk, name="Ada L")
    page = _history(client, contact).content.decode()
    assert f'by <span title="{agent.pk}">Sam Support</span>' in page
