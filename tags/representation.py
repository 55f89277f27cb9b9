"""A tag as the API shows it: in answers and in the events that carry it."""

from flownally_admin.timestamps import rfc3339

from .models import Tag


def tag_data(tag: Tag) -> dict:
    return {
        "id": tag.pk,
        "name": tag.name,
        "createdAt": rfc3339(tag.created_at),
        "createdBy": tag.created_by,
    }
