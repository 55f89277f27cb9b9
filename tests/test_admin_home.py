"""The admin's home page: the day's work of the user's tenants, never another tenant's, in
the same few queries however many contacts, imports and endpoints there are."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import ContactImport, ImportStatus
from contacts.services import contact_archive, contact_create
from exports.models import ContactExport, ExportStatus
from flownally_admin import admin_home
from tests.factories.tenancy import MembershipFactory, TenantFactory, UserFactory
from webhooks.models import DisabledReason, WebhookEndpoint
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db


def _contacts(tenant, active: int, archived: int) -> None:
    for n in range(active + archived):
        contact = contact_create(tenant=tenant, created_by="usr_seed", name=f"Contact {n}")
        if n >= active:
            contact_archive(tenant=tenant, contact_id=contact.pk)


def _import(tenant, file_name, status, **counts) -> ContactImport:
    return ContactImport.objects.create(
        tenant=tenant,
        created_by="usr_seed",
        file_path="imports/unused.csv",
        file_name=file_name,
        status=status,
        **counts,
    )


def _endpoint(tenant, path, **state) -> WebhookEndpoint:
    endpoint, _secret = endpoint_create(
        tenant=tenant, url=f"https://hooks.example.com/{path}", created_by="usr_seed"
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**state)
    return endpoint


def _panel(html: str, panel_id: str) -> str:
    match = re.search(rf'<div class="module home-panel" id="{panel_id}">(.*?)</div>', html, re.S)
    assert match, f"no panel {panel_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


@pytest.fixture
def day(tenant, other_tenant):
    """A tenant's day: contacts, a running, a queued and two finished imports, endpoints
    failing in each way and two that are not; the same kinds of things in another tenant."""
    _contacts(tenant, active=3, archived=2)
    _contacts(other_tenant, active=1, archived=0)
    _import(tenant, "running.csv", ImportStatus.RUNNING, total_rows=200, processed_rows=50)
    _import(tenant, "queued.csv", ImportStatus.QUEUED)
    _import(
        tenant,
        "done.csv",
        ImportStatus.COMPLETED,
        total_rows=10,
        processed_rows=10,
        created_count=7,
        updated_count=2,
        skipped_count=1,
    )
    _import(
        tenant,
        "broken.csv",
        ImportStatus.FAILED,
        failure_code="invalid_encoding",
        failure_message="The file is not UTF-8.",
    )
    _import(other_tenant, "theirs-running.csv", ImportStatus.RUNNING)
    _import(other_tenant, "theirs-done.csv", ImportStatus.COMPLETED)
    since = timezone.now() - timedelta(hours=3)
    _endpoint(tenant, "failing", failing_since=since)
    _endpoint(tenant, "gone", enabled=False, disabled_reason=DisabledReason.GONE)
    _endpoint(tenant, "given-up", enabled=False, disabled_reason=DisabledReason.FAILING)
    _endpoint(tenant, "switched-off", enabled=False, disabled_reason=DisabledReason.MANUAL)
    _endpoint(tenant, "healthy")
    _endpoint(other_tenant, "theirs-failing", failing_since=since)
    return tenant


def _home(client, tenant, role) -> str:
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_admin_sees_the_day_of_their_tenant_only(client, day, other_tenant):
    html = _home(client, day, "admin")

    assert _panel(html, "home-contacts") == f"Contacts Tenant Active Archived {day.name} 3 2"
    running = _panel(html, "home-imports-running")
    assert running == (
        f"Imports running queued.csv {day.name} queued 0 rows 0 / ? rows "
        f"running.csv {day.name} running 50 rows 50 / 200 rows"
    )
    assert 'value="50" max="200"' in html
    assert _panel(html, "home-imports-finished") == (
        f"Last imports broken.csv {day.name} failed "
        "0 created, 0 updated, 0 skipped, 0 failed "
        f"{timezone.localtime().strftime('%m/%d/%Y')}"
        f" {_time_of(html, 'broken.csv')} "
        f"done.csv {day.name} completed 7 created, 2 updated, 1 skipped, 0 failed "
        f"{timezone.localtime().strftime('%m/%d/%Y')} {_time_of(html, 'done.csv')}"
    )
    assert 'title="The file is not UTF-8."' in html
    webhooks = _panel(html, "home-webhooks-failing")
    assert webhooks.startswith("Failing webhook endpoints https://hooks.example.com/failing ")
    assert "failing since" in webhooks
    assert "https://hooks.example.com/gone " in webhooks
    assert "disabled : the receiver answered 410 Gone" in webhooks
    assert "https://hooks.example.com/given-up " in webhooks
    assert "disabled after failing for days" in webhooks
    for not_failing in ("switched-off", "healthy"):
        assert f"https://hooks.example.com/{not_failing}" not in webhooks
    assert other_tenant.name not in html
    assert "theirs" not in html


def _time_of(html: str, file_name: str) -> str:
    """The short time Django printed for an import (the clock moves during the test): its
    format leaves the minutes off on the hour ("11 a.m.") and says "noon" and "midnight"."""
    row = html[html.index(file_name) :]
    printed = re.search(r"\d{2}/\d{2}/\d{4} (\d{1,2}(?::\d{2})? [ap]\.m\.|noon|midnight)", row)
    return printed.group(1)


def test_an_agent_sees_contacts_and_imports_but_no_webhooks(client, day):
    html = _home(client, day, "agent")

    assert _panel(html, "home-contacts") == f"Contacts Tenant Active Archived {day.name} 3 2"
    assert "running.csv" in _panel(html, "home-imports-running")
    assert 'id="home-webhooks-failing"' not in html
    assert "hooks.example.com" not in html


def test_a_quiet_day_says_so(client, tenant):
    html = _home(client, tenant, "owner")

    assert _panel(html, "home-contacts") == f"Contacts Tenant Active Archived {tenant.name} 0 0"
    assert _panel(html, "home-imports-running") == "Imports running No import is running."
    assert _panel(html, "home-imports-finished") == "Last imports No import has finished yet."
    assert _panel(html, "home-webhooks-failing") == (
        "Failing webhook endpoints Every endpoint is delivering."
    )


def test_the_counts_link_to_the_tenants_contacts(client, day):
    html = _home(client, day, "agent")

    assert f'href="/admin/contacts/contact/?tenant={day.pk}"' in html
    assert f'href="/admin/contacts/contact/?tenant={day.pk}&amp;state=archived"' in html


def test_a_superuser_sees_every_tenant_up_to_a_limit(client, day, other_tenant, monkeypatch):
    monkeypatch.setattr(admin_home, "TENANTS_SHOWN", 1)
    client.force_login(UserFactory(is_superuser=True))
    html = client.get("/admin/").content.decode()

    first, _second = sorted([day, other_tenant], key=lambda t: t.name)
    assert _panel(html, "home-contacts").startswith(f"Contacts Tenant Active Archived {first.name}")
    assert "The first 1 tenants by name." in html
    assert "theirs-running.csv" in html and "running.csv" in html
    assert "https://hooks.example.com/theirs-failing" in html


def _home_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/").status_code == 200
    return len(queries)


def test_the_page_reads_the_same_few_rows_however_busy_the_day(client, tenant):
    """Counts are sums of the count deltas and each list is cut to a few rows: twice the
    contacts, imports, exports, endpoints and tenants cost no extra query."""
    user = MembershipFactory(tenant=tenant, role="owner").user
    client.force_login(user)
    quiet = _home_queries(client)

    for n in range(2):
        more = TenantFactory()
        MembershipFactory(tenant=more, user=user, role="owner")
        for each in (tenant, more):
            _contacts(each, active=2, archived=1)
            _import(each, f"running-{n}.csv", ImportStatus.RUNNING)
            _import(each, f"done-{n}.csv", ImportStatus.COMPLETED)
            _endpoint(each, f"failing-{n}", failing_since=timezone.now())
            ContactExport.objects.create(
                tenant=each,
                created_by="usr_seed",
                status=ExportStatus.COMPLETED,
                file_path=f"exports/{n}.csv",
                total_rows=3,
                expires_at=timezone.now() + timedelta(hours=1),
            )
    busy = _home_queries(client)

    # Session, user; memberships, tenants, counts, two lists of imports, exports ready,
    # endpoints; the app list's checks (the user's and groups' permissions, tenant access in
    # any role and as owner or admin) and the recent actions.
    assert (quiet, busy) == (14, 14)
