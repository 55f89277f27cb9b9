"""Base classes for API views, and the few endpoints that belong to no resource."""

from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, viewsets
from rest_framework.views import APIView

from flownally_admin.errors import ValidationFailed
from flownally_admin.html import code_spans

from .filters import ApiFilterSet
from .permissions import IsApiPrincipal
from .problems import PROBLEM_TYPES, problem_response
from .renderers import JsonOnlyNegotiation


class ApiViewSet(viewsets.ViewSet):
    """Every resource viewset: tenant from the key, strict bodies, no OPTIONS."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head"]
    content_negotiation_class = JsonOnlyNegotiation
    required_scopes: dict[str, str | tuple[str, ...]] = {}
    # The FilterSet of each action that reads query parameters (see `filters`); from it
    # drf-spectacular documents them, through the backend (for `list` actions, and others
    # marked `extend_schema(filters=True)`).
    filterset_classes: dict[str, type[ApiFilterSet]] = {}
    filter_backends = [DjangoFilterBackend]

    @property
    def filterset_class(self) -> type[ApiFilterSet] | None:
        return self.filterset_classes.get(self.action)

    def filters(self, **kwargs) -> ApiFilterSet:
        """The action's FilterSet over the query parameters; `kwargs` go to the FilterSet."""
        return self.filterset_class(self.request.query_params, **kwargs)

    @property
    def tenant(self):
        return self.request.user.tenant

    @property
    def actor_id(self) -> str:
        return self.request.user.actor_id

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # DRF treats a body without Content-Type as empty; the contract calls it 415.
        if request.stream is not None and not request.content_type:
            raise exceptions.UnsupportedMediaType("")
        # PostgreSQL cannot compare or store NUL; no parameter has a use for it.
        with_nul = [
            name
            for name, value in request.query_params.lists()
            if "\x00" in name or any("\x00" in v for v in value)
        ]
        if with_nul:
            raise ValidationFailed.from_tuples(
                [(name, "invalid", f"{name} cannot contain NUL.") for name in with_nul]
            )


class UnknownRouteView(APIView):
    """Any other path under /v1: authenticate first, then 404 `not_found`."""

    permission_classes = [IsApiPrincipal]
    content_negotiation_class = JsonOnlyNegotiation
    schema = None  # not an operation; kept out of the OpenAPI document

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound("No operation exists at this path.")


def healthz(request):
    """The process is up and serving."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """The process can reach its database; a load balancer sends traffic only then."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not ready", never a 500 page
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def problem_type_page(request, code: str):
    """The human-readable page behind a problem's `type` URI."""
    problem = PROBLEM_TYPES.get(code)
    if problem is None:
        raise Http404
    context = {"code": code, "problem": problem, "description": code_spans(problem.description)}
    return render(request, "problems/problem_type.html", context)


def server_error(request, *args, **kwargs):
    """handler500: problem JSON under /v1, a plain page elsewhere."""
    if request.path.startswith("/v1/"):
        return problem_response(request, "internal_error")
    return HttpResponse("Internal server error", status=500, content_type="text/plain")
