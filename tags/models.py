from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from flownally_admin.ids import PrefixedIdField
from flownally_admin.tenancy.models import Tenant

TAG_NAME_MAX_LENGTH = 64


class Tag(models.Model):
    """A label on contacts; names are unique per tenant regardless of case."""

    id = PrefixedIdField(prefix="tag")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=TAG_NAME_MAX_LENGTH)
    created_by = models.CharField(max_length=40, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            # Also the index behind listing (tenant, lower(name)) in name order.
            models.UniqueConstraint("tenant", Lower("name"), name="uniq_tag_name_per_tenant_ci"),
        ]

    def __str__(self):
        return self.name
