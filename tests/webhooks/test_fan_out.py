"""How commits ask for fan-outs: one per tenant per WEBHOOKS_FAN_OUT_INTERVAL_SECONDS,
due after every commit it stands for (changes through the API, their on_commit run)."""

import json
import time

import pytest

from webhooks.dispatch import fan_out_started
from webhooks.models import WebhookDelivery
from webhooks.tasks import webhook_endpoint_deliver_task, webhooks_fan_out_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked(monkeypatch, settings, django_capture_on_commit_callbacks):
    """The fan-outs the commits ask for, as (tenant id, countdown), none of them run."""
    settings.WEBHOOKS_FAN_OUT_INTERVAL_SECONDS = 0.3
    calls = []
    monkeypatch.setattr(
        webhooks_fan_out_task,
        "apply_async",
        lambda args, countdown: calls.append((args[0], countdown)),
    )
    return calls


def _tag(client, name, capture):
    with capture(execute=True):
        assert client.post("/v1/tags", {"name": name}, format="json").status_code == 201


def test_the_commits_of_an_interval_ask_for_one_fan_out_due_after_them(
    client_a, tenant, asked, django_capture_on_commit_callbacks
):
    for name in ("A", "B", "C"):
        _tag(client_a, name, django_capture_on_commit_callbacks)
    assert asked == [(tenant.pk, 0.3)]


def test_each_tenant_has_its_own(
    client_a, client_b, tenant, other_tenant, asked, django_capture_on_commit_callbacks
):
    _tag(client_a, "A", django_capture_on_commit_callbacks)
    _tag(client_b, "B", django_capture_on_commit_callbacks)
    _tag(client_a, "C", django_capture_on_commit_callbacks)
    assert asked == [(tenant.pk, 0.3), (other_tenant.pk, 0.3)]


def test_a_commit_after_the_fan_out_was_due_asks_again(
    client_a, tenant, asked, django_capture_on_commit_callbacks
):
    _tag(client_a, "A", django_capture_on_commit_callbacks)
    time.sleep(0.35)  # the fan-out asked for may have read by now: this commit is not in it
    _tag(client_a, "B", django_capture_on_commit_callbacks)
    assert asked == [(tenant.pk, 0.3), (tenant.pk, 0.3)]


def test_a_commit_after_the_fan_out_started_asks_again_at_once(
    client_a, tenant, asked, django_capture_on_commit_callbacks
):
    _tag(client_a, "A", django_capture_on_commit_callbacks)
    fan_out_started(tenant_id=tenant.pk)  # as the task does first (early: the cache is shared)
    _tag(client_a, "B", django_capture_on_commit_callbacks)
    assert asked == [(tenant.pk, 0.3), (tenant.pk, 0.3)]


@pytest.fixture
def runs_asked(monkeypatch):
    """The endpoints whose delivery run was asked for as a task (run here, eagerly)."""
    asked = []
    run = webhook_endpoint_deliver_task.delay
    monkeypatch.setattr(
        webhook_endpoint_deliver_task,
        "delay",
        lambda endpoint_id: (asked.append(endpoint_id), run(endpoint_id)),
    )
    return asked


def _untold_tags(client, *names):
    """Changes whose commits ask for nothing (no on_commit in the test's transaction)."""
    for name in names:
        assert client.post("/v1/tags", {"name": name}, format="json").status_code == 201


def test_a_fan_out_for_one_endpoint_delivers_itself(
    client_a, tenant, receiver, local_delivery, runs_asked
):
    client_a.post("/v1/webhooks", {"url": receiver.url}, format="json")
    _untold_tags(client_a, "A", "B")
    assert webhooks_fan_out_task(tenant.pk) == 2
    assert [json.loads(body)["data"]["tag"]["name"] for body in receiver.bodies()] == ["A", "B"]
    assert runs_asked == []


def test_a_fan_out_for_several_endpoints_asks_a_run_for_each(
    client_a, tenant, receiver, local_delivery, runs_asked, django_capture_on_commit_callbacks
):
    ids = [client_a.post("/v1/webhooks", {"url": receiver.url}, format="json").json()["id"]]
    ids.append(client_a.post("/v1/webhooks", {"url": receiver.url}, format="json").json()["id"])
    _untold_tags(client_a, "A")
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks_fan_out_task(tenant.pk) == 2
    assert sorted(runs_asked) == sorted(ids)
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 2
