"""Per-API-key rate limits (contract §5): over the limit → 429 `rate_limited` + Retry-After."""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`20000/min` → (20000, 60): DRF's notation (the first letter of the period counts)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period[0]]


class ApiKeyRateThrottle(BaseThrottle):
    """Requests per API key in fixed windows, counted in the default cache.

    One atomic `incr` per request: DRF's SimpleRateThrottle keeps every timestamp of
    the window in one cache value and rewrites it on each request: for a key near the
    default 20,000 a minute, ~180 KB through the cache per request. A fixed
    window lets a client burst up to twice the rate across a window boundary; that
    is the usual trade for O(1).

    With several web processes the cache must be shared (CACHE_URL=redis://…), or each
    process counts on its own and the effective limit is multiplied by their number.
    """

    def __init__(self):
        self.wait_seconds = None

    def allow_request(self, request, view) -> bool:
        key = request.auth
        if key is None:  # unauthenticated: refused before throttling matters
            return True
        allowed, period = parse_rate(settings.API_RATE_LIMIT)
        now = time.time()
        window = int(now // period)
        cache_key = f"throttle:api_key:{key.pk}:{period}:{window}"
        # add() then incr(): both atomic in Redis and in the local-memory cache.
        if cache.add(cache_key, 1, timeout=period + 1):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # expired between the two calls: this request opens it
                cache.set(cache_key, 1, timeout=period + 1)
                count = 1
        if count <= allowed:
            return True
        self.wait_seconds = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return self.wait_seconds
