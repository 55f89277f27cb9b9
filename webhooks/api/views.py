from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from flownally_admin.api.pagination import KeysetOrdering, paginate, parse_page_size
from flownally_admin.api.permissions import HasOperationRole, HasOperationScope
from flownally_admin.api.schema import problem_responses
from flownally_admin.api.views import ApiViewSet
from flownally_admin.errors import ValidationFailed
from flownally_admin.tenancy.scopes import Role

from ..models import DeliveryStatus
from ..representation import delivery_data, endpoint_data
from ..selectors import delivery_list, endpoint_get, endpoint_list
from ..services import (
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_secret_rotate,
    endpoint_test,
    endpoint_update,
)
from .serializers import (
    CreatedWebhookEndpointSerializer,
    CreateWebhookEndpointRequestSerializer,
    SecretSerializer,
    TestDeliverySerializer,
    UpdateWebhookEndpointRequestSerializer,
    WebhookDeliveriesResponseSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointSerializer,
    WebhookEndpointsResponseSerializer,
)

DELIVERY_ORDERING = KeysetOrdering(fields=("id",), descending=True)
DELIVERY_PAGE_SIZE_DEFAULT = 50
DELIVERY_PAGE_SIZE_MAX = 200

ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="`whk_…`")
JSON_BODY_PROBLEMS = ("malformed_json", "unsupported_media_type", "payload_too_large")


class WebhookViewSet(ApiViewSet):
    """Webhooks are managed with keys of role owner or admin (contract §9)."""

    permission_classes = [HasOperationScope, HasOperationRole]
    allowed_roles = (Role.OWNER, Role.ADMIN)


def _problems(*codes):
    return problem_responses("insufficient_role", *codes)


@extend_schema(tags=["Webhooks"])
class WebhookEndpointViewSet(WebhookViewSet):
    required_scopes = dict.fromkeys(
        ("list", "create", "retrieve", "partial_update", "destroy", "rotate_secret", "test"),
        "webhook:manage",
    )

    @extend_schema(
        operation_id="listWebhooks",
        summary="List webhook endpoints",
        responses={200: WebhookEndpointsResponseSerializer, **_problems()},
    )
    def list(self, request):
        endpoints = endpoint_list(tenant=self.tenant)
        return Response({"webhooks": [endpoint_data(endpoint) for endpoint in endpoints]})

    @extend_schema(
        operation_id="createWebhook",
        summary="Create webhook endpoint",
        description="The answer carries the signing secret, which is never shown again. The "
        "endpoint is sent the events recorded from now on.",
        request=CreateWebhookEndpointRequestSerializer,
        responses={
            201: CreatedWebhookEndpointSerializer,
            **_problems("validation_failed", *JSON_BODY_PROBLEMS),
        },
    )
    def create(self, request):
        payload = CreateWebhookEndpointRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        created = endpoint_create(
            tenant=self.tenant,
            url=data["url"],
            event_types=data.get("eventTypes", []),
            description=data.get("description", ""),
            created_by=self.actor_id,
        )
        return Response(
            CreatedWebhookEndpointSerializer(created).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        operation_id="getWebhook",
        summary="Get webhook endpoint",
        parameters=[ID],
        responses={200: WebhookEndpointSerializer, **_problems("webhook_not_found")},
    )
    def retrieve(self, request, id):
        return Response(endpoint_data(endpoint_get(tenant=self.tenant, endpoint_id=id)))

    @extend_schema(
        operation_id="updateWebhook",
        summary="Update webhook endpoint",
        parameters=[ID],
        request=UpdateWebhookEndpointRequestSerializer,
        responses={
            200: WebhookEndpointSerializer,
            **_problems("webhook_not_found", "validation_failed", *JSON_BODY_PROBLEMS),
        },
    )
    def partial_update(self, request, id):
        payload = UpdateWebhookEndpointRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        names = {"eventTypes": "event_types"}
        changes = {names.get(name, name): value for name, value in payload.validated_data.items()}
        endpoint = endpoint_update(tenant=self.tenant, endpoint_id=id, **changes)
        return Response(endpoint_data(endpoint))

    @extend_schema(
        operation_id="deleteWebhook",
        summary="Delete webhook endpoint",
        description="Deletes the endpoint and its deliveries.",
        parameters=[ID],
        responses={204: None, **_problems("webhook_not_found")},
    )
    def destroy(self, request, id):
        endpoint_delete(tenant=self.tenant, endpoint_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="rotateWebhookSecret",
        summary="Rotate webhook signing secret",
        description="A new secret, shown once. For 24 hours deliveries are signed with both "
        "the previous and the new secret.",
        parameters=[ID],
        request=None,
        responses={200: SecretSerializer, **_problems("webhook_not_found")},
    )
    def rotate_secret(self, request, id):
        return Response({"secret": endpoint_secret_rotate(tenant=self.tenant, endpoint_id=id)})

    @extend_schema(
        operation_id="testWebhook",
        summary="Send a test event",
        description="Sends the endpoint a `webhook.test` event now (whether it is enabled or "
        "not); follow it in the deliveries.",
        parameters=[ID],
        request=None,
        responses={202: TestDeliverySerializer, **_problems("webhook_not_found")},
    )
    def test(self, request, id):
        delivery = endpoint_test(tenant=self.tenant, endpoint_id=id)
        return Response({"deliveryId": delivery.pk}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["Webhooks"])
class WebhookDeliveryViewSet(WebhookViewSet):
    required_scopes = {"list": "webhook:manage", "retry": "webhook:manage"}

    @extend_schema(
        operation_id="listWebhookDeliveries",
        summary="List deliveries",
        description="The endpoint's deliveries, newest first.",
        parameters=[
            ID,
            OpenApiParameter("status", str, enum=DeliveryStatus.values),
            OpenApiParameter(
                "pageSize",
                {"type": "integer", "minimum": 1},
                description="1–200, default 50; larger is served as 200.",
            ),
            OpenApiParameter("pageToken", str, description="`nextPageToken` of the last page."),
        ],
        responses={
            200: WebhookDeliveriesResponseSerializer,
            **_problems("webhook_not_found", "validation_failed", "invalid_page_token"),
        },
    )
    def list(self, request, id):
        endpoint = endpoint_get(tenant=self.tenant, endpoint_id=id)
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in DeliveryStatus.values:
            raise ValidationFailed.single(
                "status", "invalid_choice", f"status is one of {', '.join(DeliveryStatus.values)}."
            )
        page = paginate(
            delivery_list(endpoint=endpoint, status=wanted),
            ordering=DELIVERY_ORDERING,
            page_size=parse_page_size(
                request.query_params.get("pageSize"),
                default=DELIVERY_PAGE_SIZE_DEFAULT,
                maximum=DELIVERY_PAGE_SIZE_MAX,
            ),
            page_token=request.query_params.get("pageToken"),
            bound_to={
                "tenant": self.tenant.pk,
                "resource": "deliveries",
                "endpoint": endpoint.pk,
                "status": wanted,
            },
        )
        body = {"deliveries": [delivery_data(delivery) for delivery in page.items]}
        if page.next_page_token:
            body["nextPageToken"] = page.next_page_token
        return Response(body)

    @extend_schema(
        operation_id="retryWebhookDelivery",
        summary="Retry delivery",
        description="Sends the delivery again now, whatever its status; the answer is the "
        "delivery as it stands before that attempt.",
        parameters=[
            ID,
            OpenApiParameter("deliveryId", str, OpenApiParameter.PATH, description="`dlv_…`"),
        ],
        request=None,
        responses={
            202: WebhookDeliverySerializer,
            **_problems("webhook_not_found", "delivery_not_found"),
        },
    )
    def retry(self, request, id, deliveryId):  # the contract's name for the path parameter
        delivery = delivery_retry(tenant=self.tenant, endpoint_id=id, delivery_id=deliveryId)
        return Response(delivery_data(delivery), status=status.HTTP_202_ACCEPTED)
