"""Serializer building blocks shared by every resource."""

from django.core.validators import MaxLengthValidator
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string and only a string: DRF's CharField would quietly accept 12 or 1.5.

    `blank_refused_later`: an `allow_blank` field whose "" is refused by the service (or
    FilterSet) behind it, with its own code; the OpenAPI document then leaves "" out.
    """

    blank_refused_later = False

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false and nothing else: DRF's BooleanField would take "yes" or 1."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


# A character that survives `str.strip()` (Python's white space is ECMA's plus these).
_NOT_BLANK = r"[^\s\x00\x1c-\x1f\x85]"


def text_schema(*, blank: bool, trimmed: bool = True) -> dict:
    """A string as DRF's CharField takes it: never a NUL character (its default
    validator); not empty (or, when it trims, white space) unless `blank`.

    For a blank-allowing field drf-spectacular adds the empty string itself, as a `oneOf`
    alternative, so this pattern must not match it too (oneOf means exactly one)."""
    if blank:
        return {"type": "string", "pattern": r"^[^\x00]+$"}
    keeps = _NOT_BLANK if trimmed else r"[^\x00]"
    return {"type": "string", "minLength": 1, "pattern": rf"^[^\x00]*{keeps}[^\x00]*$"}


def name_schema(max_length: int) -> dict:
    """A name as the services take it: 1–`max_length` characters, not all white space, no
    NUL. The length is stated for the trimmed name, which is what is kept."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$",
    }


class BoundedListField(serializers.ListField):
    """A list of at most `max_length` items (the OpenAPI document's `maxItems`).

    More is `out_of_range` rather than DRF's `max_length` (which the contract calls
    `too_long`, a rule for text), and is refused before any item is validated.
    """

    default_error_messages = {"max_items": "At most {max_length} items."}

    def __init__(self, *, max_length: int, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        message = self.error_messages["max_items"].format(max_length=max_length)
        self.validators = [
            MaxItemsValidator(max_length, message) if isinstance(v, MaxLengthValidator) else v
            for v in self.validators
        ]

    def to_internal_value(self, data):
        if isinstance(data, list) and len(data) > self.max_length:
            self.fail("max_items", max_length=self.max_length)
        return super().to_internal_value(data)


class MaxItemsValidator(MaxLengthValidator):
    """Django's length rule under its own code; drf-spectacular reads it as `maxItems`."""

    code = "max_items"


class RequestSerializer(serializers.Serializer):
    """Base for request bodies: the body is an object and every member is known.

    Unknown members (including read-only ones such as `id` or `createdAt`) are
    refused with `unknown_field` rather than dropped, so a client's typo or an
    attempt at mass assignment is visible.
    """

    # For the OpenAPI document (schema.RequestBodySchema): rules on the body as a whole
    # that no member states, e.g. `minProperties: 1` for a PATCH that refuses `{}`. The
    # rule itself stays where it is enforced.
    openapi_body_bounds: dict = {}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"body": [serializers.ErrorDetail("The body must be a JSON object.", "invalid")]}
            )
        unknown = sorted(set(data) - {name for name, f in self.fields.items() if not f.read_only})
        errors = {
            name: [serializers.ErrorDetail("Unknown member.", "unknown_field")] for name in unknown
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**errors, **exc.detail}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


class FieldViolationSerializer(serializers.Serializer):
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemDetailsSerializer(serializers.Serializer):
    """RFC 9457 Problem Details, as every error response of the API."""

    type = serializers.CharField(help_text="URI reference `/problems/<code>`.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(required=False)
    instance = serializers.CharField(required=False, help_text="The request path.")
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    traceId = serializers.CharField(help_text="The W3C traceparent of the request.")
    errors = FieldViolationSerializer(many=True, required=False)
    mergedInto = serializers.CharField(
        required=False,
        help_text="On `contact_not_found` for a contact that a merge folded into another: "
        "the id of that other contact.",
    )
