from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from events.types import EventType
from flownally_admin.api.serializers import (
    BoundedListField,
    RequestSerializer,
    StrictBooleanField,
    StrictCharField,
)

from ..models import DESCRIPTION_MAX_LENGTH, URL_MAX_LENGTH, DeliveryStatus, DisabledReason
from ..representation import delivery_data, endpoint_data

# Every event type, with room to spare for repeats (which are kept once).
EVENT_TYPES_MAX_ITEMS = 50


@extend_schema_field({"type": "string", "enum": EventType.values})
class EventTypeField(StrictCharField):
    """Checked by webhooks.services (the admin's door too); the schema lists the types."""


class WebhookEndpointSerializer(serializers.Serializer):
    """Documents the shape; `endpoint_data` builds it."""

    id = serializers.CharField(help_text="`whk_…`")
    url = serializers.CharField()
    description = serializers.CharField()
    eventTypes = serializers.ListField(
        child=EventTypeField(), help_text="The event types sent to it; empty means all."
    )
    enabled = serializers.BooleanField()
    disabledReason = serializers.ChoiceField(
        choices=DisabledReason.values,
        allow_null=True,
        help_text="`manual` (disabled by someone), `gone` (it answered 410) or `failing` "
        "(every delivery failed for 5 days); null while enabled.",
    )
    createdAt = serializers.DateTimeField()
    createdBy = serializers.CharField(help_text="`usr_…`, `svc_…` or `system`.")

    def to_representation(self, endpoint) -> dict:
        return endpoint_data(endpoint)


class CreatedWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        help_text="`whsec_…`: the signing secret. Shown in this answer only; keep it now."
    )

    def to_representation(self, created) -> dict:
        endpoint, secret = created
        return {**endpoint_data(endpoint), "secret": secret}


@extend_schema_serializer(many=False)
class WebhookEndpointsResponseSerializer(serializers.Serializer):
    webhooks = WebhookEndpointSerializer(many=True)


# The syntax part of webhooks.addresses' rule: https, a DNS host name (a literal IP address,
# IPv6 brackets, user info or an empty host fail one of its checks), an optional port
# 1–65535, and no white space or control characters. Stricter than the server in one way:
# a public literal address or a single-label host is accepted there but not stated here.
# What it cannot state is the address rule (a name ending in `.localhost`, and where a
# name resolves, which is checked again at each delivery): the help text says it.
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
WEBHOOK_URL_PATTERN = (
    rf"^https://(?:{_HOST_LABEL}\.)+[A-Za-z]{{2,63}}(?::{_PORT})?(?:[/?#][\x21-\x7e]*)?$"
)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": URL_MAX_LENGTH,
        "pattern": WEBHOOK_URL_PATTERN,
    }
)
class WebhookUrlField(StrictCharField):
    """Checked by webhooks.addresses (the admin's door too); the schema states its syntax.
    Not `allow_blank`: drf-spectacular would add `""` to the schema as an alternative."""

    default_error_messages = {"blank": "A URL is required."}


def _url_field(**kwargs):
    return WebhookUrlField(
        trim_whitespace=False,
        help_text=f"An absolute https:// URL of at most {URL_MAX_LENGTH} characters, without a "
        "user name or password, that does not point at a loopback, private, link-local, "
        "multicast or reserved address.",
        **kwargs,
    )


def _event_types_field():
    return BoundedListField(
        child=EventTypeField(),
        max_length=EVENT_TYPES_MAX_ITEMS,
        required=False,
        help_text="Event types to send; empty or absent means all.",
    )


def _description_field():
    return StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text=f"At most {DESCRIPTION_MAX_LENGTH} characters after trimming.",
    )


class CreateWebhookEndpointRequestSerializer(RequestSerializer):
    url = _url_field()
    eventTypes = _event_types_field()
    description = _description_field()


class UpdateWebhookEndpointRequestSerializer(RequestSerializer):
    openapi_body_bounds = {"minProperties": 1}

    url = _url_field(required=False)
    eventTypes = _event_types_field()
    description = _description_field()
    enabled = StrictBooleanField(
        required=False,
        help_text="false disables it (`manual`) and fails what it still had to be sent; "
        "true enables it for the events from now on.",
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                serializers.ErrorDetail(
                    "Send url, eventTypes, description or enabled.", code="required"
                )
            )
        return attrs


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="`whsec_…`: the new signing secret, shown once.")


class TestDeliverySerializer(serializers.Serializer):
    deliveryId = serializers.CharField(help_text="`dlv_…`")


class WebhookDeliverySerializer(serializers.Serializer):
    """Documents the shape; `delivery_data` builds it."""

    id = serializers.CharField(help_text="`dlv_…`")
    eventId = serializers.CharField(help_text="`evt_…`, also the `webhook-id` header.")
    eventType = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.values)
    attempts = serializers.IntegerField()
    lastAttemptAt = serializers.DateTimeField(allow_null=True)
    nextAttemptAt = serializers.DateTimeField(allow_null=True)
    lastResponseStatus = serializers.IntegerField(allow_null=True)
    lastError = serializers.CharField(
        allow_null=True,
        help_text="`timeout`, `connection_failed`, `blocked_address`, `invalid_response`, "
        "`redirect_not_followed`, `http_error`, `gone`, `event_expired` or "
        "`endpoint_disabled`; null after a success.",
    )

    def to_representation(self, delivery) -> dict:
        return delivery_data(delivery)


@extend_schema_serializer(many=False)
class WebhookDeliveriesResponseSerializer(serializers.Serializer):
    deliveries = WebhookDeliverySerializer(many=True)
    nextPageToken = serializers.CharField(required=False, help_text="Absent on the last page.")
