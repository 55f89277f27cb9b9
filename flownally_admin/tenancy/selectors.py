"""Reads for tenancy: resolving a bearer token, the tenants a staff user may see, and the
names of the actors that objects and events record by id."""

from collections.abc import Iterable

from django.db.models import QuerySet

from events.types import SYSTEM_ACTOR

from .models import ApiKey, ServiceAccount, Tenant, User, hash_token


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


def actor_names(*, actor_ids: Iterable[str]) -> dict[str, str]:
    """A name for each actor id (`created_by`, an event's actor): a staff user's full name
    or username, a service account's name, "System". One query per kind of actor, however
    many ids, so a page of rows costs the same as one row. An id whose actor is gone is
    its own name."""
    ids = set(actor_ids)
    names = {actor_id: actor_id for actor_id in ids}
    users = [actor_id for actor_id in ids if actor_id.startswith("usr_")]
    if users:
        for user in User.objects.filter(pk__in=users).only("username", "first_name", "last_name"):
            names[user.pk] = user.get_full_name() or user.get_username()
    accounts = [actor_id for actor_id in ids if actor_id.startswith("svc_")]
    if accounts:
        names.update(ServiceAccount.objects.filter(pk__in=accounts).values_list("pk", "name"))
    if SYSTEM_ACTOR in ids:
        names[SYSTEM_ACTOR] = "System"
    return names
