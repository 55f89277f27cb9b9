"""Reads of webhook endpoints and deliveries, always inside one tenant."""

from django.db.models import F, Q, QuerySet

from flownally_admin.errors import NotFound
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant

from .models import DisabledReason, WebhookDelivery, WebhookEndpoint


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    default_detail = "No such webhook endpoint."


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    default_detail = "No such delivery of this webhook endpoint."


def endpoint_list(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(tenant=tenant).order_by("id")


def endpoint_list_failing(*, tenant_ids: list[str] | None) -> QuerySet[WebhookEndpoint]:
    """Endpoints of these tenants (None: of every tenant) whose receiver is failing: enabled
    with an unbroken run of failed attempts, or disabled for failing or answering 410 (not
    those an admin disabled). Longest failing first, with their tenant."""
    endpoints = WebhookEndpoint.objects.filter(
        Q(enabled=True, failing_since__isnull=False)
        | Q(enabled=False, disabled_reason__in=[DisabledReason.FAILING, DisabledReason.GONE])
    )
    if tenant_ids is not None:
        endpoints = endpoints.filter(tenant_id__in=tenant_ids)
    return endpoints.select_related("tenant").order_by(
        F("failing_since").asc(nulls_last=True), "id"
    )


def endpoint_get(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    endpoint = (
        endpoint_list(tenant=tenant).filter(pk=endpoint_id).first()
        if is_valid_id(endpoint_id, "whk")
        else None
    )
    if endpoint is None:
        raise WebhookNotFound(f"No webhook endpoint with id '{endpoint_id}'.")
    return endpoint


def delivery_list(*, endpoint: WebhookEndpoint, status: str | None = None) -> QuerySet:
    """The endpoint's deliveries (newest first is the caller's ordering)."""
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries


def delivery_get(*, endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
    delivery = (
        delivery_list(endpoint=endpoint).filter(pk=delivery_id).first()
        if is_valid_id(delivery_id, "dlv")
        else None
    )
    if delivery is None:
        raise DeliveryNotFound(f"No delivery with id '{delivery_id}' for this endpoint.")
    return delivery
