"""Shared fixtures, and the rule for tests that need real services.

Tests marked `postgres` or `redis` skip with a reason when the service is not
configured. CI sets FLOWNALLY_REQUIRE_SERVICES=1, which turns such a skip into
a failure, so a green CI run always exercised PostgreSQL and Redis.
"""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from flownally_admin.tenancy.scopes import ALL_SCOPES, Role
from flownally_admin.tenancy.services import api_key_create

from .factories.tenancy import ServiceAccountFactory, TenantFactory


def _service_missing(marker: str) -> str | None:
    if marker == "postgres":
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if marker == "redis" and not settings.CELERY_BROKER_URL.startswith("redis://"):
        return "needs Redis: set CELERY_BROKER_URL=redis://…"
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = _service_missing(marker)
        if reason is None:
            continue
        if os.environ.get("FLOWNALLY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (FLOWNALLY_REQUIRE_SERVICES=1 forbids skipping)")
        pytest.skip(reason)


@pytest.fixture
def tenant(db):
    return TenantFactory()


@pytest.fixture
def other_tenant(db):
    return TenantFactory()


@pytest.fixture
def make_key(db):
    """Create an API key; returns (ApiKey, token)."""

    def make(tenant=None, scopes=ALL_SCOPES, role=Role.ADMIN, expires_at=None):
        account = ServiceAccountFactory(tenant=tenant or TenantFactory())
        return api_key_create(
            service_account=account, role=role, scopes=list(scopes), expires_at=expires_at
        )

    return make


@pytest.fixture
def make_client(make_key):
    """An APIClient authenticated with a fresh key of `tenant` (and `scopes`)."""

    def make(tenant=None, scopes=ALL_SCOPES, **kwargs):
        key, token = make_key(tenant=tenant, scopes=scopes, **kwargs)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        client.api_key = key
        return client

    return make


@pytest.fixture
def client_a(make_client, tenant):
    return make_client(tenant=tenant)


@pytest.fixture
def client_b(make_client, other_tenant):
    return make_client(tenant=other_tenant)


@pytest.fixture
def yesterday():
    return timezone.now() - timedelta(days=1)
