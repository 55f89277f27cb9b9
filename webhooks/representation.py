"""Endpoints and deliveries as the API shows them."""

from flownally_admin.timestamps import rfc3339

from .models import WebhookDelivery, WebhookEndpoint


def endpoint_data(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "eventTypes": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "disabledReason": endpoint.disabled_reason or None,
        "createdAt": rfc3339(endpoint.created_at),
        "createdBy": endpoint.created_by,
    }


def delivery_data(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.pk,
        "eventId": delivery.event_id,
        "eventType": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "lastAttemptAt": rfc3339(delivery.last_attempt_at),
        "nextAttemptAt": rfc3339(delivery.next_attempt_at),
        "lastResponseStatus": delivery.last_response_status,
        "lastError": delivery.last_error or None,
    }
