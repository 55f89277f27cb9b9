from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from ..representation import event_data
from ..types import ACTOR_TYPES, EventType, Source


class ActorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ACTOR_TYPES)
    id = serializers.CharField(help_text="`usr_…`, `svc_…` or `system`.")


class EventSerializer(serializers.Serializer):
    """Documents the shape; `event_data` builds it."""

    id = serializers.CharField(help_text="`evt_…`")
    sequence = serializers.IntegerField(help_text="Strictly increasing per workspace.")
    type = serializers.ChoiceField(choices=EventType.values)
    occurredAt = serializers.DateTimeField()
    actor = ActorSerializer()
    source = serializers.ChoiceField(choices=Source.values)
    traceId = serializers.CharField(allow_null=True, help_text="The request's traceparent.")
    data = serializers.DictField(
        help_text="By type: `{contact}`, `{contact, changes}`, `{contactId, mergedInto}`, "
        "`{contactId, importId}` (contacts written by an import), `{tag}`, `{tagId}`, "
        "`{customField}`, `{customField, changes}`, `{customFieldId}`, `{import}`."
    )

    def to_representation(self, event) -> dict:
        return event_data(event)


@extend_schema_serializer(many=False)
class EventFeedSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    nextAfter = serializers.IntegerField(
        help_text="The last sequence returned (or `after` when none): the next call's `after`."
    )


@extend_schema_serializer(many=False)
class EventHistorySerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    nextPageToken = serializers.CharField(required=False, help_text="Absent on the last page.")
