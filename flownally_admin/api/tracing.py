"""W3C trace context: honour an incoming `traceparent`, else mint one.

The value is echoed in the response header, put in problem bodies as
`traceId`, and stamped on every log record of the request.
"""

import logging
import re
import secrets
from contextvars import ContextVar

TRACEPARENT_RE = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")

current_traceparent: ContextVar[str | None] = ContextVar("current_traceparent", default=None)


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def traceparent_for(request) -> str:
    value = getattr(request, "traceparent", None)
    return value or current_traceparent.get() or new_traceparent()


class TraceparentMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("traceparent", "").strip().lower()
        request.traceparent = incoming if TRACEPARENT_RE.match(incoming) else new_traceparent()
        token = current_traceparent.set(request.traceparent)
        try:
            response = self.get_response(request)
        finally:
            current_traceparent.reset(token)
        response["traceparent"] = request.traceparent
        return response


class TraceIdLogFilter(logging.Filter):
    """Adds `trace_id` to records; Django logs some responses after the middleware returned,
    so fall back to the request the record carries."""

    def filter(self, record):
        request = getattr(record, "request", None)
        record.trace_id = current_traceparent.get() or getattr(request, "traceparent", None) or "-"
        return True
