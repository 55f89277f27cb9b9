from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from contacts.selectors import contact_check_live
from flownally_admin.api.pagination import KeysetOrdering, paginate, parse_page_size
from flownally_admin.api.schema import page_parameters, problem_responses
from flownally_admin.api.views import ApiViewSet

from ..filtersets import EventFilterSet
from ..representation import event_data, event_feed_json
from ..selectors import contact_event_list, event_feed
from .serializers import EventFeedSerializer, EventHistorySerializer

HISTORY_ORDERING = KeysetOrdering(fields=("sequence",), descending=True)
HISTORY_PAGE_SIZE_DEFAULT = 50
HISTORY_PAGE_SIZE_MAX = 200
FEED_PAGE_SIZE_DEFAULT = 100
FEED_PAGE_SIZE_MAX = 1000


@extend_schema(tags=["Contacts"])
class ContactHistoryViewSet(ApiViewSet):
    required_scopes = {"list": "contact:read"}

    @extend_schema(
        operation_id="getContactHistory",
        summary="Get contact history",
        description="The contact's events, newest first. A deleted contact's events stay "
        "readable in the feed (`GET /events?contactId=`).",
        parameters=[
            OpenApiParameter("id", str, OpenApiParameter.PATH, description="`ctc_…`"),
            *page_parameters(default=HISTORY_PAGE_SIZE_DEFAULT, maximum=HISTORY_PAGE_SIZE_MAX),
        ],
        responses={
            200: EventHistorySerializer,
            **problem_responses("contact_not_found", "validation_failed", "invalid_page_token"),
        },
    )
    def list(self, request, id):
        contact_check_live(tenant=self.tenant, contact_id=id)
        page = paginate(
            contact_event_list(tenant=self.tenant, contact_id=id),
            ordering=HISTORY_ORDERING,
            page_size=parse_page_size(
                request.query_params.get("pageSize"),
                default=HISTORY_PAGE_SIZE_DEFAULT,
                maximum=HISTORY_PAGE_SIZE_MAX,
            ),
            page_token=request.query_params.get("pageToken"),
            bound_to={"tenant": self.tenant.pk, "resource": "history", "contact": id},
        )
        body = {"events": [event_data(event) for event in page.items]}
        if page.next_page_token:
            body["nextPageToken"] = page.next_page_token
        return Response(body)


@extend_schema(tags=["Events"])
class EventViewSet(ApiViewSet):
    filterset_classes = {"list": EventFilterSet}
    required_scopes = {"list": "event:list"}

    @extend_schema(
        operation_id="getEvents",
        summary="Get events (the sync feed)",
        description="The workspace's events in ascending `sequence`. Start at `after=0` and "
        "call again with `nextAfter`: you see every event exactly once and in order, even "
        "while writers commit concurrently. Events are kept EVENTS_RETENTION_DAYS days; an "
        "`after` below what was purged is 410 `events_expired`.",
        parameters=[page_parameters(default=FEED_PAGE_SIZE_DEFAULT, maximum=FEED_PAGE_SIZE_MAX)[0]],
        responses={
            200: EventFeedSerializer,
            **problem_responses("validation_failed", "events_expired"),
        },
    )
    def list(self, request):
        filters = self.filters(tenant=self.tenant)
        after = filters.cleaned_data["after"]
        limit = parse_page_size(
            request.query_params.get("pageSize"),
            default=FEED_PAGE_SIZE_DEFAULT,
            maximum=FEED_PAGE_SIZE_MAX,
        )
        rows = event_feed(tenant=self.tenant, events=filters.qs, after=after, limit=limit)
        next_after = rows[-1][0] if rows else after
        return HttpResponse(
            event_feed_json(rows, next_after), content_type="application/json; charset=utf-8"
        )
