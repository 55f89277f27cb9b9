"""Writes for webhook endpoints from the API and the admin; the rules on them live here."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.context import current_origin
from events.models import EventCounter
from events.types import EventType, actor_type
from flownally_admin.errors import ValidationFailed, ViolationCollector
from flownally_admin.ids import id_floor, new_id
from flownally_admin.tenancy.models import Tenant
from flownally_admin.timestamps import rfc3339

from .addresses import webhook_url_validate
from .crypto import secret_decrypt, secret_encrypt, secret_generate
from .models import (
    DESCRIPTION_MAX_LENGTH,
    OPEN_STATUSES,
    DeliveryStatus,
    DisabledReason,
    WebhookDelivery,
    WebhookEndpoint,
)
from .selectors import delivery_get, endpoint_get

# The old secret keeps signing beside the new one this long after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)
# The type of the ping sent by "test": not an event of the log (no other endpoint or
# feed reader sees it), so not one of events.types.
WEBHOOK_TEST = "webhook.test"

_UNSET = object()


def event_types_validate(value, *, collector: ViolationCollector) -> list[str]:
    """Known event types, each once, in the order given; [] means every type."""
    if not isinstance(value, list | tuple):
        collector.add("eventTypes", "invalid", "eventTypes must be a list of event types.")
        return []
    known = set(EventType.values)
    for index, event_type in enumerate(value):
        if event_type not in known:
            collector.add(
                f"eventTypes[{index}]",
                "invalid_choice",
                f"{event_type!r} is not an event type; use one of {', '.join(EventType.values)}.",
            )
    return list(dict.fromkeys(t for t in value if t in known))


def _description_validate(value, *, collector: ViolationCollector) -> str:
    description = (value or "").strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        collector.add(
            "description",
            "too_long",
            f"A description has at most {DESCRIPTION_MAX_LENGTH} characters.",
        )
    return description


def _url_validate(value, *, collector: ViolationCollector) -> str:
    try:
        return webhook_url_validate(value)
    except ValidationFailed as exc:  # reported with the other members' problems
        collector.violations.extend(exc.violations)
        return ""


def _last_sequence(tenant_id: str) -> int:
    """The tenant's last committed event sequence: an endpoint subscribing now gets the
    events after it."""
    last = EventCounter.objects.filter(tenant_id=tenant_id).values_list("last_sequence", flat=True)
    return last.first() or 0


def endpoint_create(
    *,
    tenant: Tenant,
    url: str,
    created_by: str,
    event_types: list[str] = (),
    description: str = "",
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its signing secret: the one time the secret leaves this module
    other than in a signature."""
    collector = ViolationCollector()
    url = _url_validate(url, collector=collector)
    event_types = event_types_validate(list(event_types), collector=collector)
    description = _description_validate(description, collector=collector)
    collector.raise_if_any()
    secret = secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=url,
        event_types=event_types,
        description=description,
        secret=secret_encrypt(secret),
        subscribed_after=_last_sequence(tenant.pk),
        created_by=created_by,
    )
    return endpoint, secret


def endpoint_update(
    *,
    tenant: Tenant,
    endpoint_id: str,
    url=_UNSET,
    event_types=_UNSET,
    description=_UNSET,
    enabled=_UNSET,
) -> WebhookEndpoint:
    """Change the members given. Enabling subscribes the endpoint to the events from now
    on (what happened while it was disabled is not sent); disabling fails what was still
    to be sent."""
    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    collector = ViolationCollector()
    if url is not _UNSET:
        endpoint.url = _url_validate(url, collector=collector)
    if event_types is not _UNSET:
        endpoint.event_types = event_types_validate(event_types, collector=collector)
    if description is not _UNSET:
        endpoint.description = _description_validate(description, collector=collector)
    collector.raise_if_any()
    with transaction.atomic():
        endpoint.save(update_fields=["url", "event_types", "description"])
        if enabled is True and not endpoint.enabled:
            endpoint_enable(endpoint=endpoint)
        elif enabled is False and endpoint.enabled:
            endpoint_disable(endpoint=endpoint, reason=DisabledReason.MANUAL)
    return endpoint


def endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, "", None
    endpoint.subscribed_after = _last_sequence(endpoint.tenant_id)
    endpoint.save(update_fields=["enabled", "disabled_reason", "failing_since", "subscribed_after"])


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> None:
    """Disable the endpoint and fail its deliveries still to be sent (a retry resends one).

    The fan-out locks the endpoints it reads (webhooks/dispatch.py), so once this
    commits no new delivery is made for the endpoint.
    """
    with transaction.atomic():
        # The endpoint's row before its deliveries', in the order the workers take them.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason=reason)
        endpoint.enabled, endpoint.disabled_reason = False, reason
        WebhookDelivery.objects.filter(endpoint=endpoint, status__in=OPEN_STATUSES).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="endpoint_disabled"
        )


def endpoint_delete(*, tenant: Tenant, endpoint_id: str) -> None:
    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    with transaction.atomic():
        # The endpoint's row before its deliveries', in the order the workers take them.
        WebhookEndpoint.objects.select_for_update(no_key=True).filter(pk=endpoint.pk).first()
        endpoint.delete()


def endpoint_secret_rotate(*, tenant: Tenant, endpoint_id: str) -> str:
    """A new signing secret; the current one signs beside it for ROTATION_OVERLAP."""
    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    secret = secret_generate()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    endpoint.secret = secret_encrypt(secret)
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return secret


def endpoint_signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets that sign its deliveries now: the current one, and the previous one
    during the overlap after a rotation."""
    secrets = [secret_decrypt(endpoint.secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > timezone.now():
        secrets.append(secret_decrypt(endpoint.previous_secret))
    return secrets


def endpoint_test(*, tenant: Tenant, endpoint_id: str) -> WebhookDelivery:
    """Send the endpoint a `webhook.test` event now, enabled or not."""
    from .dispatch import deliver_soon  # dispatch builds on this module

    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    origin = current_origin()
    now = timezone.now()
    event_id = new_id("evt")
    document = {
        "id": event_id,
        "sequence": None,
        "type": WEBHOOK_TEST,
        "occurredAt": rfc3339(now),
        "actor": {"type": actor_type(origin.actor_id), "id": origin.actor_id},
        "source": origin.source,
        "traceId": origin.trace_id or None,
        "data": {"webhookId": endpoint.pk},
    }
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            tenant=tenant,
            endpoint=endpoint,
            event_id=event_id,
            event_type=WEBHOOK_TEST,
            payload=document,
            created_at=now,
            next_attempt_at=now,
        )
        deliver_soon(endpoint.pk)
    return delivery


def delivery_retry(*, tenant: Tenant, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
    """Send a delivery again now, whatever became of it; its attempts keep counting."""
    from .dispatch import deliver_soon  # dispatch builds on this module

    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    delivery = delivery_get(endpoint=endpoint, delivery_id=delivery_id)
    delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, timezone.now()
    with transaction.atomic():
        delivery.save(update_fields=["status", "next_attempt_at"])
        deliver_soon(endpoint.pk)
    return delivery


PURGE_BATCH = 5000


def webhook_deliveries_purge_expired() -> int:
    """Delete finished deliveries (succeeded, failed) made more than
    WEBHOOK_DELIVERIES_RETENTION_DAYS ago, in short transactions; returns how many went.

    Delivery ids sort by creation, so "made before the cutoff" is a range of the primary
    key, with no index of its own. Deliveries still to be attempted are never deleted.
    """
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERIES_RETENTION_DAYS)
    expired = WebhookDelivery.objects.filter(
        pk__lt=id_floor("dlv", cutoff),
        status__in=[DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED],
    )
    deleted = 0
    while batch := list(expired.order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH]):
        deleted += WebhookDelivery.objects.filter(pk__in=batch).delete()[0]
    return deleted
