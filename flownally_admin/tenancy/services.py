"""Writes for tenants, service accounts and API keys."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from flownally_admin.errors import Conflict, ValidationFailed

from .models import (
    TOKEN_DISPLAY_PREFIX_LENGTH,
    ApiKey,
    ServiceAccount,
    Tenant,
    generate_token,
    hash_token,
)
from .scopes import ALL_SCOPES, Role


def tenant_get_or_create(*, slug: str, name: str | None = None) -> Tenant:
    tenant, _ = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return tenant


def service_account_get_or_create(*, tenant: Tenant, name: str) -> ServiceAccount:
    account, _ = ServiceAccount.objects.get_or_create(tenant=tenant, name=name)
    return account


class ServiceAccountExists(Conflict):
    code = "service_account_exists"


def service_account_validate(
    *, tenant: Tenant, name: str | None, account_id: str | None = None
) -> str:
    """The trimmed name, if a service account of the tenant may carry it; the admin form asks
    this too. The database constraint still decides races."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.single("name", "required", "A service account name is required.")
    max_length = ServiceAccount._meta.get_field("name").max_length
    if len(name) > max_length:
        raise ValidationFailed.single(
            "name", "too_long", f"A service account name has at most {max_length} characters."
        )
    clash = ServiceAccount.objects.filter(tenant=tenant, name=name).exclude(pk=account_id)
    if clash.exists():
        raise ServiceAccountExists(f"A service account named '{name}' already exists.")
    return name


def service_account_create(*, tenant: Tenant, name: str) -> ServiceAccount:
    name = service_account_validate(tenant=tenant, name=name)
    try:
        # The savepoint keeps a caller's transaction usable after a lost race.
        with transaction.atomic():
            return ServiceAccount.objects.create(tenant=tenant, name=name)
    except IntegrityError:
        raise ServiceAccountExists(f"A service account named '{name}' already exists.") from None


def service_account_rename(*, account: ServiceAccount, name: str) -> ServiceAccount:
    account.name = service_account_validate(tenant=account.tenant, name=name, account_id=account.pk)
    try:
        with transaction.atomic():
            account.save(update_fields=["name"])
    except IntegrityError:
        raise ServiceAccountExists(
            f"A service account named '{account.name}' already exists."
        ) from None
    return account


def api_key_create(
    *,
    service_account: ServiceAccount,
    role: str = Role.AGENT,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its token; the token is never retrievable again."""
    scopes = list(ALL_SCOPES) if scopes is None else scopes
    unknown = set(scopes) - set(ALL_SCOPES)
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(sorted(unknown))}")
    token = generate_token()
    key = ApiKey.objects.create(
        tenant_id=service_account.tenant_id,
        service_account=service_account,
        role=Role(role),
        scopes=scopes,
        token_hash=hash_token(token),
        token_prefix=token[:TOKEN_DISPLAY_PREFIX_LENGTH],
        expires_at=expires_at,
    )
    return key, token


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_touch(*, key: ApiKey) -> None:
    """Record use, at most once per resolution window so reads do not each cost a write."""
    now = timezone.now()
    window = timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_SECONDS)
    if key.last_used_at is not None and now - key.last_used_at < window:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
