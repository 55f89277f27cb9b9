from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from flownally_admin.tenancy.models import Tenant

from .types import TYPE_CHOICES

NAME_MAX_LENGTH = 64


class EntityType(models.TextChoices):
    CONTACT = "contact", "Contact"
    PROPERTY = "property", "Property"


class CustomFieldDefinition(models.Model):
    """A typed field that contacts (or property records) can carry a value for.

    `public_id` is the API id: `cf_<ULID>`, or the fixed `cf_email` / `cf_phone`
    of the predefined fields that every tenant has; that is why it is unique per
    tenant rather than the primary key. A deleted definition keeps its row (with
    `deleted_at`) until the background purge has removed its values.
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="custom_field_definitions"
    )
    public_id = models.CharField("id", max_length=40, editable=False)
    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    type = models.CharField(max_length=16, choices=TYPE_CHOICES)
    predefined = models.BooleanField(default=False, editable=False)
    created_by = models.CharField(max_length=40, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "custom field definition"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "public_id"], name="uniq_custom_field_public_id"
            ),
            models.UniqueConstraint(
                "tenant",
                "entity_type",
                Lower("name"),
                condition=models.Q(deleted_at__isnull=True),
                name="uniq_custom_field_name_ci",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.type})"
