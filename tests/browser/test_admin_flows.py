"""The admin as support staff and workspace admins use it, in Chromium.

Each flow is one user journey of the admin spec's quality bar; the flows also take the
screenshots of the contact form and of a finished import that the README shows
(`screenshot_dir`: docs/ with `make screenshots`, a temporary folder otherwise).
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from contacts.models import Contact, ContactImport
from contacts.services import contact_create
from flownally_admin.celery import app
from tests.conftest import start_worker, stop_worker
from tests.contacts.test_import_worker import WORKER_ENV, _upload
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory
from tests.factories.tenancy import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff(live_server):
    """An agent of one tenant, with a contact whose renewal date needs fixing."""
    membership = MembershipFactory(role="agent", tenant=TenantFactory(name="Acme"))
    tenant = membership.tenant
    renewal = CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date")
    TagFactory(tenant=tenant, name="VIP")
    contact = contact_create(
        tenant=tenant,
        created_by="usr_seed",
        name="Ada Lovelace",
        identities=[{"channel": "whatsapp", "externalId": "+1 415 555 0123"}],
        custom_fields={"cf_email": "ada@example.com", renewal.public_id: "2026-01-31"},
    )
    contact_create(tenant=tenant, created_by="usr_seed", name="Bob Builder")
    return membership.user, tenant, contact, renewal


def test_find_by_phone_edit_a_date_tag_and_archive(
    page, live_server, staff_login, staff, screenshot_dir
):
    user, _tenant, contact, renewal = staff
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    page.fill("#searchbar", "(415) 555-0123")
    page.press("#searchbar", "Enter")
    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Ada Lovelace")
    results.first.get_by_role("link", name="Ada Lovelace").click()

    date_input = page.locator(f"input[name='cf__{renewal.public_id}']")
    expect(date_input).to_have_value("2026-01-31")
    date_input.fill("2027-02-28")
    page.locator(".select2-selection--multiple").click()  # tag autocomplete
    page.keyboard.type("VI")
    page.locator(".select2-results__option", has_text="VIP").click()
    page.screenshot(path=str(screenshot_dir / "admin-contact-form.png"), full_page=True)
    page.click("input[name='_continue']")
    expect(page.locator(".messagelist")).to_contain_text("Saved Ada Lovelace")
    contact.refresh_from_db()
    assert contact.custom_fields[renewal.public_id] == "2027-02-28"
    assert [t.name for t in contact.tags.all()] == ["VIP"]

    page.goto(f"{live_server.url}/admin/contacts/contact/")
    page.locator(f"input[name='_selected_action'][value='{contact.pk}']").check()
    page.select_option("select[name='action']", "archive")
    page.click("button[name='index']")
    expect(page.locator(".messagelist")).to_contain_text("Archived: 1 contact changed.")
    expect(page.locator("#result_list")).not_to_contain_text("Ada Lovelace")
    contact.refresh_from_db()
    assert contact.archived


def test_an_identity_conflict_is_shown_on_its_row_with_a_link(
    page, live_server, staff_login, staff
):
    user, tenant, _contact, _ = staff
    other = Contact.objects.get(tenant=tenant, name="Bob Builder")
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/{other.pk}/change/")
    page.select_option("select[name='identities-0-channel']", "whatsapp")
    page.fill("input[name='identities-0-external_id']", "+14155550123")
    page.click("input[name='_continue']")
    row = page.locator("tr.identity-row").first
    expect(row).to_contain_text("already belongs to another contact")
    row.get_by_role("link", name="another contact").click()
    expect(page.locator("input[name='name']")).to_have_value("Ada Lovelace")


def test_run_an_import_watch_it_finish_and_download_the_errors(
    page, live_server, staff_login, staff, tmp_path, screenshot_dir
):
    user, _tenant, _, _ = staff
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "name,email,whatsapp,colour\nGrace,grace@x.io,+44 20 7946 0958,red\nBad,not-an-email,,blue\n"
    )
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    page.click("#import-contacts")
    page.set_input_files("input[type='file']", str(csv_file))
    page.click("input[name='_preview']")
    expect(page.locator("body")).to_contain_text("colour")  # shown as ignored
    # The test settings run tasks eagerly: the job has run when its page first shows.
    page.set_input_files("input[type='file']", str(csv_file))
    page.click("input[name='_start']")
    expect(page.locator("#import-status")).to_have_text("completed", timeout=20_000)
    expect(page.locator("#count-created")).to_have_text("1")
    expect(page.locator("#count-failed")).to_have_text("1")
    expect(page.locator("#import-progress")).to_have_attribute("value", "2")
    page.screenshot(path=str(screenshot_dir / "admin-import-finished.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="errors.csv").click()
    report = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert report.splitlines()[0] == "row,column,code,message,value"
    assert "invalid_email" in report


def test_staff_of_one_tenant_never_see_another(page, live_server, staff_login, staff):
    _, _tenant, contact, _ = staff
    outsider = MembershipFactory(role="admin", tenant=TenantFactory(name="Other Co"))
    contact_create(tenant=outsider.tenant, created_by="usr_seed", name="Outsider contact")
    staff_login(page, outsider.user)
    page.goto(f"{live_server.url}/admin/contacts/contact/?state=all")
    expect(page.locator("#result_list")).to_contain_text("Outsider contact")
    expect(page.locator("body")).not_to_contain_text("Ada Lovelace")
    expect(page.locator("body")).not_to_contain_text("Acme")
    page.fill("#searchbar", "ada")
    page.press("#searchbar", "Enter")
    expect(page.locator("body")).not_to_contain_text("Ada Lovelace")
    response = page.goto(f"{live_server.url}/admin/contacts/contact/{contact.pk}/change/")
    assert response.status == 404


@pytest.mark.postgres
@pytest.mark.redis
def test_the_job_page_follows_a_running_import_without_reloading(
    page, live_server, staff_login, staff, make_client
):
    """A real worker runs the import while the page is open; the page updates itself."""
    user, tenant, _, _ = staff
    rows = "\n".join(f"Person {n},person{n}@x.io" for n in range(3000))
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    worker = None
    try:
        import_id = _upload(make_client(tenant=tenant), f"name,email\n{rows}\n".encode())
        staff_login(page, user)
        page.goto(f"{live_server.url}/admin/contacts/contactimport/")
        page.get_by_role("link", name="people.csv").click()
        expect(page.locator("#import-status")).to_have_text("queued")
        page.evaluate("window.notReloaded = true")
        worker = start_worker(queue="imports", env=WORKER_ENV)
        expect(page.locator("#import-status")).to_have_text("completed", timeout=60_000)
        assert page.evaluate("window.notReloaded") is True
        expect(page.locator("#count-created")).to_have_text("3000")
        expect(page.locator("#import-progress")).to_have_attribute("value", "3000")
        assert ContactImport.objects.get(pk=import_id).status == "completed"
    finally:
        app.conf.task_always_eager = eager
        if worker is not None:
            stop_worker(worker)
