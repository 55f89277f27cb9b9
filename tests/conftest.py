"""Shared fixtures, and the rule for tests that need real services.

Tests marked `postgres` or `redis` skip with a reason when the service is not
configured. CI sets FLOWNALLY_REQUIRE_SERVICES=1, which turns such a skip into
a failure, so a green CI run always exercised PostgreSQL and Redis.
"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

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


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker process consuming from the Redis broker, on the test database.

    Session-scoped: it starts once, with the first test that needs it. Tests using
    it must be `transaction=True` so that what they write is visible to the worker.
    """
    from django.db import connection

    from flownally_admin.celery import app

    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}"
        f":{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    app.control.purge()  # nothing left over from an earlier run may reach this database
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "flownally_admin",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    app.conf.task_always_eager = False
    try:
        wait_until(lambda: app.control.ping(timeout=0.5), timeout=60, what="the Celery worker")
        yield worker
    finally:
        app.conf.task_always_eager = True
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout}s waiting for {what}")
