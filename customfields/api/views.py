from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from flownally_admin.api.schema import BODY_PROBLEMS, problem_responses
from flownally_admin.api.views import ApiViewSet

from ..models import EntityType
from ..selectors import custom_field_definition_list
from ..services import (
    custom_field_definition_create,
    custom_field_definition_delete,
    custom_field_definition_update,
)
from .serializers import (
    CreateCustomFieldDefinitionRequestSerializer,
    CustomFieldDefinitionSerializer,
    CustomFieldDefinitionsResponseSerializer,
    UpdateCustomFieldDefinitionRequestSerializer,
)

ID_PARAMETER = OpenApiParameter("id", str, OpenApiParameter.PATH, description="`cf_…`")


class CustomFieldDefinitionViewSet(ApiViewSet):
    """Definitions of one entity type; the subclasses below bind it to a URL."""

    entity_type: str
    required_scopes = {
        "list": "custom_field:list",
        "create": "custom_field:create",
        "partial_update": "custom_field:update",
        "destroy": "custom_field:delete",
    }

    def list(self, request):
        definitions = custom_field_definition_list(tenant=self.tenant, entity_type=self.entity_type)
        return Response(
            {"customFields": CustomFieldDefinitionSerializer(definitions, many=True).data}
        )

    def create(self, request):
        payload = CreateCustomFieldDefinitionRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        definition = custom_field_definition_create(
            tenant=self.tenant,
            entity_type=self.entity_type,
            created_by=self.actor_id,
            **payload.validated_data,
        )
        return Response(
            CustomFieldDefinitionSerializer(definition).data, status=status.HTTP_201_CREATED
        )

    def partial_update(self, request, id):
        payload = UpdateCustomFieldDefinitionRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        definition = custom_field_definition_update(
            tenant=self.tenant,
            entity_type=self.entity_type,
            definition_id=id,
            **payload.validated_data,
        )
        return Response(CustomFieldDefinitionSerializer(definition).data)

    def destroy(self, request, id):
        custom_field_definition_delete(
            tenant=self.tenant, entity_type=self.entity_type, definition_id=id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _documented(entity_label: str, noun: str):
    """The OpenAPI description of the four operations for one entity type."""
    return extend_schema_view(
        list=extend_schema(
            operation_id=f"list{entity_label}FieldDefinitions",
            summary=f"List {noun} field definitions",
            description="All definitions of this resource type, predefined first, then by name.",
            responses={200: CustomFieldDefinitionsResponseSerializer, **problem_responses()},
        ),
        create=extend_schema(
            operation_id=f"create{entity_label}FieldDefinition",
            summary=f"Create {noun} field definition",
            request=CreateCustomFieldDefinitionRequestSerializer,
            responses={
                201: CustomFieldDefinitionSerializer,
                **problem_responses(*BODY_PROBLEMS, "custom_field_exists"),
            },
        ),
        partial_update=extend_schema(
            operation_id=f"update{entity_label}FieldDefinition",
            summary=f"Update {noun} field definition",
            description=(
                "Rename and/or retype. `date`→`text` always succeeds; `text`→`date` only when "
                "every stored value is a valid date (else 409 `type_change_conflict`)."
            ),
            parameters=[ID_PARAMETER],
            request=UpdateCustomFieldDefinitionRequestSerializer,
            responses={
                200: CustomFieldDefinitionSerializer,
                **problem_responses(
                    *BODY_PROBLEMS,
                    "custom_field_not_found",
                    "custom_field_exists",
                    "custom_field_predefined",
                    "type_change_conflict",
                ),
            },
        ),
        destroy=extend_schema(
            operation_id=f"delete{entity_label}FieldDefinition",
            summary=f"Delete {noun} field definition",
            description="Its values disappear from every record at once.",
            parameters=[ID_PARAMETER],
            responses={
                204: None,
                **problem_responses("custom_field_not_found", "custom_field_predefined"),
            },
        ),
    )


@extend_schema(tags=["Contact field definitions"])
@_documented("Contact", "contact")
class ContactFieldDefinitionViewSet(CustomFieldDefinitionViewSet):
    entity_type = EntityType.CONTACT


@extend_schema(tags=["Property field definitions"])
@_documented("Property", "property")
class PropertyFieldDefinitionViewSet(CustomFieldDefinitionViewSet):
    entity_type = EntityType.PROPERTY
