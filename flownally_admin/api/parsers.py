"""JSON parsing with the contract's size limit and error codes."""

import json

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    problem_code = "payload_too_large"
    default_detail = "The JSON body is larger than 1 MiB."


class LimitedJSONParser(JSONParser):
    """Reads at most API_MAX_JSON_BODY_BYTES (+1 to detect overflow) before parsing.

    Checking Content-Length alone is not enough: a chunked body has none.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The JSON body is larger than {limit} bytes.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The JSON body is larger than {limit} bytes.")
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid UTF-8 JSON: {exc}") from exc


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")
