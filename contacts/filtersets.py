"""The query parameters of `GET /v1/contacts`, parsed and checked (contract §3, op 1).

Written by hand rather than with django-filter: the contract's deepObject
`customFields[<id>]`, its repeat-or-comma lists and its exact violation codes
are easier to state directly than to bend a FilterSet into.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.http import QueryDict

from flownally_admin.api.views import search_term
from flownally_admin.errors import ValidationFailed, ViolationCollector

from .models import Channel

ORDER_FIELDS = {"createdAt": "created_at", "updatedAt": "updated_at", "name": "name_key"}
_CUSTOM_FIELD_PARAM = re.compile(r"customFields\[(?P<id>[^\]]*)\]")


@dataclass(frozen=True)
class ContactFilters:
    archived: bool = False
    search: str | None = None
    # {definition id: (its value type, the value to match)}
    custom_fields: dict[str, tuple[str, str]] = field(default_factory=dict)
    tag_ids: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    order_by: str = "createdAt"
    descending: bool = True

    def fingerprint(self) -> dict:
        """What a page token is bound to."""
        return {
            "archived": self.archived,
            "search": self.search,
            "customFields": sorted(self.custom_fields.items()),
            "tagIds": sorted(self.tag_ids),
            "channels": sorted(self.channels),
            "createdAfter": self.created_after,
            "createdBefore": self.created_before,
            "orderBy": self.order_by,
            "descending": self.descending,
        }


def parse_archived(params: QueryDict, errors: ViolationCollector) -> bool:
    """Tri-state `archived`: omitted or `false` → active contacts, `true` → archived ones."""
    raw = params.get("archived")
    if raw in (None, "", "false"):
        return False
    if raw == "true":
        return True
    errors.add("archived", "invalid", "archived must be true or false.")
    return False


def parse_contact_filters(params: QueryDict, *, definitions) -> ContactFilters:
    """Every filter of the list operation; raises ValidationFailed naming each bad parameter.

    `definitions`: the live contact-field definitions (any other id is unknown).
    """
    errors = ViolationCollector()
    filters = ContactFilters(
        archived=parse_archived(params, errors),
        search=_search(params, errors),
        custom_fields=_custom_fields(params, {d.public_id: d.type for d in definitions}, errors),
        tag_ids=tuple(_list(params, "tagIds")),
        channels=_channels(params, errors),
        created_after=_timestamp(params, "createdAfter", errors),
        created_before=_timestamp(params, "createdBefore", errors),
        order_by=_choice(params, "orderBy", tuple(ORDER_FIELDS), "createdAt", errors),
        descending=_choice(params, "orderDirection", ("asc", "desc"), "desc", errors) == "desc",
    )
    errors.raise_if_any()
    return filters


def _list(params: QueryDict, name: str) -> list[str]:
    """Repeatable (`a=1&a=2`) or comma-separated (`a=1,2`), blanks dropped, order kept."""
    values = []
    for raw in params.getlist(name):
        for part in raw.split(","):
            part = part.strip()
            if part and part not in values:
                values.append(part)
    return values


def _search(params: QueryDict, errors: ViolationCollector) -> str | None:
    try:
        return search_term(params.get("search"))
    except ValidationFailed as exc:
        errors.violations += exc.violations
        return None


def _custom_fields(params: QueryDict, types: dict[str, str], errors: ViolationCollector) -> dict:
    custom_fields = {}
    for name in params:
        match = _CUSTOM_FIELD_PARAM.fullmatch(name)
        if match is None:
            continue
        definition_id = match["id"]
        if definition_id not in types:
            errors.add(
                name, "unknown_custom_field", f"No contact custom field '{definition_id[:64]}'."
            )
            continue
        custom_fields[definition_id] = (types[definition_id], params.get(name))
    return custom_fields


def _channels(params: QueryDict, errors: ViolationCollector) -> tuple[str, ...]:
    channels = _list(params, "channels")
    unknown = [c for c in channels if c not in Channel.values]
    if unknown:
        errors.add(
            "channels", "invalid_choice", f"channels must be among: {', '.join(Channel.values)}."
        )
    return tuple(c for c in channels if c in Channel.values)


def _timestamp(params: QueryDict, name: str, errors: ViolationCollector) -> datetime | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or "T" not in raw.upper():
        errors.add(name, "invalid", f"{name} must be an RFC 3339 timestamp with a time zone.")
        return None
    return value


def _choice(params: QueryDict, name: str, choices: tuple, default: str, errors) -> str:
    raw = params.get(name) or default
    if raw not in choices:
        errors.add(name, "invalid_choice", f"{name} must be one of: {', '.join(choices)}.")
        return default
    return raw
