"""Webhook endpoints API (contract §9) through HTTP."""

import pytest
from cryptography.fernet import InvalidToken

from flownally_admin.tenancy.scopes import ALL_SCOPES, Role
from tests.problems import assert_problem, violations
from webhooks.crypto import secret_decrypt
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/flownally"


def _create(client, body=None):
    return client.post("/v1/webhooks", {"url": URL} if body is None else body, format="json")


def _created(client, **body):
    response = _create(client, {"url": URL, **body})
    assert response.status_code == 201, response.content
    return response.json()


# --- create, read, list --------------------------------------------------------


def test_create_answers_the_endpoint_and_its_secret_once(client_a, tenant):
    response = _create(
        client_a,
        {"url": URL, "eventTypes": ["contact.created", "tag.deleted"], "description": " CRM "},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "url",
        "description",
        "eventTypes",
        "enabled",
        "disabledReason",
        "createdAt",
        "createdBy",
        "secret",
    }
    assert body["id"].startswith("whk_") and len(body["id"]) == 30
    assert body["url"] == URL
    assert body["description"] == "CRM"
    assert body["eventTypes"] == ["contact.created", "tag.deleted"]
    assert (body["enabled"], body["disabledReason"]) == (True, None)
    assert body["createdBy"] == client_a.api_key.service_account_id
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 6 + 44

    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.tenant == tenant
    assert body["secret"] not in endpoint.secret  # encrypted at rest
    assert secret_decrypt(endpoint.secret) == body["secret"]

    read = client_a.get(f"/v1/webhooks/{body['id']}")
    assert read.status_code == 200
    assert read.json() == {k: v for k, v in body.items() if k != "secret"}
    listed = client_a.get("/v1/webhooks")
    assert listed.json() == {"webhooks": [read.json()]}


def test_secrets_are_unreadable_with_another_key(client_a, settings):
    endpoint = WebhookEndpoint.objects.get(pk=_created(client_a)["id"])
    settings.WEBHOOKS_SECRET_KEY = "a" * 43 + "="
    with pytest.raises(InvalidToken):
        secret_decrypt(endpoint.secret)


def test_repeated_event_types_are_kept_once(client_a):
    body = _created(client_a, eventTypes=["tag.created", "tag.created", "contact.updated"])
    assert body["eventTypes"] == ["tag.created", "contact.updated"]


def test_list_shows_only_the_tenants_endpoints(client_a, client_b):
    mine = _created(client_a)["id"]
    _created(client_b)
    assert [w["id"] for w in client_a.get("/v1/webhooks").json()["webhooks"]] == [mine]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, [("url", "required")]),
        ({"url": ""}, [("url", "required")]),
        ({"url": 42}, [("url", "invalid")]),
        ({"url": "hooks.example.com/x"}, [("url", "invalid")]),
        ({"url": "ftp://hooks.example.com/x"}, [("url", "invalid")]),
        ({"url": "http://hooks.example.com/x"}, [("url", "invalid")]),
        ({"url": "https://"}, [("url", "invalid")]),
        ({"url": "https://user:pw@hooks.example.com/x"}, [("url", "invalid")]),
        ({"url": "https://hooks.example.com:99999/x"}, [("url", "invalid")]),
        ({"url": "https://hooks.example.com/a b"}, [("url", "invalid")]),
        ({"url": "https://hooks.example.com/" + "a" * 2030}, [("url", "too_long")]),
        ({"url": "https://127.0.0.1/x"}, [("url", "invalid")]),
        ({"url": "https://localhost/x"}, [("url", "invalid")]),
        ({"url": "https://10.1.2.3/x"}, [("url", "invalid")]),
        ({"url": "https://[::1]/x"}, [("url", "invalid")]),
        ({"url": "https://2130706433/x"}, [("url", "invalid")]),
        ({"url": URL, "eventTypes": ["contact.exploded"]}, [("eventTypes[0]", "invalid_choice")]),
        ({"url": URL, "eventTypes": ["webhook.test"]}, [("eventTypes[0]", "invalid_choice")]),
        ({"url": URL, "eventTypes": "contact.created"}, [("eventTypes", "invalid")]),
        ({"url": URL, "eventTypes": [7]}, [("eventTypes[0]", "invalid")]),
        ({"url": URL, "eventTypes": ["tag.created"] * 51}, [("eventTypes", "out_of_range")]),
        ({"url": URL, "description": "d" * 256}, [("description", "too_long")]),
        ({"url": URL, "secret": "whsec_mine"}, [("secret", "unknown_field")]),
        (
            {"url": "https://127.0.0.1/", "eventTypes": ["nope"]},
            [("url", "invalid"), ("eventTypes[0]", "invalid_choice")],
        ),
    ],
)
def test_invalid_create_is_422_on_the_member(client_a, body, expected):
    problem = assert_problem(_create(client_a, body), 422, "validation_failed")
    assert violations(problem) == expected
    assert not WebhookEndpoint.objects.exists()


def test_http_and_private_addresses_only_when_allowed(client_a, settings):
    settings.WEBHOOKS_ALLOW_HTTP = True
    assert _create(client_a, {"url": "http://hooks.example.com/x"}).status_code == 201
    assert _create(client_a, {"url": "http://127.0.0.1:8080/x"}).status_code == 422
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    assert _create(client_a, {"url": "http://127.0.0.1:8080/x"}).status_code == 201


# --- update, delete ------------------------------------------------------------


def test_patch_changes_the_members_given(client_a):
    created = _created(client_a, eventTypes=["tag.created"], description="old")
    response = client_a.patch(
        f"/v1/webhooks/{created['id']}",
        {"url": URL + "/v2", "eventTypes": [], "description": "new"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["url"], body["eventTypes"], body["description"]) == (URL + "/v2", [], "new")
    assert body["enabled"] is True


def test_disabling_and_enabling(client_a):
    endpoint_id = _created(client_a)["id"]
    off = client_a.patch(f"/v1/webhooks/{endpoint_id}", {"enabled": False}, format="json")
    assert (off.json()["enabled"], off.json()["disabledReason"]) == (False, "manual")
    on = client_a.patch(f"/v1/webhooks/{endpoint_id}", {"enabled": True}, format="json")
    assert (on.json()["enabled"], on.json()["disabledReason"]) == (True, None)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, [("body", "required")]),
        ({"enabled": "false"}, [("enabled", "invalid")]),
        ({"enabled": 0}, [("enabled", "invalid")]),
        ({"url": "https://192.168.0.1/"}, [("url", "invalid")]),
        ({"eventTypes": ["contact.exploded"]}, [("eventTypes[0]", "invalid_choice")]),
        ({"id": "whk_mine"}, [("id", "unknown_field")]),
    ],
)
def test_invalid_patch_is_422_and_changes_nothing(client_a, body, expected):
    created = _created(client_a)
    problem = assert_problem(
        client_a.patch(f"/v1/webhooks/{created['id']}", body, format="json"),
        422,
        "validation_failed",
    )
    assert violations(problem) == expected
    assert client_a.get(f"/v1/webhooks/{created['id']}").json()["url"] == URL


def test_delete_removes_the_endpoint_and_its_deliveries(client_a):
    endpoint_id = _created(client_a)["id"]
    client_a.post(f"/v1/webhooks/{endpoint_id}/test")
    response = client_a.delete(f"/v1/webhooks/{endpoint_id}")
    assert response.status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert_problem(client_a.get(f"/v1/webhooks/{endpoint_id}"), 404, "webhook_not_found")


# --- not found ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/rotate-secret"),
        ("post", "/test"),
        ("get", "/deliveries"),
    ],
)
def test_foreign_missing_and_malformed_ids_are_webhook_not_found(
    client_a, client_b, method, suffix
):
    foreign = _created(client_b)["id"]
    for endpoint_id in (foreign, "whk_01ARZ3NDEKTSV4RRFFQ69G5FAV", "nope", "whk_%00"):
        response = getattr(client_a, method)(
            f"/v1/webhooks/{endpoint_id}{suffix}", {"description": "x"}, format="json"
        )
        assert_problem(response, 404, "webhook_not_found")
    assert client_b.get(f"/v1/webhooks/{foreign}").json()["description"] == ""


def test_retry_of_a_foreign_or_missing_delivery_is_delivery_not_found(client_a, client_b):
    mine = _created(client_a)["id"]
    theirs = _created(client_b)["id"]
    their_delivery = client_b.post(f"/v1/webhooks/{theirs}/test").json()["deliveryId"]
    for delivery_id in (their_delivery, "dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV", "junk"):
        assert_problem(
            client_a.post(f"/v1/webhooks/{mine}/deliveries/{delivery_id}/retry"),
            404,
            "delivery_not_found",
        )
    assert_problem(
        client_a.post(f"/v1/webhooks/{theirs}/deliveries/{their_delivery}/retry"),
        404,
        "webhook_not_found",
    )


# --- scope and role ------------------------------------------------------------


def test_agent_keys_get_insufficient_role(make_client, tenant):
    agent = make_client(tenant=tenant, role=Role.AGENT)
    endpoint_id = _created(make_client(tenant=tenant))["id"]
    for method, path in [
        ("get", "/v1/webhooks"),
        ("post", "/v1/webhooks"),
        ("get", f"/v1/webhooks/{endpoint_id}"),
        ("post", f"/v1/webhooks/{endpoint_id}/rotate-secret"),
        ("get", f"/v1/webhooks/{endpoint_id}/deliveries"),
    ]:
        problem = assert_problem(
            getattr(agent, method)(path, {"url": URL}, format="json"), 403, "insufficient_role"
        )
        assert "'owner' or 'admin'" in problem["detail"]


def test_owner_keys_may_manage_webhooks(make_client):
    assert _create(make_client(role=Role.OWNER)).status_code == 201


def test_the_scope_is_checked_before_the_role(make_client):
    scopes = [scope for scope in ALL_SCOPES if scope != "webhook:manage"]
    for role in (Role.AGENT, Role.ADMIN):
        problem = assert_problem(
            _create(make_client(scopes=scopes, role=role)), 403, "insufficient_scope"
        )
        assert "webhook:manage" in problem["detail"]


def test_no_token_is_401(client):
    assert_problem(client.get("/v1/webhooks"), 401, "unauthenticated")


# --- rotate, test, deliveries, retry --------------------------------------------


def test_rotate_secret_answers_a_new_one_and_keeps_the_old_one_signing(client_a):
    created = _created(client_a)
    response = client_a.post(f"/v1/webhooks/{created['id']}/rotate-secret")
    assert response.status_code == 200
    assert set(response.json()) == {"secret"}
    new = response.json()["secret"]
    assert new.startswith("whsec_") and new != created["secret"]
    assert "secret" not in client_a.get(f"/v1/webhooks/{created['id']}").json()
    from webhooks.services import endpoint_signing_secrets

    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint_signing_secrets(endpoint) == [new, created["secret"]]


def test_test_queues_a_webhook_test_delivery(client_a):
    endpoint_id = _created(client_a)["id"]
    response = client_a.post(f"/v1/webhooks/{endpoint_id}/test")
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get(pk=response.json()["deliveryId"])
    assert (delivery.endpoint_id, delivery.event_type) == (endpoint_id, "webhook.test")
    assert delivery.payload["type"] == "webhook.test"
    assert delivery.payload["data"] == {"webhookId": endpoint_id}
    assert delivery.payload["actor"] == {
        "type": "service_account",
        "id": client_a.api_key.service_account_id,
    }


def _deliveries(endpoint_id, count, **fields):
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    made = []
    for n in range(count):
        made.append(
            WebhookDelivery.objects.create(
                tenant=endpoint.tenant,
                endpoint=endpoint,
                event_sequence=n + 1,
                event_id=f"evt_{n:026d}",
                event_type="contact.created",
                **fields,
            )
        )
    return made


def test_deliveries_are_listed_newest_first_in_pages(client_a):
    endpoint_id = _created(client_a)["id"]
    made = _deliveries(endpoint_id, 5)
    seen, token = [], None
    while True:
        query = "?pageSize=2" + (f"&pageToken={token}" if token else "")
        body = client_a.get(f"/v1/webhooks/{endpoint_id}/deliveries{query}").json()
        seen += body["deliveries"]
        token = body.get("nextPageToken")
        if token is None:
            break
    assert [d["id"] for d in seen] == [d.pk for d in reversed(made)]
    assert seen[0] == {
        "id": made[-1].pk,
        "eventId": made[-1].event_id,
        "eventType": "contact.created",
        "status": "pending",
        "attempts": 0,
        "lastAttemptAt": None,
        "nextAttemptAt": None,
        "lastResponseStatus": None,
        "lastError": None,
    }


def test_deliveries_filter_by_status(client_a):
    endpoint_id = _created(client_a)["id"]
    _deliveries(endpoint_id, 2)
    failed = WebhookDelivery.objects.order_by("pk").first()
    failed.status = DeliveryStatus.FAILED
    failed.save()
    body = client_a.get(f"/v1/webhooks/{endpoint_id}/deliveries?status=failed").json()
    assert [d["id"] for d in body["deliveries"]] == [failed.pk]
    problem = assert_problem(
        client_a.get(f"/v1/webhooks/{endpoint_id}/deliveries?status=lost"),
        422,
        "validation_failed",
    )
    assert violations(problem) == [("status", "invalid_choice")]


def test_a_page_token_is_bound_to_its_endpoint_and_status(client_a):
    first, second = _created(client_a)["id"], _created(client_a)["id"]
    _deliveries(first, 3)
    token = client_a.get(f"/v1/webhooks/{first}/deliveries?pageSize=1").json()["nextPageToken"]
    for url in (
        f"/v1/webhooks/{second}/deliveries?pageToken={token}",
        f"/v1/webhooks/{first}/deliveries?status=failed&pageToken={token}",
        f"/v1/webhooks/{first}/deliveries?pageToken=garbage",
    ):
        assert_problem(client_a.get(url), 400, "invalid_page_token")


def test_retry_makes_a_delivery_due_now(client_a):
    endpoint_id = _created(client_a)["id"]
    (delivery,) = _deliveries(endpoint_id, 1, status=DeliveryStatus.FAILED, attempts=8)
    response = client_a.post(f"/v1/webhooks/{endpoint_id}/deliveries/{delivery.pk}/retry")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 8)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.next_attempt_at is not None
