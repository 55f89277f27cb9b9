from django.db import models
from django.utils import timezone

from flownally_admin.tenancy.models import Tenant


class IdempotencyRecord(models.Model):
    """The first successful response to an `Idempotency-Key`, replayed for 24 hours."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    # The response headers a replay repeats (Location, ETag).
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="uniq_idempotency_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_by_age")]

    def __str__(self):
        return f"{self.key} ({self.tenant_id})"
