"""The query parameters of `GET /v1/events` (contract §8) as a FilterSet."""

import re

from django.core.exceptions import ValidationError

from flownally_admin.api.filters import ApiFilter, ApiFilterSet, ListFilter, ParameterField
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant

from .models import Event
from .selectors import event_list
from .types import EventType

_DIGITS = re.compile(r"[0-9]+")
# Sequences are PostgreSQL bigints.
_MAX_SEQUENCE = 2**63 - 1


class _SequenceField(ParameterField):
    def parse(self, value):
        if _DIGITS.fullmatch(value) is None or len(value) > 19 or int(value) > _MAX_SEQUENCE:
            raise ValidationError(
                "%(parameter)s must be a sequence: a non-negative integer.", code="invalid"
            )
        return int(value)


class AfterFilter(ApiFilter):
    """Events with a greater sequence than this one."""

    field_class = _SequenceField
    schema = {"type": "integer", "minimum": 0, "maximum": _MAX_SEQUENCE}

    def filter(self, qs, value):
        return qs.filter(sequence__gt=value)


class _ContactIdField(ParameterField):
    def parse(self, value):
        if not is_valid_id(value, "ctc"):
            raise ValidationError("%(parameter)s must be a contact id (ctc_…).", code="invalid")
        return value


class ContactIdFilter(ApiFilter):
    """That contact's events, deleted and merged contacts' included; an id of no contact
    of the workspace matches nothing."""

    field_class = _ContactIdField
    schema = {"type": "string", "pattern": "^ctc_[0-9A-HJKMNP-TV-Z]{26}$"}

    def filter(self, qs, value):
        return qs if value is None else qs.filter(contact_id=value)


class TypesFilter(ListFilter):
    def filter(self, qs, value):
        return qs.filter(type__in=value) if value else qs


class EventFilterSet(ApiFilterSet):
    """Over the tenant's events; the feed orders and limits them (`event_feed`)."""

    after = AfterFilter(default=0, help_text="A `sequence`: the events after it (exclusive).")
    types = TypesFilter(
        choices=EventType.values, help_text="Event types, repeated or comma-separated (OR)."
    )
    contactId = ContactIdFilter(help_text="One contact's events (`ctc_…`).")

    class Meta:
        model = Event
        fields = []

    def __init__(self, data, *, tenant: Tenant):
        super().__init__(data, queryset=event_list(tenant=tenant))
