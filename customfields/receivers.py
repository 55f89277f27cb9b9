from django.db.models.signals import post_save
from django.dispatch import receiver

from flownally_admin.tenancy.models import Tenant

from .services import custom_field_predefined_ensure


@receiver(post_save, sender=Tenant, dispatch_uid="customfields.predefined_for_new_tenant")
def give_new_tenant_predefined_fields(sender, instance, created, raw=False, **kwargs):
    """Every way a tenant comes to be (service, admin, shell) gives it Email and Phone."""
    if created and not raw:
        custom_field_predefined_ensure(tenant=instance)
