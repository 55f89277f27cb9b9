"""JSON parsing with the contract's size limit and error codes."""

import json

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser, MultiPartParser

# No request body of the API nests deeper than a few levels; 64 leaves room for metadata
# objects and keeps far from Python's recursion limit.
JSON_MAX_DEPTH = 64


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    problem_code = "payload_too_large"
    default_detail = "The JSON body is larger than 1 MiB."


class MalformedMultipart(exceptions.ParseError):
    problem_code = "malformed_multipart"


class LimitedJSONParser(JSONParser):
    """Reads at most API_MAX_JSON_BODY_BYTES (+1 to detect overflow) before parsing, and
    refuses what JSON allows but a client never means: duplicate keys in an object (which
    one would win is not the client's to guess) and nesting past JSON_MAX_DEPTH.

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
        too_deep = f"The body nests arrays or objects more than {JSON_MAX_DEPTH} levels deep."
        try:
            data = json.loads(
                raw.decode("utf-8"),
                parse_constant=_reject_constant,
                object_pairs_hook=_object_without_duplicate_keys,
            )
        except RecursionError:
            raise exceptions.ParseError(too_deep) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid UTF-8 JSON: {exc}") from exc
        if _deeper_than(data, JSON_MAX_DEPTH):
            raise exceptions.ParseError(too_deep)
        return data


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _object_without_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"duplicate key {duplicate[:100]!r} in an object")
    return data


def _deeper_than(data, max_depth: int) -> bool:
    """Iterative, so a document of any depth is measured without recursion."""
    level = [data]
    for _ in range(max_depth):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return False
    return any(isinstance(node, dict | list) for node in level)


class StrictMultiPartParser(MultiPartParser):
    """DRF's multipart parser, whose parse errors say they are about multipart, not JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except exceptions.ParseError as exc:
            raise MalformedMultipart(exc.detail) from exc
