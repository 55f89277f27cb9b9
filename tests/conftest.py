"""Shared fixtures, and the rule for tests that need real services.

Tests marked `postgres` or `redis` skip with a reason when the service is not
configured. CI sets FLOWNALLY_REQUIRE_SERVICES=1, which turns such a skip into
a failure, so a green CI run always exercised PostgreSQL and Redis.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from flownally_admin.tenancy.scopes import ALL_SCOPES, Role
from flownally_admin.tenancy.services import api_key_create

from .factories.tenancy import ServiceAccountFactory, TenantFactory
from .storage import s3_server, s3_storage  # noqa: F401 (fixtures for every test module)


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


def start_worker(*, queue: str = "celery", env: dict | None = None, pool: str = "solo"):
    """Start a real Celery worker process on the test database and the Redis broker; returns
    it once it answers a ping. The caller stops it (terminate, or SIGKILL to test crashes)."""
    from django.db import connection

    from flownally_admin.celery import app

    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}"
        f":{db['PORT'] or 5432}/{db['NAME']}"
    )
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "flownally_admin",
            "worker",
            f"--pool={pool}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queue,
            "-n",
            name,
        ],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            **(env or {}),
        },
        cwd=Path(__file__).resolve().parent.parent,
    )
    hostname = name.replace("%h", socket.gethostname())
    wait_until(
        lambda: app.control.ping(destination=[hostname], timeout=0.5),
        timeout=60,
        what="the Celery worker",
    )
    return worker


def stop_worker(worker) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A worker on the default queue, started once with the first test that needs it.

    Tests using it must be `transaction=True` so that what they write is visible to it.
    """
    from flownally_admin.celery import app

    app.control.purge()  # nothing left over from an earlier run may reach this database
    app.conf.task_always_eager = False
    worker = start_worker()
    try:
        yield worker
    finally:
        app.conf.task_always_eager = True
        stop_worker(worker)


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout}s waiting for {what}")
