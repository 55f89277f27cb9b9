from django.db import models
from django.utils import timezone

from flownally_admin.ids import PrefixedIdField
from flownally_admin.tenancy.models import Tenant

URL_MAX_LENGTH = 2048
DESCRIPTION_MAX_LENGTH = 255


class DisabledReason(models.TextChoices):
    MANUAL = "manual"
    GONE = "gone"  # the receiver answered 410
    FAILING = "failing"  # every delivery failed for WEBHOOK_FAILING_DAYS days


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    FAILED = "failed"


# Deliveries a worker still has to attempt.
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class WebhookEndpoint(models.Model):
    """A URL of the tenant's that is sent the events it subscribes to.

    `subscribed_after` is the tenant's last event sequence when the endpoint was
    created or last enabled: it is sent the events after that one. `secret` and
    `previous_secret` are Fernet tokens (webhooks/crypto.py), never the secrets.
    """

    id = PrefixedIdField(prefix="whk")
    # Indexed with `id` below, for listing.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints", db_index=False
    )
    url = models.CharField(max_length=URL_MAX_LENGTH)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="")
    event_types = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(
        max_length=8, choices=DisabledReason.choices, blank=True, default=""
    )
    subscribed_after = models.BigIntegerField(default=0, editable=False)
    secret = models.TextField(editable=False)
    previous_secret = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the first of an unbroken run of failed attempts was made; None after a success.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.CharField(max_length=40, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "webhook endpoint"
        indexes = [models.Index(fields=["tenant", "id"], name="webhook_endpoint_by_tenant")]

    def __str__(self):
        return self.url


class WebhookFanOut(models.Model):
    """How far the tenant's event log has been turned into deliveries.

    Its row is also the lock that lets one fan-out of the tenant run at a time.
    """

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_sequence = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.tenant_id}: {self.last_sequence}"


class WebhookDelivery(models.Model):
    """One event for one endpoint, and how sending it went.

    An event of the log is referred to by its sequence (at most one delivery per
    endpoint and event); a test ping has no sequence and carries its document in
    `payload`. `next_attempt_at` is when a worker should next try: a worker that
    takes a delivery moves it a lease ahead, so one that dies leaves it due again.
    """

    id = PrefixedIdField(prefix="dlv")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    # Indexed by the constraint and indexes below, which all start with it.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event_sequence = models.BigIntegerField(null=True, blank=True)
    event_id = models.CharField(max_length=30)
    event_type = models.CharField(max_length=32)
    payload = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=9, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=32, blank=True, default="")
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_sequence"], name="uniq_delivery_per_endpoint_event"
            ),
        ]
        indexes = [
            # An endpoint's deliveries, newest first (ids sort by creation).
            models.Index(fields=["endpoint", "id"], name="delivery_by_endpoint"),
            # What is due, per endpoint and overall (the sweep).
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="delivery_open_by_endpoint",
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="delivery_open_due",
            ),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
