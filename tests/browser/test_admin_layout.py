"""Every admin list is readable in a laptop's window: no horizontal scrolling at 1280×800.

The lists are filled with the longest values staff meet (long names, e-mails, URLs, every
scope and event type) and visited by a superuser, who also sees the tenant column and
filter. The registry of the admin site is walked, so a ModelAdmin added later is checked
too.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import ContactImport, ImportStatus
from contacts.services import contact_create
from events.types import EventType
from exports.models import ContactExport, ExportStatus
from flownally_admin.tenancy.services import api_key_create
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory
from tests.factories.tenancy import ServiceAccountFactory, TenantFactory, UserFactory
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What scrolls sideways or is cut off: the page itself, any box of it that scrolls (the
# changelist's table sits in one) or hides what overflows it (but for values cut on
# purpose, whole on hover, and the text in form fields), and tables wider than the window
# or the box they are in; by id or class, to say which.
SIDEWAYS_SCROLLING = """() => {
    const root = document.documentElement;
    const boxes = [...document.querySelectorAll('*')].filter(el => {
        const overflow = getComputedStyle(el).overflowX;
        return overflow !== 'visible'
            && !el.matches('input, textarea, select, .truncated, .visually-hidden, .visually-hidden *')
            && el.checkVisibility() && el.scrollWidth > el.clientWidth;
    });
    const tables = [...document.querySelectorAll('table')].filter(table => {
        const right = Math.min(
            root.clientWidth, table.parentElement.getBoundingClientRect().right);
        return table.checkVisibility() && table.getBoundingClientRect().right > right + 1;
    });
    return {
        page: root.scrollWidth > root.clientWidth,
        boxes: boxes.map(el => el.id || el.className || el.tagName),
        tablesOutside: tables.map(el => el.id || el.className || 'table'),
    };
}"""


@pytest.fixture
def full_lists():
    """A superuser, and a row or two with long values in every list; returns the user and
    the pages that are not changelists but show wide tables (the home page, an endpoint's
    deliveries)."""
    tenant = TenantFactory(slug="northwind-traders-europe", name="Northwind Traders Europe GmbH")
    tags = [
        TagFactory(tenant=tenant, name=name)
        for name in ("VIP customer", "newsletter subscriber", "renewal due in March")
    ]
    renewal = CustomFieldDefinitionFactory(
        tenant=tenant, name="Contract renewal date for the enterprise plan", type="date"
    )
    for n in range(3):
        contact_create(
            tenant=tenant,
            created_by="usr_seed",
            name=f"Maximiliane Alexandra von Hohenzollern-Sigmaringen {n}",
            identities=[
                {"channel": "whatsapp", "externalId": f"+49 151 2345 67{n:02d}"},
                {"channel": "sms", "externalId": f"+49 151 2345 68{n:02d}"},
                {"channel": "messenger", "externalId": f"100000{n}23456789"},
                {"channel": "instagram", "externalId": f"maximiliane.hohenzollern.{n}"},
                {"channel": "livechat", "externalId": f"visitor-8f0a2c6e-{n}"},
            ],
            tag_ids=[tag.pk for tag in tags],
            custom_fields={
                "cf_email": f"maximiliane.alexandra.hohenzollern{n}@northwind-traders.example",
                "cf_phone": f"+49 151 2345 67{n:02d}",
                renewal.public_id: "2026-03-31",
            },
        )
    now = timezone.now()
    for status in (ImportStatus.RUNNING, ImportStatus.COMPLETED, ImportStatus.FAILED):
        ContactImport.objects.create(
            tenant=tenant,
            created_by="svc_01J8Z3Q4N5M6K7P8R9S0T1V2W3",
            file_path="imports/unused.csv",
            file_name="customers-export-from-the-old-crm-2026-03-31-final-v2.csv",
            status=status,
            total_rows=1_048_576,
            processed_rows=524_288,
            created_count=400_000,
            updated_count=120_000,
            skipped_count=4_000,
            failed_count=288,
            started_at=now - timedelta(minutes=5),
        )
    for status in (ExportStatus.RUNNING, ExportStatus.COMPLETED, ExportStatus.FAILED):
        ContactExport.objects.create(  # the completed one is on the home page too
            tenant=tenant,
            created_by="svc_01J8Z3Q4N5M6K7P8R9S0T1V2W3",
            source="admin",
            status=status,
            total_rows=1_048_576,
            processed_rows=524_288,
            file_path="exports/unused.csv" if status == ExportStatus.COMPLETED else "",
            failure_code="internal_error" if status == ExportStatus.FAILED else "",
            failure_message="The export stopped on an internal error.",
            started_at=now - timedelta(minutes=5),
            finished_at=now if status != ExportStatus.RUNNING else None,
            expires_at=now + timedelta(hours=24) if status == ExportStatus.COMPLETED else None,
        )
    account = ServiceAccountFactory(tenant=tenant, name="Zapier integration for marketing")
    api_key_create(service_account=account, role="admin", expires_at=now + timedelta(days=365))
    endpoint, _secret = endpoint_create(
        tenant=tenant,
        url="https://hooks.northwind-traders.example/flownally/contacts/events/receiver?t=abc",
        event_types=list(EventType.values),
        description="CRM synchronisation",
        created_by="usr_seed",
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now)  # on the home page
    WebhookDelivery.objects.create(
        tenant=tenant,
        endpoint=endpoint,
        event_id="evt_01J8Z3Q4N5M6K7P8R9S0T1V2W3",
        event_type=EventType.CONTACT_UPDATED,
        status=DeliveryStatus.RETRYING,
        attempts=7,
        last_attempt_at=now,
        next_attempt_at=now + timedelta(hours=1),
        last_response_status=503,
        last_error="connection_refused",
        last_duration_ms=10_000,
    )
    Group.objects.create(name="Support staff, Europe, Middle East and Africa")
    user = UserFactory(is_superuser=True, username="maximiliane.hohenzollern.support")
    return user, ["/admin/", f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/"]


def _changelist_urls() -> list[str]:
    return [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model in admin.site._registry
    ]


@pytest.mark.parametrize("width,height", [(1280, 800), (1400, 900)])
def test_every_list_fits_the_window(page, live_server, staff_login, full_lists, width, height):
    user, wide_pages = full_lists
    page.set_viewport_size({"width": width, "height": height})
    staff_login(page, user)
    urls = _changelist_urls()
    assert "/admin/tenancy/apikey/" in urls and "/admin/contacts/contact/" in urls
    too_wide = {}
    for url in [*urls, *wide_pages]:
        page.goto(f"{live_server.url}{url}")
        if url in urls:
            expect(page.locator("#result_list tbody tr").first).to_be_visible()
        scrolling = page.evaluate(SIDEWAYS_SCROLLING)
        if scrolling["page"] or scrolling["boxes"] or scrolling["tablesOutside"]:
            too_wide[url] = scrolling
    assert not too_wide, "\n".join(f"{url}: {found}" for url, found in too_wide.items())
