"""Contract §1: every way a request can fail to authenticate or lack a scope."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from flownally_admin.tenancy.models import ApiKey
from flownally_admin.tenancy.services import api_key_revoke
from tests.problems import assert_problem

pytestmark = pytest.mark.django_db


def _get_tags(authorization: str | None):
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get("/v1/tags")


def test_missing_token_is_401_with_bearer_challenge():
    response = _get_tags(None)
    assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer fln_live_abc extra",
        "Token fln_live_" + "a" * 43,
        "Bearer not-a-flownally-token",
        "Bearer fln_live_" + "x" * 400,
    ],
)
def test_malformed_authorization_is_401(authorization):
    response = _get_tags(authorization)
    assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_unknown_token_is_401():
    response = _get_tags("Bearer fln_live_" + "A" * 43)
    body = assert_problem(response, 401, "unauthenticated")
    assert body["detail"] == "The token is not valid."


def test_expired_token_is_401(make_key):
    _, token = make_key(expires_at=timezone.now() - timedelta(seconds=1))
    body = assert_problem(_get_tags(f"Bearer {token}"), 401, "unauthenticated")
    assert body["detail"] == "The API key has expired."


def test_token_with_future_expiry_works(make_key):
    _, token = make_key(expires_at=timezone.now() + timedelta(days=1))
    assert _get_tags(f"Bearer {token}").status_code == 200


def test_revoked_token_is_401(make_key):
    key, token = make_key()
    api_key_revoke(key=key)
    body = assert_problem(_get_tags(f"Bearer {token}"), 401, "unauthenticated")
    assert body["detail"] == "The API key has been revoked."


def test_missing_scope_is_403_naming_the_scope(make_client):
    client = make_client(scopes=["tag:create"])
    body = assert_problem(client.get("/v1/tags"), 403, "insufficient_scope")
    assert "tag:list" in body["detail"]


def test_each_tag_operation_needs_its_own_scope(make_client, tenant):
    client = make_client(tenant=tenant, scopes=["tag:list"])
    assert client.get("/v1/tags").status_code == 200
    assert_problem(client.post("/v1/tags", {"name": "x"}, format="json"), 403, "insufficient_scope")
    assert_problem(client.delete("/v1/tags/tag_x"), 403, "insufficient_scope")


def test_authentication_comes_before_existence():
    assert_problem(APIClient().get("/v1/no/such/route"), 401, "unauthenticated")
    assert_problem(APIClient().delete("/v1/tags/tag_missing"), 401, "unauthenticated")


def test_only_a_hash_of_the_token_is_stored(make_key):
    key, token = make_key()
    stored = ApiKey.objects.get(pk=key.pk)
    assert token.startswith("fln_live_") and len(token) >= len("fln_live_") + 32
    assert token not in {stored.token_hash, stored.token_prefix}
    assert stored.token_prefix == token[:15]
    assert len(stored.token_hash) == 64


def test_last_used_at_is_recorded(make_key):
    key, token = make_key()
    assert key.last_used_at is None
    _get_tags(f"Bearer {token}")
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert timezone.now() - key.last_used_at < timedelta(minutes=1)
