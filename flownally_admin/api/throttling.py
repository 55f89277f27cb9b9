"""Per-API-key rate limits (contract §5): over the limit → 429 `rate_limited` + Retry-After."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per API key, counted in the default cache.

    With several web processes the cache must be shared (CACHE_URL=redis://…), or each
    process counts on its own and the effective limit is multiplied by their number.
    """

    scope = "api_key"

    def get_rate(self):
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        key = request.auth
        if key is None:  # unauthenticated: refused before throttling matters
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.pk}
