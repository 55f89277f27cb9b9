"""Who makes a change and through which door: set once by the door, read by the services.

The HTTP doors (API and admin) are covered by `EventOriginMiddleware`; the importer
and other background jobs wrap their work in `event_origin(...)`. Anything else (a
management command, a shell) records `system` changes.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from flownally_admin.api.tracing import traceparent_for

from .types import SYSTEM_ACTOR, Source


@dataclass(frozen=True)
class Origin:
    actor_id: str
    source: str
    trace_id: str | None = None
    # The API key a service account used, so that staff can tell its keys apart.
    api_key_id: str = ""


class _RequestOrigin:
    """An HTTP request's origin. The actor is read when an event is recorded, because the
    API authenticates inside the view, after every middleware has run."""

    def __init__(self, request):
        self._request = request
        self.source = Source.API if request.path.startswith("/v1/") else Source.ADMIN
        self.trace_id = traceparent_for(request)

    @property
    def actor_id(self) -> str:
        user = getattr(self._request, "user", None)
        actor = getattr(user, "actor_id", None) or getattr(user, "pk", None)
        return actor or SYSTEM_ACTOR

    @property
    def api_key_id(self) -> str:
        key = getattr(self._request, "auth", None)  # DRF's authenticated ApiKey
        return getattr(key, "pk", "") or ""


_SYSTEM = Origin(SYSTEM_ACTOR, Source.SYSTEM)
_current: ContextVar[Origin | _RequestOrigin] = ContextVar("event_origin", default=_SYSTEM)


def current_origin() -> Origin:
    origin = _current.get()
    return Origin(origin.actor_id, origin.source, origin.trace_id, origin.api_key_id)


@contextmanager
def event_origin(
    *, actor_id: str, source: str, trace_id: str | None = None, api_key_id: str = ""
) -> Iterator[None]:
    token = _current.set(Origin(actor_id, source, trace_id, api_key_id))
    try:
        yield
    finally:
        _current.reset(token)


class EventOriginMiddleware:
    """Every change made while serving a request is the request's user's, from its door."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current.set(_RequestOrigin(request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
