from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from customfields.types import VALUE_TYPES
from flownally_admin.api.serializers import (
    BoundedListField,
    RequestSerializer,
    StrictCharField,
    text_schema,
)

from ..models import Channel
from ..representation import contact_data, import_status_data
from ..selectors import (
    IMPORT_ERRORS_SHOWN,
    contact_import_first_errors,
)
from ..validation import (
    EXTERNAL_ID_MAX_LENGTH,
    MAX_CUSTOM_FIELD_VALUES,
    MAX_IDENTITIES,
    MAX_TAG_IDS,
)


class IdentitySerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    channel = serializers.ChoiceField(choices=Channel.values, read_only=True)
    externalId = serializers.CharField(source="external_id", read_only=True)
    metadata = serializers.DictField(read_only=True)


class TagRefSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


@extend_schema_field({"anyOf": [value_type.openapi for value_type in VALUE_TYPES.values()]})
class CustomFieldValueField(serializers.CharField):
    """A stored value, as the registry says each type looks in the API."""


class CustomFieldValueSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    type = serializers.ChoiceField(choices=list(VALUE_TYPES), read_only=True)
    value = CustomFieldValueField(read_only=True)


class ContactSerializer(serializers.Serializer):
    """A contact: its profile, channel identities, tags and custom-field values."""

    # Reads a contact from `contact_queryset`, with `definitions` (live contact-field
    # definitions in display order) in the context. The fields document the shape for
    # OpenAPI; `to_representation` builds it by hand, because a page of 50 contacts
    # through the generic field machinery cost more CPU than the database spent finding
    # them. The Schemathesis test holds the two together.

    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True, allow_null=True, max_length=255)
    identities = IdentitySerializer(many=True, read_only=True)
    tags = TagRefSerializer(many=True, read_only=True)
    customFields = CustomFieldValueSerializer(many=True, read_only=True)
    archived = serializers.BooleanField(read_only=True)
    archivedAt = serializers.DateTimeField(read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(read_only=True)
    updatedAt = serializers.DateTimeField(read_only=True)

    def to_representation(self, contact) -> dict:
        return contact_data(contact, self.context["definitions"])


# The body of a `list` action, not one item of it: keep drf-spectacular from wrapping it
# in an array.
@extend_schema_serializer(many=False)
class ContactsResponseSerializer(serializers.Serializer):
    contacts = ContactSerializer(many=True)
    nextPageToken = serializers.CharField(required=False, help_text="Absent on the last page.")


class CountResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()


@extend_schema_field({"type": "string", "enum": Channel.values})
class ChannelField(StrictCharField):
    """A channel name; which names exist is the validation module's call (one rule)."""


@extend_schema_field({"type": "object", "additionalProperties": True})
class MetadataField(serializers.JSONField):
    """Any JSON here; contacts/validation.py insists on an object of at most 4 KiB."""


@extend_schema_field({**text_schema(blank=False), "maxLength": EXTERNAL_ID_MAX_LENGTH})
class ExternalIdField(StrictCharField):
    """Checked by contacts.validation, whose rule (and code for "") depends on the channel;
    the schema states the part common to every channel."""

    blank_refused_later = True


class IdentityInputSerializer(RequestSerializer):
    channel = ChannelField()
    externalId = ExternalIdField(
        trim_whitespace=False,
        allow_blank=True,
        help_text="E.164 for whatsapp/sms (spaces, dashes and brackets are accepted), an "
        "address for email, an opaque id (1–255 characters) otherwise.",
    )
    metadata = MetadataField(required=False, help_text="A JSON object, at most 4 KiB.")


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "maxProperties": MAX_CUSTOM_FIELD_VALUES,
    }
)
class CustomFieldValuesField(serializers.DictField):
    """`{definition id: value}`, at most MAX_CUSTOM_FIELD_VALUES members (`out_of_range`)."""

    default_error_messages = {"max_items": f"At most {MAX_CUSTOM_FIELD_VALUES} members."}

    def __init__(self, **kwargs):
        super().__init__(child=StrictCharField(trim_whitespace=False, allow_blank=True), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, dict) and len(data) > MAX_CUSTOM_FIELD_VALUES:
            self.fail("max_items")
        return super().to_internal_value(data)


class _ContactMembers(RequestSerializer):
    identities = BoundedListField(
        child=IdentityInputSerializer(), max_length=MAX_IDENTITIES, required=False
    )
    tagIds = BoundedListField(child=StrictCharField(), max_length=MAX_TAG_IDS, required=False)
    customFields = CustomFieldValuesField(
        required=False, help_text="`{definition id: value}`; an empty string clears the value."
    )

    def to_service_kwargs(self) -> dict:
        data = self.validated_data
        renames = {"tagIds": "tag_ids", "customFields": "custom_fields"}
        return {renames.get(member, member): value for member, value in data.items()}


class CreateContactRequestSerializer(_ContactMembers):
    name = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        help_text="At most 255 characters after trimming.",
    )


class UpdateContactRequestSerializer(_ContactMembers):
    name = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        help_text="null or an empty string clears the name.",
    )


class SetContactCustomFieldValueRequestSerializer(RequestSerializer):
    value = StrictCharField(
        trim_whitespace=False, allow_blank=True, help_text="An empty string clears the value."
    )


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1-based data row; the header is row 0.")
    column = serializers.SerializerMethodField()
    code = serializers.CharField()
    message = serializers.CharField()
    value = serializers.CharField(help_text="The offending cell, at most 200 characters.")

    @extend_schema_field({"type": "string", "nullable": True})
    def get_column(self, error) -> str | None:
        return error.column or None


class ImportFailureSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ImportStatusSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    fileName = serializers.CharField(source="file_name")
    mode = serializers.CharField()
    dryRun = serializers.BooleanField(source="dry_run")
    totalRows = serializers.IntegerField(source="total_rows", allow_null=True)
    processedRows = serializers.IntegerField(source="processed_rows")
    createdCount = serializers.IntegerField(source="created_count")
    updatedCount = serializers.IntegerField(source="updated_count")
    skippedCount = serializers.IntegerField(source="skipped_count")
    failedCount = serializers.IntegerField(source="failed_count")
    possibleDuplicates = serializers.IntegerField(
        source="possible_duplicates",
        help_text="How many contacts this import created share an e-mail or phone with "
        "another live contact of the tenant under the other key (e.g. created by e-mail "
        "while a WhatsApp identity of another contact has its phone); 0 for dry runs.",
    )
    ignoredColumns = serializers.ListField(source="ignored_columns", child=serializers.CharField())
    errors = serializers.SerializerMethodField()
    errorsTruncated = serializers.SerializerMethodField()
    failure = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    @extend_schema_field(ImportErrorSerializer(many=True))
    def get_errors(self, imp) -> list[dict]:
        # Built by hand (ImportErrorSerializer documents the shape): up to a thousand on
        # every poll of a running import.
        return [
            {**error, "column": error["column"] or None}
            for error in contact_import_first_errors(contact_import=imp)
        ]

    def get_errorsTruncated(self, imp) -> bool:
        return imp.error_count > IMPORT_ERRORS_SHOWN

    @extend_schema_field(ImportFailureSerializer(allow_null=True))
    def get_failure(self, imp) -> dict | None:
        return import_status_data(imp)["failure"]

    def to_representation(self, imp) -> dict:
        return {
            **import_status_data(imp),
            "errors": self.get_errors(imp),
            "errorsTruncated": self.get_errorsTruncated(imp),
        }
