"""The admin as a new staff member first meets it: nothing on its pages fails to load, the
navigation sidebar leaves the lists their width, and the home page shows the day's work."""

import pytest
from playwright.sync_api import expect

from contacts.models import ContactImport, ImportStatus
from contacts.services import contact_create
from tests.factories.tenancy import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_user():
    """An admin of a tenant with contacts and a running import."""
    membership = MembershipFactory(role="admin", tenant=TenantFactory(name="Acme"))
    for name in ("Ada Lovelace", "Grace Hopper"):
        contact_create(tenant=membership.tenant, created_by="usr_seed", name=name)
    ContactImport.objects.create(
        tenant=membership.tenant,
        created_by=membership.user.pk,
        file_path="imports/unused.csv",
        file_name="people.csv",
        status=ImportStatus.RUNNING,
        total_rows=40,
        processed_rows=10,
    )
    return membership.user


def test_no_request_of_a_fresh_admin_session_fails(page, live_server, staff_login, admin_user):
    failed, answered = [], []

    def record(response):
        answered.append(response.url)
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", record)
    staff_login(page, admin_user)  # the login page, then the home page
    expect(page.locator("#site-name")).to_have_text("Flownally Contacts")
    expect(page.locator("#home-imports-running")).to_contain_text("people.csv")
    expect(page.locator("#home-contacts")).to_contain_text("Acme 2 0")
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.get_by_role("link", name="API docs").click()
    expect(page).to_have_url(f"{live_server.url}/v1/docs")
    page.wait_for_load_state("networkidle")

    assert failed == []
    assert f"{live_server.url}/static/flownally/admin.css" in answered
    assert f"{live_server.url}/static/flownally/favicon.svg" in answered
    favicon = page.request.get(f"{live_server.url}/favicon.ico")
    assert (favicon.status, favicon.headers["content-type"]) == (200, "image/x-icon")


def test_the_navigation_sidebar_starts_closed_and_stays_as_staff_leave_it(
    page, live_server, staff_login, admin_user
):
    staff_login(page, admin_user)
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    sidebar = page.locator("#nav-sidebar")
    expect(sidebar).to_be_hidden()

    page.locator("#toggle-nav-sidebar").click()
    expect(sidebar).to_be_visible()
    page.goto(f"{live_server.url}/admin/tags/tag/")
    expect(sidebar).to_be_visible()

    page.locator("#toggle-nav-sidebar").click()
    expect(sidebar).to_be_hidden()
    page.reload()
    expect(sidebar).to_be_hidden()
