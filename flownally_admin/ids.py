"""Prefixed ULID identifiers (`ctc_01J…`, `tag_01J…`).

The prefix tells a reader what an id points at; the ULID body sorts by
creation time, which keeps primary-key indexes append-mostly.
"""

import re

from django.db import models
from ulid import ULID

ULID_LENGTH = 26
_ULID_BODY = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def new_id(prefix: str) -> str:
    return f"{prefix}_{ULID()}"


def is_valid_id(value: str, prefix: str) -> bool:
    """Whether `value` could be an id of this kind; anything else is simply "not found".

    Checking the shape first keeps junk (NUL bytes, megabyte strings) away from the database.
    """
    head, sep, body = value.partition("_")
    return head == prefix and sep == "_" and _ULID_BODY.fullmatch(body) is not None


class PrefixedIdField(models.CharField):
    """A CharField primary key whose default is a fresh `<prefix>_<ULID>`."""

    def __init__(self, *args, prefix: str, **kwargs):
        self.prefix = prefix
        kwargs.setdefault("max_length", len(prefix) + 1 + ULID_LENGTH)
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        return name, path, args, kwargs

    def db_type(self, connection):
        # Django gives every varchar key a second `varchar_pattern_ops` index for LIKE
        # queries; ids are only ever matched exactly, so spelling the type this way
        # skips that index (and its cost on every insert) on PostgreSQL.
        if connection.vendor == "postgresql":
            return f"character varying({self.max_length})"
        return super().db_type(connection)

    def get_default(self):
        return new_id(self.prefix)

    def has_default(self):
        return True
