"""`manage.py createapikey --tenant acme [--role agent] [--scopes all] [--name ops]`.

Prints only the token on stdout so scripts can capture it.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug
from django.db import transaction

from flownally_admin.tenancy.scopes import Role, parse_scopes
from flownally_admin.tenancy.services import (
    api_key_create,
    service_account_get_or_create,
    tenant_get_or_create,
)


class Command(BaseCommand):
    help = "Create an API key (and its tenant and service account if missing); prints the token."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--role", default=Role.OWNER, choices=Role.values)
        parser.add_argument("--scopes", default="all", help="'all' or scope,scope,…")
        parser.add_argument("--name", default="default", help="service account name")

    def handle(self, *args, tenant, role, scopes, name, **options):
        try:
            validate_slug(tenant)
            scope_list = parse_scopes(scopes)
        except (ValueError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        with transaction.atomic():
            tenant_obj = tenant_get_or_create(slug=tenant)
            account = service_account_get_or_create(tenant=tenant_obj, name=name)
            _, token = api_key_create(service_account=account, role=role, scopes=scope_list)
        self.stdout.write(token)
