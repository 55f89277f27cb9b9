"""Contact exports: a background job that writes a CSV of the contacts that matched a
filter when it started, kept in storage until it expires."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from flownally_admin.ids import PrefixedIdField
from flownally_admin.tenancy.models import Tenant


class ExportStatus(models.TextChoices):
    """The same states as an import's."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ContactExport(models.Model):
    """One export job: what to export, how far it got, and where its file is.

    `filters` holds the request's filter members as checked (the list's FilterSet reads
    them again in the worker); `contact_ids`, when set, names the contacts instead (the
    admin's "selected rows"). A worker holds a lease while it writes, as imports do; an
    export whose lease lapses is run again from the start, up to `EXPORT_MAX_ATTEMPTS`.
    """

    id = PrefixedIdField(prefix="exp")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="contact_exports")
    created_by = models.CharField(max_length=40, editable=False)
    source = models.CharField(max_length=8, default="api", editable=False)  # the door: api, admin
    filters = models.JSONField(default=dict, blank=True)
    contact_ids = models.JSONField(null=True, blank=True)
    columns = models.JSONField(default=list)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    total_rows = models.IntegerField(null=True, blank=True)
    processed_rows = models.IntegerField(default=0)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    file_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    failure_code = models.CharField(max_length=32, blank=True, default="")
    failure_message = models.CharField(max_length=500, blank=True, default="")
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="contact_export_recent"),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status__in=["queued", "running"]),
                name="contact_export_unfinished",
            ),
            models.Index(
                fields=["expires_at"], condition=~Q(file_path=""), name="contact_export_stored"
            ),
        ]

    def __str__(self):
        return f"{self.pk} ({self.status})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()
