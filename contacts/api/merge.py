"""Contract §11 over the API: a contact's likely duplicates, and merging contacts."""

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from flownally_admin.api.idempotency import OPENAPI_SCHEMA as IDEMPOTENCY_KEY_SCHEMA
from flownally_admin.api.idempotency import run_idempotently
from flownally_admin.api.schema import problem_responses
from flownally_admin.api.serializers import RequestSerializer, StrictCharField, text_schema
from flownally_admin.api.views import ApiViewSet

from ..merging import MERGE_SOURCES_MAX, contact_duplicates, contact_merge
from ..selectors import contact_definitions
from .serializers import ContactSerializer
from .views import BODY_PROBLEMS, CONTACT_ID


class DuplicateSerializer(serializers.Serializer):
    contact = ContactSerializer()
    matchedOn = serializers.ListField(
        child=serializers.ChoiceField(choices=["email", "phone"]),
        help_text="What the two contacts share: an e-mail, a phone, or both.",
    )


@extend_schema_serializer(many=False)
class DuplicatesResponseSerializer(serializers.Serializer):
    duplicates = DuplicateSerializer(many=True)


@extend_schema_field(
    {
        "type": "array",
        "items": text_schema(blank=False),
        "minItems": 1,
        "maxItems": MERGE_SOURCES_MAX,
        "uniqueItems": True,
    }
)
class _SourceIdsField(serializers.ListField):
    """1–MERGE_SOURCES_MAX distinct contact ids: `contacts.merging` refuses others
    (`out_of_range`, `invalid`); the schema states the rule."""

    def __init__(self, **kwargs):
        super().__init__(child=StrictCharField(), **kwargs)


class MergePickRequestSerializer(RequestSerializer):
    name = StrictCharField(required=False, help_text="The contact whose name the result takes.")
    customFields = serializers.DictField(
        child=StrictCharField(),
        required=False,
        help_text="`{definition id: contact id}`: whose value (or lack of one) the result takes.",
    )


class MergeContactRequestSerializer(RequestSerializer):
    sourceIds = _SourceIdsField(
        help_text=f"1–{MERGE_SOURCES_MAX} contacts to fold into this one; they are deleted.",
    )
    preview = serializers.BooleanField(
        required=False, default=False, help_text="Answer the result and write nothing."
    )
    pick = MergePickRequestSerializer(required=False)


@extend_schema(tags=["Contacts"])
class ContactMergeViewSet(ApiViewSet):
    required_scopes = {
        "duplicates": "contact:read",
        "merge": ("contact:update", "contact:delete"),
    }

    @extend_schema(
        operation_id="getContactDuplicates",
        summary="Find a contact's likely duplicates",
        description="Live contacts sharing a normalised e-mail (`cf_email` or an `email` "
        "identity) or phone (`cf_phone` or a `whatsapp`/`sms` identity) with this one; at "
        "most 50, oldest first.",
        parameters=[CONTACT_ID],
        responses={
            200: DuplicatesResponseSerializer,
            **problem_responses("contact_not_found", "method_not_allowed"),
        },
    )
    def duplicates(self, request, id):
        definitions = contact_definitions(tenant=self.tenant)
        found = contact_duplicates(tenant=self.tenant, contact_id=id)
        return Response(
            {
                "duplicates": [
                    {
                        "contact": ContactSerializer(
                            d.contact, context={"definitions": definitions}
                        ).data,
                        "matchedOn": d.matched_on,
                    }
                    for d in found
                ]
            }
        )

    @extend_schema(
        operation_id="mergeContacts",
        summary="Merge contacts into this one",
        description="Needs both `contact:update` and `contact:delete`. The sources' "
        "identities move here, tags become the union, the name and each custom field are "
        "this contact's unless empty here (then the first source's that has one) or unless "
        "`pick` names the contact to take it from; the sources are deleted, and a GET of one "
        "answers 404 with `mergedInto`. With `preview` nothing is written. Send `If-Match` "
        "with this contact's ETag to refuse a merge into a contact that changed.",
        parameters=[
            CONTACT_ID,
            OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, description="An ETag."),
            OpenApiParameter("Idempotency-Key", IDEMPOTENCY_KEY_SCHEMA, OpenApiParameter.HEADER),
        ],
        request=MergeContactRequestSerializer,
        responses={
            200: ContactSerializer,
            **problem_responses(
                *BODY_PROBLEMS,
                "contact_not_found",
                "empty_contact",
                "merge_conflict",
                "precondition_failed",
                "idempotency_key_reused",
                "method_not_allowed",
            ),
        },
    )
    def merge(self, request, id):
        def perform():
            payload = MergeContactRequestSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            data = payload.validated_data
            pick = data.get("pick", {})
            contact = contact_merge(
                tenant=self.tenant,
                target_id=id,
                source_ids=data["sourceIds"],
                pick_name=pick.get("name"),
                pick_custom_fields=pick.get("customFields"),
                preview=data["preview"],
                if_match=request.headers.get("If-Match"),
            )
            body = ContactSerializer(
                contact, context={"definitions": contact_definitions(tenant=self.tenant)}
            ).data
            return Response(body, headers={"ETag": contact.etag})

        return run_idempotently(request, tenant=self.tenant, perform=perform)
