"""OpenAPI helpers: the bearer scheme and problem responses for `extend_schema`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse

from .problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES
from .serializers import ProblemDetailsSerializer

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


def problem_responses(*codes: str) -> dict[tuple[int, str], OpenApiResponse]:
    """Responses for the given problem codes plus the ones every operation can answer."""
    every = ("unauthenticated", "insufficient_scope", "rate_limited", "internal_error")
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
