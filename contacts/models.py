from django.db import models
from django.utils import timezone

from flownally_admin.ids import PrefixedIdField
from flownally_admin.tenancy.models import Tenant


class Contact(models.Model):
    """A customer profile.

    `custom_fields` holds the values of custom fields as `{definition id: value}`
    with values already normalised by `customfields.types`; on PostgreSQL it is
    JSONB with a `jsonb_path_ops` GIN index for exact-match filters (`@>`).
    """

    id = PrefixedIdField(prefix="ctc")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="contacts")
    # "" is "no name"; the API shows it as null.
    name = models.CharField(max_length=255, blank=True, default="")
    custom_fields = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=40, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self):
        return self.name or self.id
