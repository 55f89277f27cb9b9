"""Bearer API-key authentication (contract §1)."""

from dataclasses import dataclass

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from flownally_admin.tenancy.models import TOKEN_PREFIX, Tenant
from flownally_admin.tenancy.selectors import api_key_get_by_token
from flownally_admin.tenancy.services import api_key_touch

# A real token is the prefix plus 43 URL-safe characters; anything far longer is junk.
_MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True)
class ApiPrincipal:
    """`request.user` for API calls: the service account acting inside one tenant."""

    tenant: Tenant
    actor_id: str
    role: str
    scopes: frozenset[str]

    is_authenticated = True
    is_anonymous = False


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        if len(header) != 2 or header[0].lower() != self.keyword.lower().encode():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token is not valid.") from exc
        if not token.startswith(TOKEN_PREFIX) or len(token) > _MAX_TOKEN_LENGTH:
            raise exceptions.AuthenticationFailed("The token is not valid.")
        key = api_key_get_by_token(token=token)
        if key is None:
            raise exceptions.AuthenticationFailed("The token is not valid.")
        now = timezone.now()
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("The API key has been revoked.")
        if key.expires_at is not None and key.expires_at <= now:
            raise exceptions.AuthenticationFailed("The API key has expired.")
        api_key_touch(key=key)
        principal = ApiPrincipal(
            tenant=key.tenant,
            actor_id=key.service_account_id,
            role=key.role,
            scopes=frozenset(key.scopes),
        )
        return principal, key

    def authenticate_header(self, request):
        return self.keyword
