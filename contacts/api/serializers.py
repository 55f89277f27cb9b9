from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from flownally_admin.api.serializers import RequestSerializer, StrictCharField

from ..models import Channel


class IdentitySerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    channel = serializers.ChoiceField(choices=Channel.values, read_only=True)
    externalId = serializers.CharField(source="external_id", read_only=True)
    metadata = serializers.DictField(read_only=True)


class TagRefSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class CustomFieldValueSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)
    value = serializers.CharField(read_only=True)


class ContactSerializer(serializers.Serializer):
    """A contact. Needs `definitions` (live contact-field definitions by name) in its context."""

    id = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()
    identities = IdentitySerializer(many=True, read_only=True)
    tags = TagRefSerializer(many=True, read_only=True)
    customFields = serializers.SerializerMethodField()
    archived = serializers.BooleanField(read_only=True)
    archivedAt = serializers.DateTimeField(source="archived_at", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    @extend_schema_field({"type": "string", "nullable": True, "maxLength": 255})
    def get_name(self, contact) -> str | None:
        return contact.name or None

    @extend_schema_field(CustomFieldValueSerializer(many=True))
    def get_customFields(self, contact) -> list[dict]:
        values = contact.custom_fields
        return [
            {"id": d.public_id, "name": d.name, "type": d.type, "value": values[d.public_id]}
            for d in self.context["definitions"]
            if d.public_id in values
        ]


class ContactsResponseSerializer(serializers.Serializer):
    contacts = ContactSerializer(many=True)
    nextPageToken = serializers.CharField(required=False, help_text="Absent on the last page.")


class CountResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class IdentityInputSerializer(RequestSerializer):
    channel = StrictCharField(help_text=", ".join(Channel.values))
    externalId = StrictCharField(
        trim_whitespace=False,
        allow_blank=True,
        help_text="E.164 for whatsapp/sms (spaces, dashes and brackets are accepted), an "
        "address for email, an opaque id (1–255 characters) otherwise.",
    )
    metadata = serializers.JSONField(required=False, help_text="A JSON object, at most 4 KiB.")


class _ContactMembers(RequestSerializer):
    identities = serializers.ListField(child=IdentityInputSerializer(), required=False)
    tagIds = serializers.ListField(child=StrictCharField(), required=False)
    customFields = serializers.DictField(
        child=StrictCharField(trim_whitespace=False, allow_blank=True),
        required=False,
        help_text="`{definition id: value}`; an empty string clears the value.",
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
