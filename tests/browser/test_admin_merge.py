"""Merging duplicates in the admin, in Chromium (contract §11, admin spec): from the contact
page's "Possible duplicates" and from the changelist action; the contacts side by side, a
choice per field where they differ, a preview, the merge on confirm; and the contacts merged
away lead to the one kept."""

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from contacts.services import contact_create
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory
from tests.factories.tenancy import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent(live_server):
    membership = MembershipFactory(role="agent", tenant=TenantFactory(name="Acme"))
    return membership.user, membership.tenant


def _contact(tenant, **members):
    return contact_create(tenant=tenant, created_by="usr_seed", **members)


def _identities(contact):
    return sorted((i.channel, i.external_id) for i in contact.identities.filter(active=True))


def test_merge_a_possible_duplicate_from_the_contact_page(
    page, live_server, staff_login, agent, screenshot_dir
):
    user, tenant = agent
    vip = TagFactory(tenant=tenant, name="VIP")
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
        identities=[{"channel": "email", "externalId": "ada@home.example"}],
        tag_ids=[vip.pk],
    )
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/{ada.pk}/change/")
    panel = page.locator("#duplicates")
    expect(panel.locator("tr.duplicate")).to_have_count(1)
    expect(panel.locator("tr.duplicate")).to_contain_text("A. Lovelace")
    expect(panel.locator("tr.duplicate")).to_contain_text("email")
    panel.get_by_role("link", name="Merge into this contact…").click()

    expect(page.locator("h1")).to_have_text("Merge contacts")
    table = page.locator("#merge-table")
    expect(table.locator("thead th.kept")).to_contain_text("Ada Lovelace")
    expect(table.locator("thead th")).to_have_count(3)  # labels, then the two side by side
    # A choice where the values differ (the name, the phone), none where they agree.
    name_row = table.locator("tr.merge-row", has_text="Name")
    expect(name_row.locator("input[type=radio]")).to_have_count(2)
    expect(name_row.locator(f"input[value='{ada.pk}']")).to_be_checked()
    phone_row = table.locator("tr.merge-row", has_text="Phone")
    expect(phone_row.locator("td").nth(0)).to_have_text("(none)")
    expect(phone_row.locator("td").nth(1)).to_have_text("+14155550199")
    email_row = table.locator("tr.merge-row", has_text="E-mail")
    expect(email_row.locator("input[type=radio]")).to_have_count(0)
    preview = page.locator("#merge-preview")
    expect(preview).to_contain_text("Ada Lovelace")
    expect(preview).to_contain_text("+14155550199")  # empty on the one kept: the other's

    # Take the other's name, keep no phone, and see the preview say so before confirming.
    name_row.locator(f"input[value='{twin.pk}']").check()
    phone_row.locator(f"input[value='{ada.pk}']").check()
    page.get_by_role("button", name="Update the preview").click()
    expect(preview.locator("dd").first).to_have_text("A. Lovelace")
    expect(preview).not_to_contain_text("+14155550199")
    expect(preview).to_contain_text("whatsapp +14155550123, email ada@home.example")
    expect(preview).to_contain_text("VIP")
    page.screenshot(path=str(screenshot_dir / "admin-merge.png"), full_page=True)
    page.get_by_role("button", name="Merge", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/admin/contacts/contact/{ada.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text("Merged 1 contact into A. Lovelace.")
    expect(page.locator("input[name='name']")).to_have_value("A. Lovelace")
    expect(page.locator("#duplicates")).to_contain_text("No other contact shares")
    kept = Contact.objects.get(pk=ada.pk)
    assert (kept.name, kept.custom_fields) == ("A. Lovelace", {"cf_email": "ada@example.com"})
    assert _identities(kept) == [("email", "ada@home.example"), ("whatsapp", "+14155550123")]
    assert [t.name for t in kept.tags.all()] == ["VIP"]
    gone = Contact.objects.get(pk=twin.pk)
    assert (gone.deleted_at is not None, gone.merged_into_id) == (True, ada.pk)

    # The contact merged away leads to the one it went into.
    page.goto(f"{live_server.url}/admin/contacts/contact/{twin.pk}/change/")
    expect(page).to_have_url(f"{live_server.url}/admin/contacts/contact/{ada.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text(
        f"Contact {twin.pk} was merged into this contact."
    )


def test_merge_three_selected_contacts_from_the_changelist_keeping_another(
    page, live_server, staff_login, agent
):
    user, tenant = agent
    renewal = CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date")
    bob = _contact(
        tenant,
        name="Bob",
        custom_fields={"cf_phone": "+442079460958", renewal.public_id: "2026-01-31"},
    )
    robert = _contact(
        tenant,
        name="Robert",
        custom_fields={renewal.public_id: "2027-06-30"},
        identities=[{"channel": "whatsapp", "externalId": "+442079460958"}],
    )
    bobby = _contact(
        tenant, name="Bobby", identities=[{"channel": "sms", "externalId": "+442079460958"}]
    )
    _contact(tenant, name="Someone else")
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    for contact in (bobby, bob, robert):
        page.locator(f"input[name='_selected_action'][value='{contact.pk}']").check()
    page.select_option("select[name='action']", "merge_selected")
    page.click("button[name='index']")

    expect(page.locator("h1")).to_have_text("Merge contacts")
    table = page.locator("#merge-table")
    # Side by side, the oldest first and preselected as the one kept.
    expect(table.locator("thead th a")).to_have_text(["Bob", "Robert", "Bobby"])
    expect(table.locator("thead th.kept")).to_contain_text("Bob")
    # Keep Robert instead: the page is laid out again around him.
    table.locator(f"input[name='target'][value='{robert.pk}']").check()
    page.get_by_role("button", name="Update the preview").click()
    expect(table.locator("thead th a")).to_have_text(["Robert", "Bob", "Bobby"])
    expect(table.locator("thead th.kept")).to_contain_text("Robert")
    renewal_row = table.locator("tr.merge-row", has_text="Renewal")
    expect(renewal_row.locator(f"input[value='{robert.pk}']")).to_be_checked()
    renewal_row.locator(f"input[value='{bob.pk}']").check()
    page.get_by_role("button", name="Update the preview").click()
    preview = page.locator("#merge-preview")
    expect(preview).to_contain_text("2026-01-31")
    expect(preview).to_contain_text("Robert")
    page.get_by_role("button", name="Merge", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/admin/contacts/contact/{robert.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text("Merged 2 contacts into Robert.")
    expect(page.locator(f"input[name='cf__{renewal.public_id}']")).to_have_value("2026-01-31")
    kept = Contact.objects.get(pk=robert.pk)
    assert kept.custom_fields == {"cf_phone": "+442079460958", renewal.public_id: "2026-01-31"}
    assert _identities(kept) == [("sms", "+442079460958"), ("whatsapp", "+442079460958")]
    assert sorted(
        Contact.objects.filter(tenant=tenant, deleted_at__isnull=True).values_list(
            "name", flat=True
        )
    ) == ["Robert", "Someone else"]
    assert set(
        Contact.objects.filter(pk__in=[bob.pk, bobby.pk]).values_list("merged_into_id", flat=True)
    ) == {robert.pk}
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    expect(page.locator("#result_list")).not_to_contain_text("Bobby")
    page.goto(f"{live_server.url}/admin/contacts/contact/{bobby.pk}/change/")
    expect(page).to_have_url(f"{live_server.url}/admin/contacts/contact/{robert.pk}/change/")
