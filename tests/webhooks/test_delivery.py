"""Deliveries end to end in this process: changes through the API, the fan-out and the
delivery tasks (eager), a real HTTP receiver on 127.0.0.1."""

import base64
import hashlib
import hmac
import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from events.models import Event
from events.representation import event_data
from webhooks.dispatch import RETRY_DELAYS, webhook_fan_out, webhooks_sweep
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _delivery(**filters) -> WebhookDelivery:
    return WebhookDelivery.objects.get(**filters)


def test_a_change_is_delivered_as_its_event_signed_by_the_library(hooked, receiver, tenant):
    subscribe, change = hooked
    secret = subscribe()["secret"]
    contact = change("post", "/v1/contacts", {"name": "Ada"})

    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    event = Event.objects.get(tenant=tenant)
    assert json.loads(body) == event_data(event)
    assert json.loads(body)["data"]["contact"]["id"] == contact["id"]
    assert headers["webhook-id"] == event.id
    assert headers["content-type"] == "application/json"
    assert Webhook(secret).verify(body, headers) == event_data(event)
    delivery = _delivery(event_id=event.id)
    assert (delivery.status, delivery.attempts, delivery.last_response_status) == (
        "succeeded",
        1,
        204,
    )
    assert delivery.next_attempt_at is None and delivery.last_error == ""


def test_the_signature_is_hmac_sha256_over_id_timestamp_and_body(hooked, receiver):
    subscribe, change = hooked
    secret = subscribe()["secret"]
    change("post", "/v1/tags", {"name": "VIP"})
    headers, body = receiver.requests[0]
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert abs(int(headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60


def test_after_a_rotation_both_secrets_sign(hooked, receiver, client_a):
    subscribe, change = hooked
    created = subscribe()
    new = client_a.post(f"/v1/webhooks/{created['id']}/rotate-secret").json()["secret"]
    change("post", "/v1/tags", {"name": "VIP"})
    headers, body = receiver.requests[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, headers)
    assert Webhook(created["secret"]).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(body, headers)

    # A day later only the new one signs.
    WebhookEndpoint.objects.update(previous_secret_expires_at=timezone.now())
    change("post", "/v1/tags", {"name": "Gold"})
    headers, body = receiver.requests[1]
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(body, headers)


def test_an_endpoint_gets_the_types_it_subscribes_to_from_its_creation_on(hooked, receiver):
    subscribe, change = hooked
    change("post", "/v1/tags", {"name": "Before"})
    subscribe(eventTypes=["tag.created"])
    change("post", "/v1/contacts", {"name": "Ada"})
    change("post", "/v1/tags", {"name": "After"})
    assert [json.loads(b)["data"]["tag"]["name"] for b in receiver.bodies()] == ["After"]


def test_a_disabled_endpoint_gets_nothing_and_re_enabled_only_what_follows(
    hooked, receiver, client_a
):
    subscribe, change = hooked
    endpoint_id = subscribe()["id"]
    client_a.patch(f"/v1/webhooks/{endpoint_id}", {"enabled": False}, format="json")
    change("post", "/v1/tags", {"name": "While disabled"})
    client_a.patch(f"/v1/webhooks/{endpoint_id}", {"enabled": True}, format="json")
    change("post", "/v1/tags", {"name": "Enabled"})
    assert [json.loads(b)["data"]["tag"]["name"] for b in receiver.bodies()] == ["Enabled"]


def test_several_endpoints_each_get_each_event_once(hooked, receiver):
    subscribe, change = hooked
    subscribe()
    subscribe()
    change("post", "/v1/tags", {"name": "A"})
    change("post", "/v1/tags", {"name": "B"})
    assert len(receiver.requests) == 4
    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert sorted(set(ids)) == sorted(Event.objects.values_list("id", flat=True))
    webhook_fan_out(tenant_id=WebhookEndpoint.objects.first().tenant_id)  # again: nothing new
    assert WebhookDelivery.objects.count() == 4


def test_the_test_ping_is_signed_and_typed_webhook_test(hooked, receiver):
    subscribe, change = hooked
    created = subscribe()
    change("post", f"/v1/webhooks/{created['id']}/test")
    headers, body = receiver.requests[0]
    ping = Webhook(created["secret"]).verify(body, headers)
    assert ping["type"] == "webhook.test"
    assert ping["sequence"] is None
    assert ping["data"] == {"webhookId": created["id"]}
    assert headers["webhook-id"] == ping["id"]
    assert not Event.objects.exists()  # not an event of the log


def test_events_whose_commit_signal_was_lost_are_found_by_the_sweep(
    client_a, receiver, local_delivery
):
    client_a.post("/v1/webhooks", {"url": receiver.url}, format="json")
    for name in ("A", "B", "C"):  # no on_commit here: as if each fan-out message were lost
        client_a.post("/v1/tags", {"name": name}, format="json")
    assert receiver.requests == []
    assert webhooks_sweep()["fanned_out"] == 1
    assert [json.loads(b)["data"]["tag"]["name"] for b in receiver.bodies()] == ["A", "B", "C"]
    assert webhooks_sweep() == {"fanned_out": 0, "endpoints_due": 0}
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 3


# --- failures and retries ---------------------------------------------------------


def _later(delivery: WebhookDelivery) -> None:
    """Time passes until the delivery's next attempt is due."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_retries_follow_the_schedule_then_fail(hooked, receiver):
    subscribe, change = hooked
    receiver.answer = 503
    subscribe()
    change("post", "/v1/tags", {"name": "VIP"})
    delivery = WebhookDelivery.objects.get()
    waits = []
    while True:
        delivery.refresh_from_db()
        if delivery.status != "retrying":
            break
        waits.append(delivery.next_attempt_at - delivery.last_attempt_at)
        assert (delivery.last_response_status, delivery.last_error) == (503, "http_error")
        _later(delivery)
        webhooks_sweep()
    assert waits == list(RETRY_DELAYS)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert len(receiver.requests) == 8
    assert {headers["webhook-id"] for headers, _ in receiver.requests} == {delivery.event_id}


def test_a_retry_that_succeeds_clears_the_error(hooked, receiver, client_a):
    subscribe, change = hooked
    receiver.answer = 500
    endpoint_id = subscribe()["id"]
    change("post", "/v1/tags", {"name": "VIP"})
    delivery = WebhookDelivery.objects.get()
    receiver.answer = 200
    change("post", f"/v1/webhooks/{endpoint_id}/deliveries/{delivery.pk}/retry")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("succeeded", 2, "")
    assert WebhookEndpoint.objects.get().failing_since is None


def test_a_410_disables_the_endpoint_as_gone_and_fails_the_rest(hooked, receiver, client_a):
    subscribe, change = hooked
    receiver.answer = 500
    endpoint_id = subscribe()["id"]
    change("post", "/v1/tags", {"name": "A"})
    receiver.answer = 410
    change("post", "/v1/tags", {"name": "B"})
    endpoint = client_a.get(f"/v1/webhooks/{endpoint_id}").json()
    assert (endpoint["enabled"], endpoint["disabledReason"]) == (False, "gone")
    deliveries = client_a.get(f"/v1/webhooks/{endpoint_id}/deliveries").json()["deliveries"]
    assert [(d["status"], d["lastResponseStatus"], d["lastError"]) for d in deliveries] == [
        ("failed", 410, "gone"),
        ("failed", 500, "endpoint_disabled"),
    ]
    change("post", "/v1/tags", {"name": "C"})
    assert len(receiver.requests) == 2


def test_an_endpoint_failing_for_five_days_is_disabled(hooked, receiver):
    subscribe, change = hooked
    receiver.answer = 500
    subscribe()
    change("post", "/v1/tags", {"name": "A"})
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.failing_since is not None and endpoint.enabled
    WebhookEndpoint.objects.update(failing_since=timezone.now() - timedelta(days=5, seconds=1))
    change("post", "/v1/tags", {"name": "B"})
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "failing")


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        ("hang", None, "timeout"),
        ("reset", None, "connection_failed"),
        ("garbage", None, "invalid_response"),
        ("close", None, "invalid_response"),
        (302, 302, "redirect_not_followed"),
        (301, 301, "redirect_not_followed"),
        (400, 400, "http_error"),
    ],
)
def test_a_bad_receiver_is_a_failed_attempt_with_its_reason(
    hooked, receiver, local_delivery, answer, status, error
):
    local_delivery.WEBHOOKS_TIMEOUT_SECONDS = 0.5
    subscribe, change = hooked
    receiver.answer = answer
    subscribe()
    change("post", "/v1/tags", {"name": "A"})
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    assert (delivery.last_response_status, delivery.last_error) == (status, error)
    assert len(receiver.requests) == 1  # the redirect was not followed


def test_a_receiver_that_is_down_fails_with_connection_failed(client_a, local_delivery):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    client_a.post("/v1/webhooks", {"url": f"http://127.0.0.1:{port}/x"}, format="json")
    client_a.post("/v1/tags", {"name": "A"}, format="json")
    webhooks_sweep()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("retrying", "connection_failed")


def test_an_unreachable_receiver_is_tried_once_per_run(client_a, receiver, local_delivery):
    local_delivery.WEBHOOKS_TIMEOUT_SECONDS = 0.5
    receiver.answer = "hang"
    client_a.post("/v1/webhooks", {"url": receiver.url}, format="json")
    for name in ("A", "B", "C"):
        client_a.post("/v1/tags", {"name": name}, format="json")
    webhooks_sweep()
    assert len(receiver.requests) == 1
    tried, *waiting = WebhookDelivery.objects.order_by("event_sequence")
    assert (tried.status, tried.attempts, tried.last_error) == ("retrying", 1, "timeout")
    for delivery in waiting:
        assert (delivery.status, delivery.attempts) == ("pending", 0)
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=3)


def test_an_expired_event_fails_its_delivery(client_a, receiver, local_delivery):
    client_a.post("/v1/webhooks", {"url": receiver.url}, format="json")
    client_a.post("/v1/tags", {"name": "A"}, format="json")
    webhook_fan_out(tenant_id=WebhookEndpoint.objects.get().tenant_id)
    Event.objects.all().delete()  # retention got there first
    webhooks_sweep()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "failed",
        0,
        "event_expired",
    )
    assert receiver.requests == []


# --- addresses at delivery time ------------------------------------------------


@pytest.fixture
def resolving_to(monkeypatch):
    """Make every DNS name resolve to the given address."""

    def resolve(address):
        def getaddrinfo(host, port, *args, **kwargs):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    return resolve


def test_a_name_that_resolves_to_a_private_address_is_blocked(
    client_a, receiver, settings, resolving_to
):
    settings.WEBHOOKS_ALLOW_HTTP = True
    port = receiver.url.split(":")[2].split("/")[0]
    response = client_a.post(
        "/v1/webhooks", {"url": f"http://hooks.example.com:{port}/x"}, format="json"
    )
    assert response.status_code == 201  # a name is checked when it is used
    resolving_to("127.0.0.1")
    client_a.post("/v1/tags", {"name": "A"}, format="json")
    webhooks_sweep()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("retrying", "blocked_address")
    assert delivery.last_response_status is None
    assert receiver.requests == []


def test_an_address_allowed_when_saved_is_checked_again_at_delivery(client_a, receiver, settings):
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    client_a.post("/v1/webhooks", {"url": receiver.url}, format="json")
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    client_a.post("/v1/tags", {"name": "A"}, format="json")
    webhooks_sweep()
    assert WebhookDelivery.objects.get().last_error == "blocked_address"
    assert receiver.requests == []


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept(
    client_a, receiver, local_delivery, resolving_to
):
    port = receiver.url.split(":")[2].split("/")[0]
    client_a.post("/v1/webhooks", {"url": f"http://hooks.example.com:{port}/x"}, format="json")
    resolving_to("127.0.0.1")
    client_a.post("/v1/tags", {"name": "A"}, format="json")
    webhooks_sweep()
    assert WebhookDelivery.objects.get().status == "succeeded"
    headers, _ = receiver.requests[0]
    assert headers["host"] == f"hooks.example.com:{port}"
