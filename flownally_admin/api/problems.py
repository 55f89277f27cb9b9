"""RFC 9457 Problem Details: the one registry of error codes and the DRF exception handler.

Every error the API answers comes through `problem_response`, so each has the
same shape: `{type, title, status, detail, instance, code, traceId, errors?}`
with `Content-Type: application/problem+json`.
"""

import logging
import math
from dataclasses import dataclass

from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.settings import api_settings

from flownally_admin.errors import ApplicationError, FieldViolation, ValidationFailed

from .tracing import traceparent_for

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    status: int
    title: str
    description: str


PROBLEM_TYPES: dict[str, ProblemType] = {
    "unauthenticated": ProblemType(
        401,
        "Authentication required",
        "The request has no valid API key. Send `Authorization: Bearer <token>` with a key "
        "that exists, has not expired and has not been revoked.",
    ),
    "insufficient_scope": ProblemType(
        403,
        "Insufficient scope",
        "The API key is valid but lacks the scope this operation needs; `detail` names it.",
    ),
    "insufficient_role": ProblemType(
        403,
        "Insufficient role",
        "The API key holds the scope but not the role this operation needs (webhooks are "
        "managed with keys of role `owner` or `admin`).",
    ),
    "not_found": ProblemType(404, "Not found", "No operation exists at this path."),
    "contact_not_found": ProblemType(404, "Contact not found", "No such contact."),
    "tag_not_found": ProblemType(404, "Tag not found", "No such tag."),
    "custom_field_not_found": ProblemType(
        404, "Custom field not found", "No such custom field definition for this resource type."
    ),
    "import_not_found": ProblemType(404, "Import not found", "No such import."),
    "export_not_found": ProblemType(404, "Export not found", "No such export."),
    "export_not_ready": ProblemType(
        409,
        "Export not ready",
        "The export is still queued or running, or it failed: there is no file to download. "
        "Poll the export's status until it is `completed`.",
    ),
    "export_expired": ProblemType(
        410,
        "Export expired",
        "The export's file was kept until its `expiresAt` and has been deleted. Start a new "
        "export.",
    ),
    "webhook_not_found": ProblemType(404, "Webhook not found", "No such webhook endpoint."),
    "delivery_not_found": ProblemType(
        404, "Delivery not found", "No such delivery of this webhook endpoint."
    ),
    "validation_failed": ProblemType(
        422,
        "Validation failed",
        "One or more members or parameters are invalid; `errors` lists each with its path.",
    ),
    "malformed_json": ProblemType(
        400,
        "Malformed JSON",
        "The request body is not valid JSON, repeats a key within an object, or nests "
        "arrays and objects more than 64 levels deep.",
    ),
    "malformed_multipart": ProblemType(
        400,
        "Malformed multipart body",
        "The multipart/form-data body cannot be read: a missing or bad boundary, a "
        "truncated part, or a part header (such as its filename) that cannot be decoded.",
    ),
    "too_many_parameters": ProblemType(
        400,
        "Too many parameters",
        "The request has more query parameters, or more multipart parts, than the API "
        "reads (1,000). No operation takes anywhere near that many.",
    ),
    "unsupported_media_type": ProblemType(
        415, "Unsupported media type", "This operation does not accept that Content-Type."
    ),
    "payload_too_large": ProblemType(
        413, "Payload too large", "The JSON body is larger than the API accepts (1 MiB)."
    ),
    "file_too_large": ProblemType(413, "File too large", "The uploaded file exceeds the limit."),
    "invalid_csv": ProblemType(422, "Invalid CSV", "The uploaded file cannot be read as CSV."),
    "invalid_page_token": ProblemType(
        400,
        "Invalid page token",
        "The page token was altered, or was issued for different filters or ordering.",
    ),
    "empty_contact": ProblemType(
        422, "Empty contact", "A contact needs a name, an identity or a custom field value."
    ),
    "identity_conflict": ProblemType(
        409, "Identity conflict", "Another live contact already holds this channel identity."
    ),
    "tag_exists": ProblemType(409, "Tag exists", "A tag with this name already exists."),
    "custom_field_exists": ProblemType(
        409, "Custom field exists", "A custom field with this name already exists."
    ),
    "custom_field_predefined": ProblemType(
        409,
        "Predefined custom field",
        "Predefined fields cannot be renamed, retyped or deleted.",
    ),
    "type_change_conflict": ProblemType(
        409, "Type change conflict", "Existing values cannot be converted to the new type."
    ),
    "contact_already_archived": ProblemType(
        409, "Contact already archived", "The contact is already archived."
    ),
    "contact_not_archived": ProblemType(
        409, "Contact not archived", "The contact is not archived."
    ),
    "idempotency_key_reused": ProblemType(
        422, "Idempotency key reused", "This Idempotency-Key was used with a different body."
    ),
    "precondition_failed": ProblemType(
        412, "Precondition failed", "The resource changed since the ETag sent in If-Match."
    ),
    "rate_limited": ProblemType(
        429, "Rate limited", "Too many requests; retry after the number of seconds in Retry-After."
    ),
    "method_not_allowed": ProblemType(
        405, "Method not allowed", "This path does not support that HTTP method."
    ),
    "merge_conflict": ProblemType(
        409,
        "Merge conflict",
        "A contact of this merge was merged or deleted by another request while this one "
        "waited for it. Nothing was changed; read the contacts again before retrying.",
    ),
    "events_expired": ProblemType(
        410,
        "Events expired",
        "Events after the `after` you sent have been purged (they are kept "
        "EVENTS_RETENTION_DAYS days). Re-read the contacts you keep in sync, then follow the "
        "feed again from the newest `sequence`.",
    ),
    "internal_error": ProblemType(
        500,
        "Internal error",
        "Something failed on our side. Quote the `traceId` when you contact support.",
    ),
}

# The contract's FieldViolation codes (§7).
FIELD_VIOLATION_CODES = frozenset(
    {
        "required",
        "invalid",
        "too_long",
        "unknown_field",
        "invalid_email",
        "invalid_phone",
        "invalid_date",
        "invalid_choice",
        "unknown_custom_field",
        "unknown_tag",
        "out_of_range",
    }
)
# DRF's and Django's field error codes, translated to the contract's.
_VIOLATION_CODES = {
    "blank": "required",
    "empty": "required",
    "max_length": "too_long",
    "max_string_length": "too_long",
    "max_value": "out_of_range",
    "min_value": "out_of_range",
    "max_items": "out_of_range",
}

_DRF_CODES = [
    (drf_exceptions.NotAuthenticated, "unauthenticated"),
    (drf_exceptions.AuthenticationFailed, "unauthenticated"),
    (drf_exceptions.PermissionDenied, "insufficient_scope"),
    (drf_exceptions.NotFound, "not_found"),
    (drf_exceptions.MethodNotAllowed, "method_not_allowed"),
    (drf_exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (drf_exceptions.ParseError, "malformed_json"),
    (drf_exceptions.Throttled, "rate_limited"),
]


def problem_response(
    request,
    code: str,
    detail: str | None = None,
    violations: list[FieldViolation] | None = None,
    headers: dict[str, str] | None = None,
    members: dict | None = None,
) -> JsonResponse:
    problem_type = PROBLEM_TYPES[code]
    body = {
        "type": f"/problems/{code}",
        "title": problem_type.title,
        "status": problem_type.status,
        "detail": detail or problem_type.description,
        "instance": request.path,
        "code": code,
        "traceId": traceparent_for(request),
        **(members or {}),
    }
    if violations is not None:
        body["errors"] = [
            {"field": v.field, "code": v.code, "message": v.message} for v in violations
        ]
    response = JsonResponse(body, status=problem_type.status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def violations_from_drf(detail, path: str = "") -> list[FieldViolation]:
    """Flatten DRF's nested error structure into `{field, code, message}` with member paths."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                child = path or "body"
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            found.extend(violations_from_drf(value, child))
        return found
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [_violation(path or "body", item) for item in detail]
        found = []
        for index, item in enumerate(detail):
            if item:
                found.extend(violations_from_drf(item, f"{path}[{index}]"))
        return found
    return [_violation(path or "body", detail)]


def violation_code(code: str | None) -> str:
    """The contract's code for a DRF or Django form error code (`invalid` when it has none)."""
    if code in FIELD_VIOLATION_CODES:
        return code
    return _VIOLATION_CODES.get(code, "invalid")


def _violation(field_path: str, error) -> FieldViolation:
    return FieldViolation(field_path, violation_code(getattr(error, "code", None)), str(error))


def problem_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every exception becomes a problem response."""
    request = context["request"]
    if isinstance(exc, ValidationFailed):
        return problem_response(request, exc.code, exc.detail, exc.violations)
    if isinstance(exc, ApplicationError):
        return problem_response(
            request, exc.code, exc.detail, headers=exc.headers(), members=exc.members()
        )
    if isinstance(exc, drf_exceptions.ValidationError):
        return problem_response(request, "validation_failed", None, violations_from_drf(exc.detail))
    if isinstance(exc, drf_exceptions.APIException):
        return _drf_problem(request, exc)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return problem_response(request, "too_many_parameters")
    logger.exception("Unhandled error in %s %s", request.method, request.path)
    return problem_response(request, "internal_error")


def _drf_problem(request, exc: drf_exceptions.APIException):
    code = getattr(exc, "problem_code", None) or next(
        (code for cls, code in _DRF_CODES if isinstance(exc, cls)), None
    )
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))
    if code is None:
        logger.error("Unmapped API exception %r", exc)
        return problem_response(request, "internal_error")
    return problem_response(request, code, str(exc.detail), headers=headers)
