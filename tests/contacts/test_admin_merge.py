"""The admin's duplicates panel, merge screen and merge action, through the test client."""

import pytest
from django.contrib.messages import get_messages

from contacts.admin.merge import merge_url
from contacts.merging import contact_merge
from contacts.models import Contact
from contacts.services import contact_create
from events.models import Event
from tests.factories.tenancy import MembershipFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/contacts/contact/"


@pytest.fixture
def agent(client, tenant):
    membership = MembershipFactory(tenant=tenant, role="agent")
    client.force_login(membership.user)
    return membership.user


def _contact(tenant, **members):
    return contact_create(tenant=tenant, created_by="usr_t", **members)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def pair(tenant):
    ada = _contact(
        tenant,
        name="Ada Lovelace",
        custom_fields={"cf_email": "ada@example.com"},
        identities=[{"channel": "whatsapp", "externalId": "+14155550123"}],
    )
    twin = _contact(
        tenant,
        name="A. Lovelace",
        custom_fields={"cf_email": "ada@example.com", "cf_phone": "+14155550199"},
    )
    return ada, twin


def test_the_contact_page_lists_possible_duplicates(client, agent, tenant, pair):
    ada, twin = pair
    page = client.get(f"{CHANGELIST}{ada.pk}/change/").content.decode()
    assert "Possible duplicates" in page
    assert f'href="/admin/contacts/contact/{twin.pk}/change/">A. Lovelace</a>' in page
    assert merge_url([ada.pk, twin.pk]).replace("&", "&amp;") in page
    alone = _contact(tenant, name="Alone")
    page = client.get(f"{CHANGELIST}{alone.pk}/change/").content.decode()
    assert "No other contact shares an e-mail address or phone number" in page


def test_the_merge_screen_shows_the_contacts_a_choice_where_they_differ_and_a_preview(
    client, agent, pair
):
    ada, twin = pair
    response = client.get(merge_url([ada.pk, twin.pk]))
    assert response.status_code == 200
    rows = {row.label: row for row in response.context["rows"]}
    assert list(rows) == ["Name", "Email", "Phone"]
    assert rows["Name"].cells == [(ada.pk, "Ada Lovelace"), (twin.pk, "A. Lovelace")]
    assert (rows["Name"].choice, rows["Name"].picked) == ("pick_name", ada.pk)
    assert rows["Email"].choice == ""  # the same on both: nothing to choose
    assert (rows["Phone"].choice, rows["Phone"].picked) == ("pick_field_cf_phone", twin.pk)
    preview = response.context["preview"]
    assert (preview["name"], len(preview["identities"])) == ("Ada Lovelace", 1)
    assert Contact.objects.filter(pk=twin.pk, deleted_at__isnull=True).exists()
    # Another choice, previewed.
    response = client.post(
        merge_url([ada.pk, twin.pk]),
        {"ids": [ada.pk, twin.pk], "target": ada.pk, "pick_name": twin.pk, "_preview": "1"},
    )
    assert response.context["preview"]["name"] == "A. Lovelace"
    assert Event.objects.filter(type="contact.merged").count() == 0


def test_confirming_merges_and_says_so(client, agent, pair):
    ada, twin = pair
    shown = client.get(merge_url([ada.pk, twin.pk])).context
    response = client.post(
        merge_url([ada.pk, twin.pk]),
        {
            "ids": [ada.pk, twin.pk],
            "target": ada.pk,
            "pick_name": twin.pk,
            "pick_field_cf_phone": ada.pk,
            "etag": shown["etag"],
            "etag_of": ada.pk,
            "_merge": "1",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{ada.pk}/change/"
    assert _messages(response) == ["Merged 1 contact into A. Lovelace."]
    merged, gone = Contact.objects.get(pk=ada.pk), Contact.objects.get(pk=twin.pk)
    assert (merged.name, merged.custom_fields) == ("A. Lovelace", {"cf_email": "ada@example.com"})
    assert (gone.deleted_at is not None, gone.merged_into_id) == (True, ada.pk)
    event = Event.objects.get(type="contact.merged")
    assert (event.source, event.actor_id) == ("admin", agent.pk)


def test_a_stale_page_is_refused_with_a_message(client, agent, pair):
    ada, twin = pair
    data = {"ids": [ada.pk, twin.pk], "target": ada.pk, "etag": '"0"', "etag_of": ada.pk}
    response = client.post(merge_url([ada.pk, twin.pk]), {**data, "_merge": "1"})
    assert response.status_code == 200
    assert _messages(response) == [
        "Not merged: the contact kept has changed since this page was shown; check again."
    ]
    assert Contact.objects.get(pk=twin.pk).deleted_at is None


def test_a_merge_refused_by_the_service_says_why(client, agent, tenant):
    named = _contact(tenant, name="Named")
    phone_only = _contact(tenant, custom_fields={"cf_phone": "+14155550123"})
    data = {
        "ids": [named.pk, phone_only.pk],
        "target": named.pk,
        "pick_name": phone_only.pk,
        "pick_field_cf_phone": named.pk,
    }
    response = client.post(merge_url([named.pk, phone_only.pk]), {**data, "_merge": "1"})
    messages = _messages(response)
    assert messages[0].startswith("Not merged: A contact needs a non-empty name")
    assert Contact.objects.get(pk=phone_only.pk).deleted_at is None


def test_the_changelist_action_opens_the_merge_screen_for_two_to_ten(client, agent, pair):
    ada, twin = pair
    response = client.post(
        CHANGELIST, {"action": "merge_selected", "_selected_action": [twin.pk, ada.pk]}
    )
    assert response.status_code == 302
    assert response["Location"] == merge_url([ada.pk, twin.pk])  # oldest kept by default
    response = client.post(
        CHANGELIST, {"action": "merge_selected", "_selected_action": [ada.pk]}, follow=True
    )
    assert "Select 2 to 10 live contacts to merge." in response.content.decode()


def test_contacts_of_another_tenant_cannot_be_reached(client, agent, tenant, other_tenant, pair):
    ada, _ = pair
    theirs = _contact(other_tenant, name="Theirs", custom_fields={"cf_email": "ada@example.com"})
    response = client.get(merge_url([ada.pk, theirs.pk]))
    assert response.status_code == 302
    assert _messages(response) == [
        "Choose 2 to 10 live contacts to merge; 1 of the 2 asked for can be merged."
    ]
    assert "Theirs" not in client.get(f"{CHANGELIST}{ada.pk}/change/").content.decode()


def test_restoring_a_merged_contact_is_refused_while_its_target_holds_its_identities(
    client, agent, tenant
):
    target = _contact(tenant, name="Target")
    source = _contact(
        tenant, name="Source", identities=[{"channel": "sms", "externalId": "+14155550123"}]
    )
    contact_merge(tenant=tenant, target_id=target.pk, source_ids=[source.pk])
    response = client.post(
        f"{CHANGELIST}?state=deleted",
        {"action": "restore", "_selected_action": [source.pk], "index": "0"},
    )
    assert _messages(response) == [
        "Restored: 0 contacts changed, 1 left as they were.",
        f"Source: It was merged into Target ({target.pk}), which still holds its sms identity "
        "'+14155550123'. Remove the identity from Target (or delete it) before restoring this "
        "one.",
    ]


def test_a_merged_contacts_page_leads_to_the_contact_it_went_into(
    client, agent, tenant, other_tenant, pair
):
    ada, twin = pair
    contact_merge(tenant=tenant, target_id=ada.pk, source_ids=[twin.pk])
    response = client.get(f"{CHANGELIST}{twin.pk}/change/")
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{ada.pk}/change/"
    assert _messages(response) == [f"Contact {twin.pk} was merged into this contact."]
    deleted = _contact(tenant, name="Deleted")
    client.post(
        CHANGELIST, {"action": "soft_delete", "_selected_action": [deleted.pk], "index": "0"}
    )
    assert Contact.objects.get(pk=deleted.pk).deleted_at is not None
    assert client.get(f"{CHANGELIST}{deleted.pk}/change/").status_code == 404
    # Another tenant's merged contact is not found, and says nothing of where it went.
    theirs, their_twin = (_contact(other_tenant, name=n) for n in ("Theirs", "Their twin"))
    contact_merge(tenant=other_tenant, target_id=theirs.pk, source_ids=[their_twin.pk])
    assert client.get(f"{CHANGELIST}{their_twin.pk}/change/").status_code == 404


def test_keeping_another_contact_starts_from_its_values_and_merges_only_after_a_preview(
    client, agent, pair
):
    ada, twin = pair
    shown = client.get(merge_url([ada.pk, twin.pk])).context
    data = {
        "ids": [ada.pk, twin.pk],
        "target": twin.pk,  # Ada was kept on the page shown; the name shown picked is hers
        "pick_name": ada.pk,
        "etag": shown["etag"],
        "etag_of": ada.pk,
    }
    response = client.post(merge_url([ada.pk, twin.pk]), {**data, "_merge": "1"})
    assert response.status_code == 200
    assert _messages(response) == [
        "Not merged yet: another contact is kept now. Check the preview, then merge."
    ]
    assert Contact.objects.get(pk=twin.pk).deleted_at is None
    assert (response.context["target_id"], response.context["preview"]["name"]) == (
        twin.pk,
        "A. Lovelace",
    )
    again = response.context
    response = client.post(
        merge_url([ada.pk, twin.pk]),
        {**data, "etag": again["etag"], "etag_of": twin.pk, "_merge": "1"},
    )
    assert response.status_code == 302
    assert Contact.objects.get(pk=twin.pk).name == "Ada Lovelace"  # now a choice: taken
    assert Contact.objects.get(pk=ada.pk).merged_into_id == twin.pk
