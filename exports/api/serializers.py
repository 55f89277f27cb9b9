from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.models import Channel
from contacts.validation import MAX_TAG_IDS
from flownally_admin.api.filters import SEARCH_MAX_LENGTH, TIMESTAMP_SCHEMA
from flownally_admin.api.serializers import (
    BoundedListField,
    RequestSerializer,
    StrictBooleanField,
    StrictCharField,
    text_schema,
)

# Every column of a tenant with the most custom fields a contact can hold, with room.
MAX_COLUMNS = 300


def _text(**kwargs):
    """Text checked, after its JSON type, by the list's FilterSet (its rules and codes)."""
    return StrictCharField(required=False, allow_blank=True, trim_whitespace=False, **kwargs)


@extend_schema_field(TIMESTAMP_SCHEMA)
class _Timestamp(StrictCharField):
    blank_refused_later = True  # by the list's FilterSet (`invalid`)


@extend_schema_field(
    {
        "type": "array",
        "items": text_schema(blank=False),
        "minItems": 1,
        "maxItems": MAX_COLUMNS,
        "uniqueItems": True,
    }
)
class _ColumnsField(BoundedListField):
    """Header names: `exports.columns` refuses an empty list and repeats (`invalid`), and
    names that are no column (`invalid_choice`); the schema states what it can of that."""

    def __init__(self, **kwargs):
        super().__init__(child=StrictCharField(), max_length=MAX_COLUMNS, **kwargs)


class ExportContactsRequestSerializer(RequestSerializer):
    """The list's filters (`GET /v1/contacts`) as members, and the columns to write."""

    search = _text(max_length=SEARCH_MAX_LENGTH)
    customFields = serializers.DictField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="{definitionId: value}: exact match on the stored value; ANDed.",
    )
    tagIds = BoundedListField(
        child=StrictCharField(), max_length=MAX_TAG_IDS, required=False, help_text="Any of (OR)."
    )
    channels = BoundedListField(
        child=serializers.ChoiceField(choices=Channel.values),
        max_length=len(Channel.values),
        required=False,
        help_text="Contacts with an identity on any of them (OR).",
    )
    archived = StrictBooleanField(
        required=False, help_text="Omitted or false: active contacts; true: archived ones."
    )
    createdAfter = _Timestamp(required=False, allow_blank=True, trim_whitespace=False)
    createdBefore = _Timestamp(required=False, allow_blank=True, trim_whitespace=False)
    updatedAfter = _Timestamp(required=False, allow_blank=True, trim_whitespace=False)
    updatedBefore = _Timestamp(required=False, allow_blank=True, trim_whitespace=False)
    columns = _ColumnsField(
        required=False,
        help_text="Header names to write, in this order; all of them by default.",
    )


class ExportAcceptedSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()


class ExportFailureSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ExportStatusSerializer(serializers.Serializer):
    """Documents the shape; `export_status_data` builds it."""

    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["queued", "running", "completed", "failed"])
    totalRows = serializers.IntegerField(allow_null=True)
    processedRows = serializers.IntegerField()
    sizeBytes = serializers.IntegerField(allow_null=True)
    failure = ExportFailureSerializer(allow_null=True)
    createdAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField(allow_null=True)
    finishedAt = serializers.DateTimeField(allow_null=True)
    expiresAt = serializers.DateTimeField(allow_null=True)
