from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from flownally_admin.api.idempotency import OPENAPI_SCHEMA as IDEMPOTENCY_KEY_SCHEMA
from flownally_admin.api.idempotency import run_idempotently
from flownally_admin.api.pagination import paginate, parse_page_size
from flownally_admin.api.schema import BODY_PROBLEMS, page_parameters, problem_responses
from flownally_admin.api.views import ApiViewSet

from ..filtersets import ContactCountFilterSet, ContactFilterSet
from ..selectors import contact_count, contact_definitions, contact_get
from ..services import (
    contact_archive,
    contact_create,
    contact_delete,
    contact_set_custom_field,
    contact_tag_add,
    contact_tag_remove,
    contact_unarchive,
    contact_update,
)
from .serializers import (
    ContactSerializer,
    ContactsResponseSerializer,
    CountResponseSerializer,
    CreateContactRequestSerializer,
    SetContactCustomFieldValueRequestSerializer,
    UpdateContactRequestSerializer,
)

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200


def _path(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, description=description)


CONTACT_ID = _path("id", "`ctc_…`")
# `/contacts/{id}` shares its shape with `/contacts/count` and `/contacts/import`, so a
# method those do not take answers 405 there.
BY_ID_PROBLEMS = ("contact_not_found", "method_not_allowed")
CONTACT_ID_PARAM = _path("contactId", "`ctc_…`")


def _no_content(*problems: str, description: str | None = None) -> dict:
    """The responses of an action that answers 204 with no body."""
    success = OpenApiResponse(description=description) if description else None
    return {204: success, **problem_responses(*problems)}


@extend_schema(tags=["Contacts"])
class ContactViewSet(ApiViewSet):
    filterset_classes = {"list": ContactFilterSet, "count": ContactCountFilterSet}
    required_scopes = {
        "list": "contact:list",
        "count": "contact:list",
        "create": "contact:create",
        "retrieve": "contact:read",
        "partial_update": "contact:update",
        "destroy": "contact:delete",
        "archive": "contact:update",
        "unarchive": "contact:update",
        "set_custom_field": "contact:update",
        "tag": "contact:update",
        "untag": "contact:update",
    }

    def _run(self, service, **kwargs) -> Response:
        """The whole of an action that answers 204: the service, on the caller's tenant."""
        service(tenant=self.tenant, **kwargs)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _represent(self, contact, status_code=status.HTTP_200_OK, headers=None):
        data = ContactSerializer(
            contact, context={"definitions": contact_definitions(tenant=self.tenant)}
        ).data
        return Response(data, status=status_code, headers={"ETag": contact.etag, **(headers or {})})

    @extend_schema(
        operation_id="getContacts",
        summary="Get contacts",
        parameters=page_parameters(default=PAGE_SIZE_DEFAULT, maximum=PAGE_SIZE_MAX),
        responses={
            200: ContactsResponseSerializer,
            **problem_responses("validation_failed", "invalid_page_token"),
        },
    )
    def list(self, request):
        filters = self.filters(tenant=self.tenant)
        page = paginate(
            filters.qs,
            ordering=filters.ordering,
            page_size=parse_page_size(
                request.query_params.get("pageSize"),
                default=PAGE_SIZE_DEFAULT,
                maximum=PAGE_SIZE_MAX,
            ),
            page_token=request.query_params.get("pageToken"),
            bound_to={"tenant": self.tenant.pk, "resource": "contacts", **filters.fingerprint()},
            refine=filters.refinement,
        )
        definitions = contact_definitions(tenant=self.tenant)
        contacts = ContactSerializer(page.items, many=True, context={"definitions": definitions})
        body = {"contacts": contacts.data}
        if page.next_page_token:
            body["nextPageToken"] = page.next_page_token
        return Response(body)

    @extend_schema(
        operation_id="getContactsCount",
        summary="Count contacts",
        description="Contacts in the archived or the active bucket; list filters are ignored.",
        filters=True,
        responses={200: CountResponseSerializer, **problem_responses("validation_failed")},
    )
    def count(self, request):
        archived = self.filters().cleaned_data["archived"]
        return Response({"count": contact_count(tenant=self.tenant, archived=archived)})

    @extend_schema(
        operation_id="createContact",
        summary="Create contact",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                IDEMPOTENCY_KEY_SCHEMA,
                OpenApiParameter.HEADER,
                description="Retries with the same key and body return the first response.",
            )
        ],
        request=CreateContactRequestSerializer,
        responses={
            201: ContactSerializer,
            **problem_responses(
                *BODY_PROBLEMS, "empty_contact", "identity_conflict", "idempotency_key_reused"
            ),
        },
    )
    def create(self, request):
        def perform():
            payload = CreateContactRequestSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            contact = contact_create(
                tenant=self.tenant, created_by=self.actor_id, **payload.to_service_kwargs()
            )
            return self._represent(
                contact, status.HTTP_201_CREATED, {"Location": f"/v1/contacts/{contact.pk}"}
            )

        return run_idempotently(request, tenant=self.tenant, perform=perform)

    @extend_schema(
        operation_id="getContact",
        summary="Get contact by ID",
        parameters=[CONTACT_ID],
        responses={200: ContactSerializer, **problem_responses(*BY_ID_PROBLEMS)},
    )
    def retrieve(self, request, id):
        return self._represent(contact_get(tenant=self.tenant, contact_id=id))

    @extend_schema(
        operation_id="updateContact",
        summary="Update contact",
        description="Omitted members are unchanged; `identities` and `tagIds` replace the set; "
        "`customFields` merges. Send `If-Match` with the ETag to refuse lost updates.",
        parameters=[
            CONTACT_ID,
            OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, description="An ETag."),
        ],
        request=UpdateContactRequestSerializer,
        responses={
            200: ContactSerializer,
            **problem_responses(
                *BODY_PROBLEMS,
                "contact_not_found",
                "empty_contact",
                "identity_conflict",
                "precondition_failed",
                "method_not_allowed",
            ),
        },
    )
    def partial_update(self, request, id):
        payload = UpdateContactRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        contact = contact_update(
            tenant=self.tenant,
            contact_id=id,
            if_match=request.headers.get("If-Match"),
            **payload.to_service_kwargs(),
        )
        return self._represent(contact)

    @extend_schema(
        operation_id="deleteContact",
        summary="Delete contact",
        description="Soft delete: the contact disappears from the API; staff can restore it.",
        parameters=[CONTACT_ID],
        responses=_no_content(*BY_ID_PROBLEMS),
    )
    def destroy(self, request, id):
        return self._run(contact_delete, contact_id=id)

    @extend_schema(
        operation_id="archiveContact",
        summary="Archive contact",
        request=None,
        parameters=[CONTACT_ID],
        responses=_no_content("contact_not_found", "contact_already_archived"),
    )
    def archive(self, request, id):
        return self._run(contact_archive, contact_id=id)

    @extend_schema(
        operation_id="unarchiveContact",
        summary="Unarchive contact",
        request=None,
        parameters=[CONTACT_ID],
        responses=_no_content("contact_not_found", "contact_not_archived"),
    )
    def unarchive(self, request, id):
        return self._run(contact_unarchive, contact_id=id)

    @extend_schema(
        operation_id="setContactCustomFieldValue",
        summary="Set contact field value",
        parameters=[CONTACT_ID_PARAM, _path("customFieldId", "`cf_…`")],
        request=SetContactCustomFieldValueRequestSerializer,
        responses=_no_content(
            *BODY_PROBLEMS, "contact_not_found", "custom_field_not_found", "empty_contact"
        ),
    )
    def set_custom_field(self, request, contactId, customFieldId):
        payload = SetContactCustomFieldValueRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._run(
            contact_set_custom_field,
            contact_id=contactId,
            definition_id=customFieldId,
            value=payload.validated_data["value"],
        )

    @extend_schema(
        operation_id="tagContact",
        summary="Add tag to contact",
        request=None,
        parameters=[CONTACT_ID_PARAM, _path("tagId", "`tag_…`")],
        responses=_no_content(
            "contact_not_found", "tag_not_found", description="Tagged (also when it already was)."
        ),
    )
    def tag(self, request, contactId, tagId):
        return self._run(contact_tag_add, contact_id=contactId, tag_id=tagId)

    @extend_schema(
        operation_id="untagContact",
        summary="Remove tag from contact",
        parameters=[CONTACT_ID_PARAM, _path("tagId", "`tag_…`")],
        responses=_no_content(
            "contact_not_found",
            "tag_not_found",
            description="Untagged (also when it was not tagged).",
        ),
    )
    def untag(self, request, contactId, tagId):
        return self._run(contact_tag_remove, contact_id=contactId, tag_id=tagId)
