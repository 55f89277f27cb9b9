"""The webhooks admin: owners and admins of the tenant, writing through the services."""

import pytest

from flownally_admin.tenancy.scopes import Role
from tests.factories.tenancy import MembershipFactory
from webhooks.crypto import secret_decrypt
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create, endpoint_signing_secrets

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/flownally"
ADMIN = "/admin/webhooks/webhookendpoint"


@pytest.fixture
def staff_client(client, tenant):
    client.force_login(MembershipFactory(tenant=tenant, role=Role.ADMIN).user)
    return client


@pytest.fixture
def endpoint(tenant):
    return endpoint_create(tenant=tenant, url=URL, created_by="system")[0]


def test_changelist_shows_only_the_users_tenants(staff_client, endpoint, other_tenant):
    endpoint_create(tenant=other_tenant, url=URL + "/theirs", created_by="system")
    page = staff_client.get(f"{ADMIN}/").content.decode()
    assert URL in page
    assert "/theirs" not in page


def test_agents_cannot_use_it(client, tenant, endpoint):
    client.force_login(MembershipFactory(tenant=tenant, role=Role.AGENT).user)
    assert client.get(f"{ADMIN}/").status_code == 403
    assert client.post(f"{ADMIN}/{endpoint.pk}/rotate-secret/").status_code == 403


def test_add_shows_the_secret_once(staff_client, tenant):
    response = staff_client.post(
        f"{ADMIN}/add/",
        {"tenant": tenant.pk, "url": URL, "description": "CRM", "event_types": ["tag.created"]},
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    secret = secret_decrypt(endpoint.secret)
    assert secret in response.content.decode()
    assert (endpoint.url, endpoint.event_types, endpoint.description) == (
        URL,
        ["tag.created"],
        "CRM",
    )
    assert endpoint.created_by.startswith("usr_")
    assert secret not in staff_client.get(f"{ADMIN}/{endpoint.pk}/change/").content.decode()


def test_add_refuses_what_the_api_refuses(staff_client, tenant):
    response = staff_client.post(f"{ADMIN}/add/", {"tenant": tenant.pk, "url": "https://10.0.0.1/"})
    assert response.status_code == 200
    assert "loopback, private, link-local" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_change_page_lists_recent_deliveries(staff_client, endpoint):
    WebhookDelivery.objects.create(
        tenant=endpoint.tenant,
        endpoint=endpoint,
        event_sequence=1,
        event_id="evt_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        event_type="contact.created",
        status="retrying",
        attempts=2,
        last_response_status=503,
        last_error="http_error",
        last_duration_ms=42,
    )
    page = staff_client.get(f"{ADMIN}/{endpoint.pk}/change/").content.decode()
    for text in ("contact.created", "retrying", "503", "http_error", "42 ms", "Retry"):
        assert text in page


def test_edit_goes_through_the_service(staff_client, endpoint):
    response = staff_client.post(
        f"{ADMIN}/{endpoint.pk}/change/",
        {"url": URL + "/v2", "description": "", "event_types": ["contact.deleted"]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types) == (URL + "/v2", ["contact.deleted"])


def test_test_rotate_disable_enable_and_retry(staff_client, endpoint):
    assert staff_client.post(f"{ADMIN}/{endpoint.pk}/test/").status_code == 302
    delivery = WebhookDelivery.objects.get(event_type="webhook.test")

    old = endpoint_signing_secrets(endpoint)[0]
    page = staff_client.post(f"{ADMIN}/{endpoint.pk}/rotate-secret/").content.decode()
    endpoint.refresh_from_db()
    new, previous = endpoint_signing_secrets(endpoint)
    assert new in page and previous == old

    staff_client.post(f"{ADMIN}/{endpoint.pk}/disable/")
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "manual")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == ("failed", "endpoint_disabled")
    staff_client.post(f"{ADMIN}/{endpoint.pk}/enable/")
    endpoint.refresh_from_db()
    assert endpoint.enabled

    response = staff_client.post(f"{ADMIN}/{endpoint.pk}/deliveries/{delivery.pk}/retry/")
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending"


def test_actions_need_post_and_an_endpoint_of_the_users_tenant(staff_client, other_tenant):
    theirs = endpoint_create(tenant=other_tenant, url=URL, created_by="system")[0]
    assert staff_client.get(f"{ADMIN}/{theirs.pk}/rotate-secret/").status_code == 405
    assert staff_client.post(f"{ADMIN}/{theirs.pk}/disable/").status_code == 403
    theirs.refresh_from_db()
    assert theirs.enabled
