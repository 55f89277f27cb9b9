"""OpenAPI helpers: the bearer scheme, query parameters from FilterSets, and problem
responses for `extend_schema`."""

from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.plumbing import build_parameter_type
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .filters import ApiFilter
from .problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES
from .serializers import ProblemDetailsSerializer, text_schema

# Problems of every operation that reads a JSON body.
BODY_PROBLEMS = (
    "validation_failed",
    "malformed_json",
    "unsupported_media_type",
    "payload_too_large",
)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "flownally_admin.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `fln_live_` followed by at least 32 characters.",
        }


class FilterSetParameters(DjangoFilterExtension):
    """drf-spectacular's django-filter support, for FilterSets of `ApiFilter`s.

    An ApiFilter states its parameter's schema itself (a deepObject, a default, an array
    spelled either way): the stock guessing from model fields fits none of them. The
    views have no `queryset`; the FilterSet names its model.
    """

    priority = 1

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        filterset_class = self.target.get_filterset_class(auto_schema.view)
        if filterset_class is None:
            return []
        model = filterset_class._meta.model
        return [
            parameter
            for name, filter_ in filterset_class.base_filters.items()
            for parameter in self.resolve_filter_field(
                auto_schema, model, filterset_class, name, filter_
            )
        ]

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        if not isinstance(filter_field, ApiFilter):
            return super().resolve_filter_field(
                auto_schema, model, filterset_class, field_name, filter_field
            )
        return [
            build_parameter_type(
                name=field_name,
                schema=filter_field.parameter_schema(),
                location=OpenApiParameter.QUERY,
                description=filter_field.extra.get("help_text"),
                enum=filter_field.extra.get("choices"),
                style=filter_field.style,
                explode=filter_field.explode,
            )
        ]


class RequestBodySchema(OpenApiSerializerExtension):
    """A request body's schema with its `openapi_body_bounds` (see RequestSerializer):
    drf-spectacular maps members only, and a client (or Schemathesis) reading the
    document must not be told that `{}` is a valid PATCH when the server refuses it."""

    target_class = "flownally_admin.api.serializers.RequestSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        for name, field in self.target.fields.items():
            member = schema.get("properties", {}).get(name)
            if getattr(field, "blank_refused_later", False) and member and "oneOf" in member:
                # drf-spectacular adds `""` as an alternative for every allow_blank field;
                # this one lets "" through only for its service to refuse it.
                alternatives = [a for a in member.pop("oneOf") if a != _BLANK]
                member.update(alternatives[0])
        return {**schema, **self.target.openapi_body_bounds}


_BLANK = {"type": "string", "maxLength": 0}


class RequestCharFieldSchema(OpenApiSerializerFieldExtension):
    """What DRF's CharField refuses in a request and drf-spectacular does not say: a NUL
    character (always), and a string that is empty, or white space when the field trims
    it, unless `allow_blank`. Fields whose schema has a pattern or format of its own (an
    `extend_schema_field`) state their rule themselves."""

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if (
            direction != "request"
            or field.read_only
            or schema.get("type") != "string"
            or {"pattern", "format", "enum"} & schema.keys()
        ):
            return schema
        return {**schema, **text_schema(blank=field.allow_blank, trimmed=field.trim_whitespace)}


def page_parameters(*, default: int, maximum: int) -> list[OpenApiParameter]:
    """`pageSize` and `pageToken` of a keyset-paged list, with the bounds the server
    enforces (`parse_page_size`)."""
    return [
        OpenApiParameter(
            "pageSize",
            {"type": "integer", "minimum": 1, "default": default},
            description=f"1–{maximum}, default {default}; larger is served as {maximum}.",
        ),
        OpenApiParameter("pageToken", str, description="`nextPageToken` of the previous page."),
    ]


def problem_responses(*codes: str) -> dict[tuple[int, str], OpenApiResponse]:
    """Responses for the given problem codes plus the ones every operation can answer."""
    every = (
        "unauthenticated",
        "insufficient_scope",
        "too_many_parameters",
        "rate_limited",
        "internal_error",
    )
    by_status: dict[int, list[str]] = {}
    for code in (*every, *codes):
        by_status.setdefault(PROBLEM_TYPES[code].status, []).append(code)
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemDetailsSerializer, description="Problem: " + ", ".join(f"`{c}`" for c in codes_)
        )
        for status, codes_ in sorted(by_status.items())
    }


def close_request_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook: request bodies refuse unknown members
    (`unknown_field`, see RequestSerializer), so their schemas say
    `additionalProperties: false`."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith(("Request", "Input")) and component.get("type") == "object":
            component["additionalProperties"] = False
    return result


def require_nonempty_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook: a body whose schema has `minProperties`
    (`openapi_body_bounds`) cannot be left out either, which drf-spectacular, deciding
    from required members only, does not say."""
    schemas = result.get("components", {}).get("schemas", {})
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body:
                continue
            for media in body.get("content", {}).values():
                name = media.get("schema", {}).get("$ref", "").rpartition("/")[2]
                if schemas.get(name, {}).get("minProperties"):
                    body["required"] = True
    return result
