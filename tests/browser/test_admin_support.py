"""What a new support user hit in the admin (issue 19), in Chromium: an action that failed in
silence, errors shown one batch at a time, raw ids for names, import pages that said the
wrong thing, and problem pages that showed backticks."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from contacts.services import contact_archive, contact_create
from customfields.models import CustomFieldDefinition
from tags.models import Tag
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory
from tests.factories.tenancy import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent(live_server):
    """An agent of Acme, named, with two contacts and a date field (defined first: the
    definitions are cached per tenant, and a factory does not tell the cache)."""
    membership = MembershipFactory(role="agent", tenant=TenantFactory(name="Acme"))
    CustomFieldDefinitionFactory(tenant=membership.tenant, name="Renewal", type="date")
    user = membership.user
    user.first_name, user.last_name = "Sam", "Support"
    user.save()
    for name in ("Ada Lovelace", "Bob Builder"):
        contact_create(tenant=membership.tenant, created_by=user.pk, name=name)
    return user, membership.tenant


def _select_all_and_run(page, action, tag=None):
    page.locator("#action-toggle").check()
    page.select_option("select[name='action']", action)
    if tag is not None:
        page.fill("input[name='tag']", tag)
    page.click("button[name='index']")


def test_adding_a_tag_that_does_not_exist_offers_to_create_it(
    page, live_server, staff_login, agent
):
    user, tenant = agent
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    _select_all_and_run(page, "add_tag", tag="Gold")

    expect(page.locator("#missing-tag")).to_have_text("There is no tag named Gold in Acme.")
    assert not Tag.objects.filter(tenant=tenant).exists()  # not before it is confirmed
    page.get_by_role("button", name="Create the tag and add it").click()

    messages = page.locator(".messagelist")
    expect(messages.locator(".success")).to_have_text(
        ["Created the tag 'Gold' in Acme.", "Tagged 'Gold': 2 contacts changed."]
    )
    expect(page.locator("#result_list td.field-tag_names")).to_have_text(["Gold", "Gold"])
    gold = Tag.objects.get(tenant=tenant)
    assert (gold.name, gold.created_by) == ("Gold", user.pk)


def test_the_confirmation_can_be_declined(page, live_server, staff_login, agent):
    user, tenant = agent
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    _select_all_and_run(page, "add_tag", tag="Gold")
    page.get_by_role("link", name="No, take me back").click()
    expect(page).to_have_url(f"{live_server.url}/admin/contacts/contact/")
    assert not Tag.objects.filter(tenant=tenant).exists()


def test_an_action_that_changes_nothing_says_why_in_red(page, live_server, staff_login, agent):
    user, tenant = agent
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    _select_all_and_run(page, "remove_tag", tag="Gold")
    errors = page.locator(".messagelist .error")
    expect(errors).to_have_text(
        [
            "Untagged 'Gold': 0 contacts changed, 2 left as they were.",
            "Bob Builder, Ada Lovelace: Acme has no tag named 'Gold'.",
        ]
    )
    expect(errors.first).to_have_css("background-color", "rgb(255, 239, 239)")  # the admin's red
    expect(page.locator(".messagelist .success")).to_have_count(0)

    for contact in Contact.objects.filter(tenant=tenant):
        contact_archive(tenant=tenant, contact_id=contact.pk)
    page.goto(f"{live_server.url}/admin/contacts/contact/?state=all")
    _select_all_and_run(page, "archive")
    expect(page.locator(".messagelist .error")).to_have_text(
        [
            "Archived: 0 contacts changed, 2 left as they were.",
            "Bob Builder, Ada Lovelace: The contact is already archived.",
        ]
    )


def test_the_contact_form_shows_every_error_of_a_submission_at_once(
    page, live_server, staff_login, agent
):
    user, tenant = agent
    renewal = CustomFieldDefinition.objects.get(tenant=tenant, name="Renewal")
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/add/")
    page.fill("input[name='name']", "Grace")
    page.fill(f"input[name='cf__{renewal.public_id}']", "31/31/2026")
    page.fill("input[name='cf__cf_email']", "not-an-email")
    page.select_option("select[name='identities-0-channel']", "whatsapp")
    page.fill("input[name='identities-0-external_id']", "12")
    page.click("input[name='_save']")

    expect(page.locator(f".field-cf__{renewal.public_id} .errorlist")).to_have_text(
        "Enter a valid date."
    )
    expect(page.locator(".field-cf__cf_email .errorlist")).to_have_text(
        "'not-an-email' is not a valid e-mail address."
    )
    expect(page.locator("tr.identity-row").first.locator(".errorlist")).to_contain_text(
        "not a valid phone number"
    )
    assert not Contact.objects.filter(tenant=tenant, name="Grace").exists()


def test_an_import_page_says_what_it_did_by_whom(
    page, live_server, staff_login, agent, tmp_path, settings
):
    """The tags box is the contact form's autocomplete; the finished job says it has
    completed (not "has started"), which tags it added, the file's too, and who started it
    by name, the id on hover; so does the list of imports."""
    settings.MEDIA_ROOT = tmp_path
    user, tenant = agent
    TagFactory(tenant=tenant, name="VIP")
    csv_file = Path(tmp_path) / "people.csv"
    csv_file.write_text("name,tags\nGrace,Beta;Gamma\n")
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contactimport/add/")
    page.set_input_files("input[type='file']", str(csv_file))
    page.click("input[name='_preview']")
    page.locator(".field-tags .select2-selection--multiple").click()
    page.keyboard.type("VI")
    page.locator(".select2-results__option", has_text="VIP").click()
    page.click("input[name='_start']")  # tasks run eagerly here: done when the page shows

    expect(page.locator("#import-state")).to_have_text(
        "The import of people.csv has completed: 1 created, 0 updated, 0 skipped, 0 failed."
    )
    expect(page.locator("body")).not_to_contain_text("has started")
    expect(page.locator("#import-tags")).to_have_text(
        "VIP (to every contact); Beta, Gamma (from the file's tags column)"
    )
    started_by = page.locator("#import-started-by span")
    expect(started_by).to_have_text("Sam Support")
    expect(started_by).to_have_attribute("title", user.pk)

    page.goto(f"{live_server.url}/admin/contacts/contactimport/")
    created_by = page.locator("#result_list td.field-created_by_name span")
    expect(created_by).to_have_text("Sam Support")
    expect(created_by).to_have_attribute("title", user.pk)
    grace = Contact.objects.get(tenant=tenant, name="Grace")
    assert sorted(t.name for t in grace.tags.all()) == ["Beta", "Gamma", "VIP"]


def test_a_problem_page_shows_code_as_code(page, live_server):
    page.goto(f"{live_server.url}/problems/unauthenticated")
    description = page.locator("#problem-description")
    expect(description).not_to_contain_text("`")
    expect(description.locator("code")).to_have_text("Authorization: Bearer <token>")
    expect(description).to_contain_text("Send Authorization: Bearer <token> with a key")
