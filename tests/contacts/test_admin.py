"""The contacts admin through the Django test client: scoping, the edit page, actions."""

import pytest
from django.contrib.admin.models import LogEntry

from contacts.models import Contact
from contacts.services import contact_archive, contact_create, contact_delete
from tags.models import Tag
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory
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


def _rows(response):
    return [c.pk for c in response.context["cl"].result_list]


def _edit_data(contact=None, **overrides):
    data = {
        "name": "",
        "identities-TOTAL_FORMS": "1",
        "identities-INITIAL_FORMS": "0",
        "identities-MIN_NUM_FORMS": "0",
        "identities-MAX_NUM_FORMS": "1000",
        "identities-0-channel": "",
        "identities-0-external_id": "",
        "identities-0-metadata": "{}",
        "etag": contact.etag if contact else "",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_changelist_shows_only_the_users_tenants_active_contacts(
    client, agent, tenant, other_tenant
):
    ours = _contact(tenant, name="Ours", custom_fields={"cf_email": "o@x.io"})
    archived = _contact(tenant, name="Archived one")
    contact_archive(tenant=tenant, contact_id=archived.pk)
    _contact(other_tenant, name="Theirs")
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert _rows(response) == [ours.pk]
    assert "o@x.io" in response.content.decode()
    assert _rows(client.get(CHANGELIST, {"state": "archived"})) == [archived.pk]
    assert "Theirs" not in client.get(CHANGELIST, {"state": "all"}).content.decode()


def test_search_uses_the_api_semantics(client, agent, tenant, other_tenant):
    ada = _contact(
        tenant, name="Ada", identities=[{"channel": "whatsapp", "externalId": "+14155550123"}]
    )
    _contact(tenant, name="Bob")
    _contact(
        other_tenant,
        name="Ada elsewhere",
        identities=[{"channel": "whatsapp", "externalId": "+14155550123"}],
    )
    assert _rows(client.get(CHANGELIST, {"q": "(415) 555-0123"})) == [ada.pk]
    assert _rows(client.get(CHANGELIST, {"q": "ADA"})) == [ada.pk]


def test_deleted_view_and_restore_action(client, agent, tenant):
    gone = _contact(tenant, name="Gone")
    contact_delete(tenant=tenant, contact_id=gone.pk)
    assert _rows(client.get(CHANGELIST)) == []
    assert _rows(client.get(CHANGELIST, {"state": "deleted"})) == [gone.pk]
    response = client.post(
        f"{CHANGELIST}?state=deleted",
        {"action": "restore", "_selected_action": [gone.pk], "index": "0"},
        follow=True,
    )
    assert "Restored: 1 contact changed." in response.content.decode()
    assert Contact.objects.get(pk=gone.pk).deleted_at is None


def test_bulk_actions_go_through_the_services_and_report_counts(client, agent, tenant):
    vip = TagFactory(tenant=tenant, name="VIP")
    first, second = _contact(tenant, name="One"), _contact(tenant, name="Two")
    contact_archive(tenant=tenant, contact_id=second.pk)
    response = client.post(
        f"{CHANGELIST}?state=all",
        {"action": "archive", "_selected_action": [first.pk, second.pk], "index": "0"},
        follow=True,
    )
    assert "Archived: 1 contact changed, 1 left as they were." in response.content.decode()
    response = client.post(
        f"{CHANGELIST}?state=all",
        {
            "action": "add_tag",
            "tag": "vip",
            "_selected_action": [first.pk, second.pk],
            "index": "0",
        },
        follow=True,
    )
    assert "Tagged &#x27;vip&#x27;: 2 contacts changed." in response.content.decode()
    assert set(vip.contacts.values_list("pk", flat=True)) == {first.pk, second.pk}
    client.post(
        CHANGELIST + "?state=all",
        {"action": "soft_delete", "_selected_action": [first.pk], "index": "0"},
    )
    assert Contact.objects.get(pk=first.pk).deleted_at is not None


def _messages(response):
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def _act(client, action, contacts, query="?state=all", **data):
    return client.post(
        CHANGELIST + query,
        {"action": action, "_selected_action": [c.pk for c in contacts], "index": "0", **data},
        follow=True,
    )


def test_an_action_says_in_red_why_contacts_were_left_as_they_were(client, agent, tenant):
    first, second = _contact(tenant, name="One"), _contact(tenant, name="Two")
    for contact in (first, second):
        contact_archive(tenant=tenant, contact_id=contact.pk)
    assert _messages(_act(client, "archive", [first, second])) == [
        ("error", "Archived: 0 contacts changed, 2 left as they were."),
        ("error", "Two, One: The contact is already archived."),  # newest first, as listed
    ]


def test_adding_an_unknown_tag_asks_to_create_it_then_creates_and_adds_it(client, agent, tenant):
    first, second = _contact(tenant, name="One"), _contact(tenant, name="Two")
    confirmation = _act(client, "add_tag", [first, second], tag=" Gold ")
    assert confirmation.templates[0].name == ("admin/contacts/contact/create_tag_confirmation.html")
    page = confirmation.content.decode()
    assert f"There is no tag named <strong>Gold</strong> in\n  {tenant}." in page
    assert "add it to the\n  2\n  selected contacts?" in page
    assert not Tag.objects.filter(tenant=tenant).exists()

    # The page posts the selection back with `create_tag` (no `index`: Django's
    # confirmation path for actions, as its own delete confirmation uses).
    response = client.post(
        CHANGELIST + "?state=all",
        {
            "action": "add_tag",
            "tag": "Gold",
            "create_tag": "yes",
            "select_across": "0",
            "_selected_action": [first.pk, second.pk],
        },
        follow=True,
    )
    gold = Tag.objects.get(tenant=tenant)
    assert (gold.name, gold.created_by) == ("Gold", agent.pk)
    assert _messages(response) == [
        ("success", f"Created the tag 'Gold' in {tenant}."),
        ("success", "Tagged 'Gold': 2 contacts changed."),
    ]
    assert set(gold.contacts.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_creating_a_tag_from_the_action_is_refused_to_who_may_not_create_tags(
    client, agent, tenant, monkeypatch
):
    from tags.admin import TagAdmin

    monkeypatch.setattr(TagAdmin, "has_add_permission", lambda self, request: False)
    contact = _contact(tenant, name="One")
    response = _act(client, "add_tag", [contact], tag="Gold")
    assert _messages(response) == [
        ("error", "Tagged 'Gold': 0 contacts changed, 1 left as they were."),
        ("error", f"One: {tenant} has no tag named 'Gold'."),
    ]
    forced = client.post(
        CHANGELIST,
        {"action": "add_tag", "tag": "Gold", "create_tag": "yes", "_selected_action": [contact.pk]},
    )
    assert forced.status_code == 403
    assert not Tag.objects.filter(tenant=tenant).exists()


def test_a_tag_name_that_cannot_be_a_tag_is_refused_before_anything(client, agent, tenant):
    contact = _contact(tenant, name="One")
    assert _messages(_act(client, "add_tag", [contact], tag="x" * 65)) == [
        ("error", "Name the tag in the Tag box: A tag name has at most 64 characters."),
    ]
    assert _messages(_act(client, "remove_tag", [contact], tag="  ")) == [
        ("error", "Name the tag in the Tag box: A tag name is required."),
    ]
    assert not Tag.objects.exists()


def test_removing_an_unknown_tag_says_so_in_red(client, agent, tenant):
    contact = _contact(tenant, name="One")
    assert _messages(_act(client, "remove_tag", [contact], tag="Gold")) == [
        ("error", "Untagged 'Gold': 0 contacts changed, 1 left as they were."),
        ("error", f"One: {tenant} has no tag named 'Gold'."),
    ]


def test_a_refusal_names_ten_contacts_and_counts_the_rest(client, agent, tenant):
    contacts = [_contact(tenant, name=f"C{n:02}") for n in range(12)]
    for contact in contacts:
        contact_archive(tenant=tenant, contact_id=contact.pk)
    messages = _messages(_act(client, "archive", contacts, query="?state=all&o=1"))
    names = ", ".join(f"C{n:02}" for n in range(10))
    assert messages[1] == ("error", f"{names} and 2 others: The contact is already archived.")


def test_edit_page_has_a_typed_field_per_definition(client, agent, tenant):
    renewal = CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date")
    contact = _contact(tenant, name="Ada", custom_fields={renewal.public_id: "2026-05-01"})
    page = client.get(f"{CHANGELIST}{contact.pk}/change/").content.decode()
    assert f'name="cf__{renewal.public_id}"' in page
    assert 'class="vDateField' in page
    assert 'value="2026-05-01"' in page
    assert 'name="cf__cf_email"' in page


def test_edit_saves_through_the_service(client, agent, tenant):
    renewal = CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date")
    vip = TagFactory(tenant=tenant, name="VIP")
    contact = _contact(tenant, name="Ada")
    response = client.post(
        f"{CHANGELIST}{contact.pk}/change/",
        _edit_data(
            contact,
            name=" Ada L. ",
            tags=[vip.pk],
            **{
                f"cf__{renewal.public_id}": "2026-12-24",
                "cf__cf_email": "ADA@X.IO",
                "identities-0-channel": "sms",
                "identities-0-external_id": "+1 415 555 0123",
            },
        ),
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.name == "Ada L."
    assert contact.custom_fields == {renewal.public_id: "2026-12-24", "cf_email": "ada@x.io"}
    assert [(i.channel, i.external_id) for i in contact.identities.all()] == [
        ("sms", "+14155550123")
    ]
    assert [t.name for t in contact.tags.all()] == ["VIP"]
    assert LogEntry.objects.filter(object_id=contact.pk).count() == 1


def test_service_errors_appear_next_to_their_field(client, agent, tenant):
    holder = _contact(
        tenant, name="Holder", identities=[{"channel": "whatsapp", "externalId": "+14155550123"}]
    )
    contact = _contact(tenant, name="Ada")
    response = client.post(
        f"{CHANGELIST}{contact.pk}/change/",
        _edit_data(
            contact,
            name="Ada",
            **{"identities-0-channel": "whatsapp", "identities-0-external_id": "+1 (415) 555-0123"},
        ),
    )
    assert response.status_code == 200
    form, formset = response.context["form"], response.context["formset"]
    assert form.errors == {}
    assert "another contact" in str(formset.forms[0].errors["external_id"])
    assert f"/admin/contacts/contact/{holder.pk}/change/" in response.content.decode()


def test_field_errors_from_validation(client, agent, tenant):
    contact = _contact(tenant, name="Ada")
    response = client.post(
        f"{CHANGELIST}{contact.pk}/change/",
        _edit_data(
            contact,
            name="x" * 300,
            **{
                "cf__cf_email": "not-an-email",
                "identities-0-channel": "sms",
                "identities-0-external_id": "12",
            },
        ),
    )
    form, formset = response.context["form"], response.context["formset"]
    assert form.errors["name"] == ["A name has at most 255 characters."]
    assert "not a valid e-mail" in form.errors["cf__cf_email"][0]
    assert "not a valid phone number" in formset.forms[0].errors["external_id"][0]
    contact.refresh_from_db()
    assert contact.name == "Ada"


def test_every_error_of_a_submission_shows_at_once(client, agent, tenant):
    """The form's own (a date it cannot read) and the services' (e-mail, WhatsApp number,
    name) together: the services check what the form could read."""
    renewal = CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date")
    response = client.post(
        f"{CHANGELIST}add/",
        _edit_data(
            tenant=tenant.pk,
            name="x" * 300,
            **{
                f"cf__{renewal.public_id}": "31/31/2026",
                "cf__cf_email": "not-an-email",
                "identities-0-channel": "whatsapp",
                "identities-0-external_id": "12",
            },
        ),
    )
    assert response.status_code == 200
    form, formset = response.context["form"], response.context["formset"]
    assert form.errors[f"cf__{renewal.public_id}"] == ["Enter a valid date."]
    assert form.errors["cf__cf_email"] == ["'not-an-email' is not a valid e-mail address."]
    assert form.errors["name"] == ["A name has at most 255 characters."]
    assert "not a valid phone number" in formset.forms[0].errors["external_id"][0]
    assert not Contact.objects.filter(tenant=tenant).exists()


def test_a_field_the_form_cannot_read_is_not_cleared_by_the_check(client, agent, tenant):
    renewal = CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date")
    contact = _contact(tenant, name="Ada", custom_fields={renewal.public_id: "2026-05-01"})
    response = client.post(
        f"{CHANGELIST}{contact.pk}/change/",
        _edit_data(contact, name="Ada", **{f"cf__{renewal.public_id}": "soon"}),
    )
    form = response.context["form"]
    assert list(form.errors) == [f"cf__{renewal.public_id}"]
    contact.refresh_from_db()
    assert contact.custom_fields == {renewal.public_id: "2026-05-01"}


def test_a_stale_page_cannot_overwrite_someone_elses_change(client, agent, tenant):
    contact = _contact(tenant, name="Ada")
    stale = contact.etag
    client.post(f"{CHANGELIST}{contact.pk}/change/", _edit_data(contact, name="First"))
    response = client.post(
        f"{CHANGELIST}{contact.pk}/change/", _edit_data(contact, name="Second", etag=stale)
    )
    assert "Someone else changed this contact" in response.content.decode()
    contact.refresh_from_db()
    assert contact.name == "First"


def test_add_contact(client, agent, tenant):
    response = client.post(f"{CHANGELIST}add/", _edit_data(name="New person", tenant=tenant.pk))
    assert response.status_code == 302
    assert Contact.objects.get(tenant=tenant).name == "New person"
    empty = client.post(f"{CHANGELIST}add/", _edit_data(tenant=tenant.pk))
    assert "A contact needs a non-empty name" in empty.content.decode()


def test_another_tenants_contact_cannot_be_opened_or_changed(client, agent, other_tenant):
    theirs = _contact(other_tenant, name="Theirs")
    assert client.get(f"{CHANGELIST}{theirs.pk}/change/").status_code == 404
    assert (
        client.post(f"{CHANGELIST}{theirs.pk}/change/", _edit_data(theirs, name="Mine")).status_code
        == 404
    )
    client.post(CHANGELIST, {"action": "archive", "_selected_action": [theirs.pk], "index": "0"})
    theirs.refresh_from_db()
    assert (theirs.name, theirs.archived) == ("Theirs", False)


def test_history_is_recorded(client, agent, tenant):
    contact = _contact(tenant, name="Ada")
    client.post(f"{CHANGELIST}{contact.pk}/change/", _edit_data(contact, name="Ada B"))
    history = client.get(f"{CHANGELIST}{contact.pk}/history/")
    assert history.status_code == 200
    assert agent.username in history.content.decode()


def test_a_superuser_searches_every_tenant(client, tenant, other_tenant):
    from tests.factories.tenancy import UserFactory

    client.force_login(UserFactory(is_superuser=True))
    ours = _contact(tenant, name="Ada One")
    theirs = _contact(other_tenant, name="Ada Two")
    _contact(other_tenant, name="Bob")
    assert sorted(_rows(client.get(CHANGELIST, {"q": "ada"}))) == sorted([ours.pk, theirs.pk])


def test_a_malformed_contact_id_in_the_admin_url_is_404(client, agent):
    assert client.get(f"{CHANGELIST}ctc_%00/change/").status_code == 404


# --- filters: the API's, and any value a user can paste ----------------------------------


def test_channel_and_tag_filters_are_the_api_s(client, agent, tenant):
    vip = TagFactory(tenant=tenant, name="VIP")
    two_numbers = _contact(
        tenant,
        name="Two numbers",
        identities=[
            {"channel": "sms", "externalId": "+14155550100"},
            {"channel": "sms", "externalId": "+14155550101"},
        ],
        tag_ids=[vip.pk],
    )
    _contact(tenant, name="Mail", identities=[{"channel": "email", "externalId": "m@x.io"}])
    assert _rows(client.get(CHANGELIST, {"channel": "sms"})) == [two_numbers.pk]  # once
    assert _rows(client.get(CHANGELIST, {"tag": vip.pk})) == [two_numbers.pk]
    assert _rows(client.get(CHANGELIST, {"tag": vip.pk, "channel": "email"})) == []


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("tag", "not-a-tag-id"),
        ("tag", "tag_01HZZZZZZZZZZZZZZZZZZZZZZZ"),
        ("tag", "x" * 5000),
        ("channel", "fax"),
        ("tenant", "not-a-tenant-id"),
    ],
)
def test_a_filter_value_that_names_nothing_gives_an_empty_list(
    client, agent, tenant, parameter, value
):
    TagFactory(tenant=tenant, name="VIP")  # a list offers its tag filter only then
    _contact(tenant, name="Ada", identities=[{"channel": "sms", "externalId": "+14155550100"}])
    response = client.get(CHANGELIST, {parameter: value})
    assert response.status_code == 200
    assert _rows(response) == []


@pytest.mark.parametrize(
    "parameter", ["tenant", "tag", "channel", "state", "created_at__gte", "q", "o"]
)
def test_a_filter_or_search_holding_a_nul_is_dropped_with_a_message(
    client, agent, tenant, parameter
):
    TagFactory(tenant=tenant, name="VIP")
    ada = _contact(
        tenant, name="Ada", identities=[{"channel": "sms", "externalId": "+14155550100"}]
    )
    kept = ("state", "all") if parameter != "state" else ("channel", "sms")
    response = client.get(CHANGELIST, {parameter: "a\x00b", kept[0]: kept[1]})
    assert (response.status_code, response["Location"]) == (
        302,
        f"{CHANGELIST}?{kept[0]}={kept[1]}",
    )
    page = client.get(response["Location"])
    assert _rows(page) == [ada.pk]
    assert [str(m) for m in page.context["messages"]] == [
        "A filter or search cannot contain a NUL character."
    ]
