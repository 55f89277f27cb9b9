"""Timestamps as every document of the API spells them."""

from datetime import datetime


def rfc3339(value: datetime | None) -> str | None:
    """ISO 8601 / RFC 3339 with `Z` for UTC, as DRF writes an aware UTC datetime."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
