from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from flownally_admin.api.serializers import RequestSerializer, StrictCharField, name_schema

from ..models import TAG_NAME_MAX_LENGTH
from ..representation import tag_data


class TagSerializer(serializers.Serializer):
    """Documents the shape; `tag_data` builds it (also for events)."""

    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    createdBy = serializers.CharField(
        source="created_by", read_only=True, help_text="`usr_…`, `svc_…` or `system`."
    )

    def to_representation(self, tag) -> dict:
        return tag_data(tag)


# The body of a `list` action, not one item of it: keep drf-spectacular from wrapping it
# in an array.
@extend_schema_serializer(many=False)
class TagsResponseSerializer(serializers.Serializer):
    tags = TagSerializer(many=True)
    nextPageToken = serializers.CharField(required=False, help_text="Absent on the last page.")


@extend_schema_field(name_schema(TAG_NAME_MAX_LENGTH))
class TagNameField(StrictCharField):
    """Checked by tags.services (the admin's door too); the schema states the same rule."""

    default_error_messages = {"blank": "A tag name is required."}


class CreateTagRequestSerializer(RequestSerializer):
    name = TagNameField(
        trim_whitespace=False,
        help_text="1–64 characters after trimming; unique per workspace, ignoring case.",
    )
