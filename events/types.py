"""The event types of the contract: what changed, named `<resource>.<change>`."""

from django.db import models


class EventType(models.TextChoices):
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_ARCHIVED = "contact.archived"
    CONTACT_UNARCHIVED = "contact.unarchived"
    CONTACT_DELETED = "contact.deleted"
    CONTACT_RESTORED = "contact.restored"
    CONTACT_MERGED = "contact.merged"
    TAG_CREATED = "tag.created"
    TAG_DELETED = "tag.deleted"
    CUSTOM_FIELD_CREATED = "custom_field.created"
    CUSTOM_FIELD_UPDATED = "custom_field.updated"
    CUSTOM_FIELD_DELETED = "custom_field.deleted"
    IMPORT_COMPLETED = "import.completed"
    IMPORT_FAILED = "import.failed"
    EXPORT_COMPLETED = "export.completed"
    EXPORT_FAILED = "export.failed"


class Source(models.TextChoices):
    API = "api"
    ADMIN = "admin"
    IMPORT = "import"
    SYSTEM = "system"


SYSTEM_ACTOR = "system"
ACTOR_TYPES = ("user", "service_account", "system")


def actor_type(actor_id: str) -> str:
    """`user`, `service_account` or `system`, read off the id's prefix."""
    if actor_id.startswith("usr_"):
        return "user"
    if actor_id.startswith("svc_"):
        return "service_account"
    return "system"
