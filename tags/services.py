"""Writes for tags. The rules on tag names live here and only here."""

from django.db import IntegrityError, transaction

from flownally_admin.errors import Conflict, ValidationFailed
from flownally_admin.tenancy.models import Tenant

from .models import TAG_NAME_MAX_LENGTH, Tag
from .selectors import tag_get, tag_list


class TagExists(Conflict):
    code = "tag_exists"


def tag_name_normalize(name: str | None, *, field: str = "name") -> str:
    """Trim, and insist on 1–64 characters."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.single(field, "required", "A tag name is required.")
    if len(name) > TAG_NAME_MAX_LENGTH:
        raise ValidationFailed.single(
            field, "too_long", f"A tag name has at most {TAG_NAME_MAX_LENGTH} characters."
        )
    return name


def tag_validate(*, tenant: Tenant, name: str | None, tag_id: str | None = None) -> str:
    """The normalised name, if a tag of the tenant may carry it; the admin form asks this too.

    The uniqueness check here gives a friendly early answer; the database
    constraint still decides races.
    """
    name = tag_name_normalize(name)
    clash = tag_list(tenant=tenant).filter(name_key=name.lower()).exclude(pk=tag_id)
    if clash.exists():
        raise TagExists(f"A tag named '{name}' already exists.")
    return name


def tag_create(*, tenant: Tenant, name: str, created_by: str) -> Tag:
    name = tag_validate(tenant=tenant, name=name)
    try:
        # The savepoint keeps a caller's transaction usable after a lost race.
        with transaction.atomic():
            return Tag.objects.create(tenant=tenant, name=name, created_by=created_by)
    except IntegrityError:
        raise TagExists(f"A tag named '{name}' already exists.") from None


def tag_rename(*, tenant: Tenant, tag_id: str, name: str) -> Tag:
    tag = tag_get(tenant=tenant, tag_id=tag_id)
    tag.name = tag_validate(tenant=tenant, name=name, tag_id=tag.pk)
    try:
        with transaction.atomic():
            tag.save(update_fields=["name"])
    except IntegrityError:
        raise TagExists(f"A tag named '{tag.name}' already exists.") from None
    return tag


def tag_delete(*, tenant: Tenant, tag_id: str) -> None:
    """Delete the tag; its assignments go with it (database cascade)."""
    tag = tag_get(tenant=tenant, tag_id=tag_id)
    tag.delete()
