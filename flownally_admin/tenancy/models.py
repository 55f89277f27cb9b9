"""Tenants (workspaces), the people and machines that act in them, and API keys."""

import hashlib
import secrets
import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from flownally_admin.ids import PrefixedIdField

from .scopes import Role

TOKEN_PREFIX = "fln_live_"  # noqa: S105 (a public marker, not a secret)
# Shown in the admin to tell keys apart; far too short to guess the rest from.
TOKEN_DISPLAY_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6


class User(AbstractUser):
    """A staff user of the admin; `usr_…` ids so `createdBy` can name them."""

    id = PrefixedIdField(prefix="usr")


class Tenant(models.Model):
    id = PrefixedIdField(prefix="tn")
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # A new random value with every change to the tenant's custom-field definitions, so
    # each process may keep the definitions it read until the version it sees moves on.
    # Random, not a counter: a counter's value reused after a rolled-back change would
    # bring back what was cached under it.
    custom_fields_version = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.name or self.slug


class Membership(models.Model):
    """A staff user's role in one tenant; the admin scopes everything through these."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="uniq_membership_user_tenant")
        ]

    def __str__(self):
        return f"{self.user} in {self.tenant} ({self.role})"


class ServiceAccount(models.Model):
    """A machine identity inside a tenant; API keys belong to it."""

    id = PrefixedIdField(prefix="svc")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="service_accounts")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_service_account_name")
        ]

    def __str__(self):
        return f"{self.name} ({self.tenant.slug})"


def hash_token(token: str) -> str:
    """SHA-256 of the token.

    Tokens carry 256 bits of randomness, so a fast hash is safe here (there is
    nothing to brute-force) and keeps authentication a single indexed lookup.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiKey(models.Model):
    id = PrefixedIdField(prefix="key")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    service_account = models.ForeignKey(
        ServiceAccount, on_delete=models.CASCADE, related_name="api_keys"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    scopes = models.JSONField(default=list)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"

    def __str__(self):
        return f"{self.token_prefix}… ({self.service_account.name})"

    def is_usable(self, at=None) -> bool:
        at = at or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > at
