"""Writes for tags. The rules on tag names live here and only here."""

from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction

from events.services import NewEvent, event_record, events_record
from events.types import EventType
from flownally_admin.errors import Conflict, ValidationFailed
from flownally_admin.tenancy.models import Tenant

from .models import TAG_NAME_MAX_LENGTH, Tag
from .representation import tag_data
from .selectors import TagNotFound, tag_get, tag_list


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
            tag = Tag.objects.create(tenant=tenant, name=name, created_by=created_by)
            event_record(tenant=tenant, type=EventType.TAG_CREATED, data={"tag": tag_data(tag)})
            return tag
    except IntegrityError:
        raise TagExists(f"A tag named '{name}' already exists.") from None


def tags_ensure(*, tenant: Tenant, names: Iterable[str], created_by: str) -> dict[str, str]:
    """The ids of the tags with these names, by lower-cased name; missing ones are created.

    For writers that name tags rather than pick them (an import's `tags` column). Names
    are unique per tenant regardless of case, and the database decides races: where a
    concurrent writer creates the same name first, its tag is the one returned.
    """
    wanted: dict[str, str] = {}
    for name in names:
        name = tag_name_normalize(name)
        wanted.setdefault(name.lower(), name)
    if not wanted:
        return {}

    def existing() -> dict[str, str]:
        tags = tag_list(tenant=tenant).filter(name_key__in=list(wanted))
        return dict(tags.values_list("name_key", "pk"))

    found = existing()
    missing = [name for key, name in wanted.items() if key not in found]
    if missing:
        new = [Tag(tenant=tenant, name=name, created_by=created_by) for name in missing]
        with transaction.atomic():
            Tag.objects.bulk_create(new, ignore_conflicts=True)  # a concurrent creator wins
            found = existing()
            ours = set(found.values())
            events_record(
                tenant=tenant,
                events=[
                    NewEvent(EventType.TAG_CREATED, {"tag": tag_data(tag)})
                    for tag in new
                    if tag.pk in ours
                ],
            )
    return found


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
    """Delete the tag and its assignments.

    The tag's row is locked first, so that a transaction linking contacts to it
    (which holds it, see `tags_hold`) either commits before the links are deleted,
    or finds the tag gone.
    """
    tag = tag_get(tenant=tenant, tag_id=tag_id)
    with transaction.atomic():
        if not list(Tag.objects.select_for_update().filter(pk=tag.pk).values_list("pk")):
            raise TagNotFound(f"No tag with id '{tag_id}'.")  # deleted meanwhile
        tag.delete()
        # Leaving its contacts is part of this event: no event per contact.
        event_record(tenant=tenant, type=EventType.TAG_DELETED, data={"tagId": tag_id})


def tags_hold(*, tag_ids: Iterable[str]) -> set[str]:
    """Those of `tag_ids` that exist, each held against deletion until COMMIT.

    A tag link (ContactTag.tag) has no database constraint: an import links
    100,000 contacts to a handful of tags, and the constraint's lookup per row
    was a seventh of its time. Whoever writes links takes instead, once per
    transaction and before writing them, the lock that constraint took per row
    (FOR KEY SHARE, which blocks a DELETE but no other writer), and `tag_delete`
    locks the tag before deleting its links.
    """
    tag_ids = list(set(tag_ids))
    if not tag_ids:
        return set()
    if connection.vendor != "postgresql":  # SQLite: one writer at a time already
        return set(Tag.objects.filter(pk__in=tag_ids).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tags_tag WHERE id = ANY(%s) FOR KEY SHARE", [tag_ids])
        return {tag_id for (tag_id,) in cursor.fetchall()}
