"""Reads for tags, always inside one tenant."""

from django.db.models import QuerySet
from django.db.models.functions import Lower

from flownally_admin.errors import NotFound
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant

from .models import Tag


class TagNotFound(NotFound):
    code = "tag_not_found"
    default_detail = "No such tag."


def tag_list(*, tenant: Tenant, search: str | None = None) -> QuerySet[Tag]:
    """Tags of the tenant, annotated with `name_key` (the case-insensitive sort key)."""
    tags = Tag.objects.filter(tenant=tenant).annotate(name_key=Lower("name"))
    if search:
        tags = tags.filter(name__icontains=search)
    return tags


def tag_get(*, tenant: Tenant, tag_id: str) -> Tag:
    tag = (
        Tag.objects.filter(tenant=tenant, pk=tag_id).first() if is_valid_id(tag_id, "tag") else None
    )
    if tag is None:
        raise TagNotFound(f"No tag with id '{tag_id}'.")
    return tag
