"""Roles and scopes of the API contract (§1)."""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"


# Who may export contacts in the admin. A file of every contact is the workspace's
# customer list leaving the product, which is the owners' and admins' call; agents find
# and fix contacts one at a time, and the changelist already shows them every contact.
EXPORT_ROLES = (Role.OWNER, Role.ADMIN)


ALL_SCOPES: tuple[str, ...] = (
    "contact:list",
    "contact:read",
    "contact:create",
    "contact:update",
    "contact:delete",
    "contact:export",
    "tag:list",
    "tag:create",
    "tag:delete",
    "custom_field:list",
    "custom_field:create",
    "custom_field:update",
    "custom_field:delete",
    "event:list",
    "webhook:manage",
)


def parse_scopes(text: str) -> list[str]:
    """`all` or a comma-separated list of known scopes; raises ValueError naming unknown ones."""
    if text.strip() == "all":
        return list(ALL_SCOPES)
    scopes = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(unknown)}")
    if not scopes:
        raise ValueError("At least one scope is required.")
    return sorted(set(scopes), key=ALL_SCOPES.index)
