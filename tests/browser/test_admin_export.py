"""Exporting contacts in Chromium: from the list's search and filters, and from selected
rows, to the job page, its download link and the file."""

import csv
from pathlib import Path

import pytest
from playwright.sync_api import expect

from contacts.services import contact_archive, contact_create
from exports.models import ContactExport
from flownally_admin.celery import app
from tests.conftest import start_worker, stop_worker
from tests.factories.tags import TagFactory
from tests.factories.tenancy import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workspace(live_server):
    """An admin of a workspace with contacts on several channels, tagged or not, one
    archived."""
    membership = MembershipFactory(role="admin", tenant=TenantFactory(name="Acme"))
    tenant = membership.tenant
    vip = TagFactory(tenant=tenant, name="VIP")
    people = {}
    for name, channel, tagged in [
        ("Ada Lovelace", "whatsapp", True),
        ("Bob Builder", "whatsapp", False),
        ("Cyd Charisse", "email", True),
        ("Dee Dee", "whatsapp", True),
    ]:
        external_id = f"{name.split()[0].lower()}@example.com"
        if channel == "whatsapp":
            external_id = f"+1415555{len(people):04d}"
        people[name] = contact_create(
            tenant=tenant,
            created_by="usr_seed",
            name=name,
            identities=[{"channel": channel, "externalId": external_id}],
            tag_ids=[vip.pk] if tagged else [],
        )
    contact_archive(tenant=tenant, contact_id=people["Dee Dee"].pk)
    return membership.user, tenant, people


def _download(page) -> list[dict]:
    with page.expect_download() as download_info:
        page.click("#export-download")
    assert download_info.value.suggested_filename.endswith(".csv")
    text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(text.splitlines()))


def test_export_the_filtered_list_watch_it_and_download_the_file(
    page, live_server, staff_login, workspace, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    user, _tenant, people = workspace
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    page.locator("#changelist-filter").get_by_role("link", name="WhatsApp").click()
    page.locator("#changelist-filter").get_by_role("link", name="VIP").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)  # Dee is archived
    expect(page.locator("#result_list")).to_contain_text("Ada Lovelace")

    page.click("#export-contacts")
    expect(page.locator("#export-contents")).to_contain_text("With an identity on WhatsApp")
    expect(page.locator("#export-contents")).to_contain_text("Tagged VIP")
    expect(page.locator("#export-tenant")).to_have_text("Acme")
    page.click("#start-export")

    # The test settings run tasks eagerly: the export has run when its page first shows.
    expect(page.locator("#export-status")).to_have_text("completed")
    expect(page.locator("#export-progress")).to_have_attribute("value", "1")
    expect(page.locator("#export-processed")).to_have_text("1")
    expect(page.locator("#export-state")).to_have_text(
        "The export has completed: 1 row, ready to download."
    )
    rows = _download(page)
    assert [(row["id"], row["name"], row["tags"]) for row in rows] == [
        (people["Ada Lovelace"].pk, "Ada Lovelace", "VIP")
    ]

    page.goto(f"{live_server.url}/admin/exports/contactexport/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text(user.get_username())


def test_export_the_selected_rows(page, live_server, staff_login, workspace, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    user, _tenant, people = workspace
    staff_login(page, user)
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    for name in ("Bob Builder", "Cyd Charisse"):
        page.locator(f"input[name='_selected_action'][value='{people[name].pk}']").check()
    page.select_option("select[name='action']", "export_selected")
    page.click("button[name='index']")

    expect(page.locator("#export-status")).to_have_text("completed")
    expect(page.locator("#export-contents")).to_have_text("2 selected contacts")
    rows = _download(page)
    assert [row["name"] for row in rows] == ["Bob Builder", "Cyd Charisse"]


@pytest.mark.postgres
@pytest.mark.redis
def test_the_job_page_follows_a_running_export_without_reloading(
    page, live_server, staff_login, workspace
):
    """A real worker writes the file while the page is open: the page shows the export
    queued, then, by itself, its progress and the download link."""
    user, _tenant, people = workspace
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    worker = None
    try:
        staff_login(page, user)
        page.goto(f"{live_server.url}/admin/contacts/contact/?q=ada")
        page.click("#export-contacts")
        page.click("#start-export")
        expect(page.locator("#export-status")).to_have_text("queued")
        expect(page.locator("#export-file")).to_contain_text("appears here when")
        page.evaluate("window.notReloaded = true")
        worker = start_worker(queue="imports")
        expect(page.locator("#export-status")).to_have_text("completed", timeout=60_000)
        expect(page.locator("#export-download")).to_be_visible()
        assert page.evaluate("window.notReloaded") is True
        expect(page.locator("#export-progress")).to_have_attribute("value", "1")
        rows = _download(page)
        assert [row["id"] for row in rows] == [people["Ada Lovelace"].pk]
        assert ContactExport.objects.get().status == "completed"
    finally:
        app.conf.task_always_eager = eager
        if worker is not None:
            stop_worker(worker)
