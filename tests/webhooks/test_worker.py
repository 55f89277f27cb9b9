"""Deliveries by real Celery workers over Redis and PostgreSQL: nothing is lost when a
worker is killed mid-delivery, when Redis is flushed, or while the receiver is down."""

import os
import signal
import threading
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from events.models import Event
from tests.conftest import start_worker, stop_worker, wait_until
from tests.factories.tenancy import TenantFactory
from webhooks.dispatch import webhook_fan_out, webhooks_sweep
from webhooks.models import OPEN_STATUSES, WebhookDelivery, WebhookEndpoint

from .receiver import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WORKER_ENV = {
    "WEBHOOKS_ALLOW_HTTP": "true",
    "WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true",
    "WEBHOOKS_TIMEOUT_SECONDS": "2",
    "WEBHOOKS_LEASE_SECONDS": "4",
}


@pytest.fixture(autouse=True)
def queued_for_real_workers(local_delivery):
    """Tasks go to Redis for the worker processes, not run in this process."""
    from flownally_admin.celery import app

    app.control.purge()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def worker():
    process = start_worker(queue="webhooks", env=WORKER_ENV)
    yield process
    if process.poll() is None:
        stop_worker(process)


def _redeclare_queues() -> None:
    from flownally_admin.celery import app

    with app.connection_for_write() as conn:
        for queue in app.amqp.queues.values():
            queue(conn.default_channel).declare()


def _subscribe(client, url) -> str:
    response = client.post("/v1/webhooks", {"url": url}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _tags(client, count: int, prefix: str = "t") -> None:
    for n in range(count):
        assert client.post("/v1/tags", {"name": f"{prefix}{n}"}, format="json").status_code == 201


def _event_ids(tenant) -> set[str]:
    return set(Event.objects.filter(tenant=tenant).values_list("id", flat=True))


def _all_succeeded(endpoint_id: str, count: int) -> bool:
    deliveries = WebhookDelivery.objects.filter(endpoint_id=endpoint_id)
    return deliveries.filter(status="succeeded").count() == count == deliveries.count()


def test_commits_are_delivered_by_the_worker_without_the_sweep(make_client, receiver, worker):
    tenant = TenantFactory()
    client = make_client(tenant=tenant)
    endpoint_id = _subscribe(client, receiver.url)
    _tags(client, 20)
    wait_until(lambda: _all_succeeded(endpoint_id, 20), timeout=30, what="20 deliveries")
    assert receiver.message_ids() == _event_ids(tenant)


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next(make_client, receiver, worker):
    tenant = TenantFactory()
    client = make_client(tenant=tenant)
    endpoint_id = _subscribe(client, receiver.url)
    receiver.answer = "hang"
    _tags(client, 1)
    wait_until(lambda: receiver.requests, timeout=30, what="the first attempt")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    receiver.answer = 204
    receiver.released.set()
    delivery = WebhookDelivery.objects.get(endpoint_id=endpoint_id)
    assert (delivery.status, delivery.attempts) == ("pending", 0)  # the attempt never ended

    second = start_worker(queue="webhooks", env=WORKER_ENV)
    try:
        wait_until(
            lambda: WebhookDelivery.objects.get(pk=delivery.pk).next_attempt_at < timezone.now(),
            timeout=30,
            what="the dead worker's lease to lapse",
        )
        webhooks_sweep()  # what beat does every few seconds
        wait_until(lambda: _all_succeeded(endpoint_id, 1), timeout=30, what="the delivery")
    finally:
        stop_worker(second)
    assert [headers["webhook-id"] for headers, _ in receiver.requests] == [delivery.event_id] * 2


def test_work_queued_in_a_flushed_redis_is_found_in_the_database(make_client, receiver):
    tenant = TenantFactory()
    client = make_client(tenant=tenant)
    endpoint_id = _subscribe(client, receiver.url)
    _tags(client, 10)  # no worker yet: the fan-out messages wait in Redis
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    _redeclare_queues()  # for the suite's other workers, whose queue bindings went too
    assert not WebhookDelivery.objects.exists()

    worker = start_worker(queue="webhooks", env=WORKER_ENV)
    try:
        webhooks_sweep()
        wait_until(lambda: _all_succeeded(endpoint_id, 10), timeout=30, what="10 deliveries")
    finally:
        stop_worker(worker)
    assert receiver.message_ids() == _event_ids(tenant)


def test_a_receiver_down_for_an_hour_gets_everything_when_it_is_back(make_client, worker):
    tenant = TenantFactory()
    client = make_client(tenant=tenant)
    receiver = Receiver()
    url, port = receiver.url, receiver.port
    receiver.stop()  # down: connections are refused
    endpoint_id = _subscribe(client, url)
    _tags(client, 10)
    wait_until(
        lambda: WebhookDelivery.objects.filter(endpoint_id=endpoint_id, attempts__gt=0).exists(),
        timeout=30,
        what="a failed attempt",
    )
    failed = WebhookDelivery.objects.filter(endpoint_id=endpoint_id, attempts__gt=0).first()
    assert (failed.status, failed.last_error) == ("retrying", "connection_failed")

    # An hour later, every delivery is due again, and the receiver is back.
    open_deliveries = WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status__in=OPEN_STATUSES
    )
    open_deliveries.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    back = Receiver(port=port)
    try:
        webhooks_sweep()
        wait_until(lambda: _all_succeeded(endpoint_id, 10), timeout=30, what="10 deliveries")
    finally:
        back.stop()
    assert back.message_ids() == _event_ids(tenant)
    assert WebhookEndpoint.objects.get(pk=endpoint_id).failing_since is None


def test_concurrent_fan_outs_of_a_tenant_make_each_delivery_once(make_client, receiver):
    tenant = TenantFactory()
    client = make_client(tenant=tenant)
    endpoints = [_subscribe(client, receiver.url) for _ in range(2)]
    _tags(client, 30)  # no worker runs: their fan-outs wait in Redis, these four race
    assert not WebhookDelivery.objects.exists()

    def fan_out():
        try:
            webhook_fan_out(tenant_id=tenant.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=fan_out) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for endpoint_id in endpoints:
        sequences = list(
            WebhookDelivery.objects.filter(endpoint_id=endpoint_id).values_list(
                "event_sequence", flat=True
            )
        )
        assert sorted(sequences) == list(range(1, 31))


def test_the_worker_keeps_its_database_connection_from_task_to_task(make_client, receiver, worker):
    tenant = TenantFactory()
    client = make_client(tenant=tenant)
    endpoint_id = _subscribe(client, receiver.url)
    _tags(client, 1, prefix="warm")
    wait_until(lambda: _all_succeeded(endpoint_id, 1), timeout=30, what="the first delivery")
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        since = cursor.fetchone()[0]
    for n in range(1, 5):  # one at a time: each a fan-out and a delivery run of its own
        _tags(client, 1, prefix=f"t{n}-")
        wait_until(lambda n=n: _all_succeeded(endpoint_id, 1 + n), timeout=30, what="a delivery")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_start > %s AND pid <> pg_backend_pid()",
            [since],
        )
        assert cursor.fetchone()[0] == 0  # eight tasks, no new connection
