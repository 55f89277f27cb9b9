"""Prepare the embedded demo for `make run`: a tenant, an admin login and an API key.

Safe to run again: the demo password and API key are replaced (the previous
demo key is revoked), since neither can be shown a second time.
"""

import os
import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from flownally_admin.tenancy.models import ApiKey, Membership, User
from flownally_admin.tenancy.scopes import Role
from flownally_admin.tenancy.services import (
    api_key_create,
    api_key_revoke,
    service_account_get_or_create,
    tenant_get_or_create,
)

DEMO_TENANT = "demo"
DEMO_USERNAME = "admin"
DEMO_SERVICE_ACCOUNT = "demo"


class Command(BaseCommand):
    help = "Create or refresh the demo tenant, admin login and API key, and print them."

    def handle(self, *args, **options):
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            tenant = tenant_get_or_create(slug=DEMO_TENANT, name="Demo workspace")
            user, _ = User.objects.get_or_create(username=DEMO_USERNAME)
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            Membership.objects.get_or_create(
                user=user, tenant=tenant, defaults={"role": Role.OWNER}
            )
            account = service_account_get_or_create(tenant=tenant, name=DEMO_SERVICE_ACCOUNT)
            for old_key in ApiKey.objects.filter(service_account=account, revoked_at=None):
                api_key_revoke(key=old_key)
            _, token = api_key_create(service_account=account, role=Role.OWNER)
        base = "http://" + os.environ.get("FLOWNALLY_BIND", "127.0.0.1:8000")
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Flownally Contacts is starting.",
                    f"  Admin:    {base}/admin/   user: {DEMO_USERNAME}   password: {password}",
                    f"  API key:  {token}",
                    f"  API docs: {base}/v1/docs",
                    f'  Try:      curl -H "Authorization: Bearer {token}" {base}/v1/tags',
                    "",
                ]
            )
        )
