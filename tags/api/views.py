from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from flownally_admin.api.pagination import KeysetOrdering, paginate, parse_page_size
from flownally_admin.api.schema import BODY_PROBLEMS, page_parameters, problem_responses
from flownally_admin.api.views import ApiViewSet

from ..filtersets import TagFilterSet
from ..selectors import tag_list
from ..services import tag_create, tag_delete
from .serializers import CreateTagRequestSerializer, TagSerializer, TagsResponseSerializer

TAG_ORDERING = KeysetOrdering(fields=("name_key", "id"))
TAG_PAGE_SIZE_DEFAULT = 100
TAG_PAGE_SIZE_MAX = 500


@extend_schema(tags=["Tags"])
class TagViewSet(ApiViewSet):
    filterset_classes = {"list": TagFilterSet}
    required_scopes = {"list": "tag:list", "create": "tag:create", "destroy": "tag:delete"}
    lookup_field = "id"

    @extend_schema(
        operation_id="listTags",
        summary="List tags",
        description="The workspace's tags ordered by name (case-insensitive), in pages.",
        parameters=page_parameters(default=TAG_PAGE_SIZE_DEFAULT, maximum=TAG_PAGE_SIZE_MAX),
        responses={
            200: TagsResponseSerializer,
            **problem_responses("validation_failed", "invalid_page_token"),
        },
    )
    def list(self, request):
        filters = self.filters(queryset=tag_list(tenant=self.tenant))
        page = paginate(
            filters.qs,
            ordering=TAG_ORDERING,
            page_size=parse_page_size(
                request.query_params.get("pageSize"),
                default=TAG_PAGE_SIZE_DEFAULT,
                maximum=TAG_PAGE_SIZE_MAX,
            ),
            page_token=request.query_params.get("pageToken"),
            bound_to={"tenant": self.tenant.pk, "resource": "tags", **filters.fingerprint()},
        )
        body = {"tags": TagSerializer(page.items, many=True).data}
        if page.next_page_token:
            body["nextPageToken"] = page.next_page_token
        return Response(body)

    @extend_schema(
        operation_id="createTag",
        summary="Create tag",
        description="Creates a label that can be attached to contacts.",
        request=CreateTagRequestSerializer,
        responses={
            201: TagSerializer,
            **problem_responses(*BODY_PROBLEMS, "tag_exists"),
        },
    )
    def create(self, request):
        payload = CreateTagRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        tag = tag_create(
            tenant=self.tenant, name=payload.validated_data["name"], created_by=self.actor_id
        )
        return Response(TagSerializer(tag).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="deleteTag",
        summary="Delete tag",
        description="Removes the tag and every assignment of it.",
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="`tag_…`")],
        responses={204: None, **problem_responses("tag_not_found")},
    )
    def destroy(self, request, id):
        tag_delete(tenant=self.tenant, tag_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)
