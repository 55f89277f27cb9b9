"""Reads for tags, always inside one tenant."""

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower

from flownally_admin.errors import NotFound
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant

from .models import Tag


class TagNotFound(NotFound):
    code = "tag_not_found"
    default_detail = "No such tag."


def tag_list(*, tenant: Tenant) -> QuerySet[Tag]:
    """Tags of the tenant, annotated with `name_key` (the case-insensitive sort key)."""
    return Tag.objects.filter(tenant=tenant).annotate(name_key=Lower("name"))


def tag_get(*, tenant: Tenant, tag_id: str) -> Tag:
    tag = (
        Tag.objects.filter(tenant=tenant, pk=tag_id).first() if is_valid_id(tag_id, "tag") else None
    )
    if tag is None:
        raise TagNotFound(f"No tag with id '{tag_id}'.")
    return tag


# Soft-deleted contacts keep their tag links (a restore brings them back) but are not counted.
_LIVE_CONTACT_LINKS = Q(contact_links__contact__deleted_at__isnull=True)


def tag_list_with_contact_counts(*, tags: QuerySet[Tag]) -> QuerySet[Tag]:
    """`tags` annotated with `contact_count`, the number of live contacts carrying each tag.

    A correlated subquery rather than a grouped Count: it is computed for the rows
    shown (over the (tag, contact) index) and a COUNT(*) of the list can leave it out,
    where grouping would aggregate every tag of the tenant on each page view.
    """
    per_tag = (
        Tag.objects.filter(_LIVE_CONTACT_LINKS, pk=OuterRef("pk"))
        .values("pk")
        .annotate(count=Count("contact_links"))
        .values("count")
    )
    return tags.annotate(contact_count=Coalesce(Subquery(per_tag, output_field=IntegerField()), 0))


def tag_contact_count(*, tags: QuerySet[Tag]) -> int:
    """How many live contacts carry at least one of `tags`: those deleting the tags untags."""
    return Tag.objects.filter(pk__in=tags.values("pk")).aggregate(
        count=Count("contact_links__contact", distinct=True, filter=_LIVE_CONTACT_LINKS)
    )["count"]
