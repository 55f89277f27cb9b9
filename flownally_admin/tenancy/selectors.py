"""Reads for tenancy: resolving a bearer token, and the tenants a staff user may see."""

from django.db.models import QuerySet

from .models import ApiKey, Tenant, hash_token


def api_key_get_by_token(*, token: str) -> ApiKey | None:
    """The key for a presented token (usable or not), or None."""
    try:
        return ApiKey.objects.select_related("tenant").get(token_hash=hash_token(token))
    except ApiKey.DoesNotExist:
        return None


def tenant_list_for_user(*, user, roles: tuple[str, ...] | None = None) -> QuerySet[Tenant]:
    """Tenants a staff user may see (a superuser: all), optionally only where they hold `roles`."""
    if user.is_superuser:
        return Tenant.objects.all()
    memberships = {"memberships__user": user}
    if roles is not None:
        memberships["memberships__role__in"] = roles
    return Tenant.objects.filter(**memberships).distinct()
