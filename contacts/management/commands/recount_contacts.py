"""`manage.py recount_contacts [--tenant slug]`: rebuild the contact counts from the rows.

Counts are kept by the services as they write; this is for after a manual
data repair (or a bulk load that bypassed the services).
"""

from django.core.management.base import BaseCommand, CommandError

from contacts.selectors import contact_count
from contacts.services import contact_count_rebuild
from flownally_admin.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Recount live contacts (active and archived) per tenant."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="tenant slug (default: every tenant)")

    def handle(self, *args, tenant=None, **options):
        tenants = Tenant.objects.all()
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant with slug {tenant!r}.")
        for each in tenants.iterator():
            contact_count_rebuild(tenant=each)
            active = contact_count(tenant=each, archived=False)
            archived = contact_count(tenant=each, archived=True)
            self.stdout.write(f"{each.slug}: {active} active, {archived} archived")
