from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from flownally_admin.api.serializers import RequestSerializer, StrictCharField, name_schema

from ..models import NAME_MAX_LENGTH, EntityType
from ..representation import custom_field_data
from ..types import VALUE_TYPES


@extend_schema_field({"type": "string", "enum": list(VALUE_TYPES)})
class ValueTypeField(StrictCharField):
    """A value type name; which names exist is the registry's (and the service's) call."""


class CustomFieldDefinitionSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", read_only=True)
    name = serializers.CharField(read_only=True)
    type = serializers.ChoiceField(choices=list(VALUE_TYPES), read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    createdBy = serializers.CharField(
        source="created_by", read_only=True, help_text="`usr_…`, `svc_…` or `system`."
    )
    predefined = serializers.BooleanField(read_only=True)
    entityType = serializers.ChoiceField(
        source="entity_type", choices=EntityType.values, read_only=True
    )

    def to_representation(self, definition) -> dict:
        return custom_field_data(definition)


# The body of a `list` action, not one item of it: keep drf-spectacular from wrapping it
# in an array.
@extend_schema_serializer(many=False)
class CustomFieldDefinitionsResponseSerializer(serializers.Serializer):
    customFields = CustomFieldDefinitionSerializer(many=True)


@extend_schema_field(name_schema(NAME_MAX_LENGTH))
class DefinitionNameField(StrictCharField):
    """Checked by customfields.services (the admin's door too); the schema states the rule."""

    default_error_messages = {"blank": "A name is required."}


class CreateCustomFieldDefinitionRequestSerializer(RequestSerializer):
    name = DefinitionNameField(
        trim_whitespace=False,
        help_text="1–64 characters after trimming; unique per resource type, ignoring case.",
    )
    type = ValueTypeField()


class UpdateCustomFieldDefinitionRequestSerializer(RequestSerializer):
    openapi_body_bounds = {"minProperties": 1}

    name = DefinitionNameField(trim_whitespace=False, required=False)
    type = ValueTypeField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                serializers.ErrorDetail("Send name, type or both.", code="required")
            )
        return attrs
