"""The event API: a contact's history (and the sync feed)."""

import pytest

from tests.problems import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(client_a):
    contact = client_a.post("/v1/contacts", {"name": "Ada"}, format="json").json()
    for name in ("Ada L", "Ada Lovelace", "Ada King"):
        client_a.patch(f"/v1/contacts/{contact['id']}", {"name": name}, format="json")
    return contact


def test_history_is_newest_first_in_pages(client_a, ada):
    first = client_a.get(f"/v1/contacts/{ada['id']}/history?pageSize=3").json()
    assert [e["sequence"] for e in first["events"]] == [4, 3, 2]
    assert first["events"][0]["type"] == "contact.updated"
    assert first["events"][0]["data"]["changes"] == {
        "name": {"from": "Ada Lovelace", "to": "Ada King"}
    }
    assert first["events"][0]["actor"]["type"] == "service_account"
    assert first["events"][0]["source"] == "api"
    token = first["nextPageToken"]
    second = client_a.get(f"/v1/contacts/{ada['id']}/history?pageSize=3&pageToken={token}").json()
    assert [e["sequence"] for e in second["events"]] == [1]
    assert second["events"][0]["type"] == "contact.created"
    assert "nextPageToken" not in second


def test_history_of_another_contact_refuses_the_token(client_a, ada):
    other = client_a.post("/v1/contacts", {"name": "Grace"}, format="json").json()
    token = client_a.get(f"/v1/contacts/{ada['id']}/history?pageSize=1").json()["nextPageToken"]
    response = client_a.get(f"/v1/contacts/{other['id']}/history?pageToken={token}")
    assert_problem(response, 400, "invalid_page_token")
    assert_problem(
        client_a.get(f"/v1/contacts/{ada['id']}/history?pageToken=tampered"),
        400,
        "invalid_page_token",
    )


def test_history_of_a_deleted_or_foreign_contact_is_404(client_a, client_b, ada):
    assert_problem(client_b.get(f"/v1/contacts/{ada['id']}/history"), 404, "contact_not_found")
    client_a.delete(f"/v1/contacts/{ada['id']}")
    assert_problem(client_a.get(f"/v1/contacts/{ada['id']}/history"), 404, "contact_not_found")


def test_history_needs_contact_read(make_client, tenant, ada):
    client = make_client(tenant=tenant, scopes=["contact:list"])
    assert_problem(client.get(f"/v1/contacts/{ada['id']}/history"), 403, "insufficient_scope")


def test_history_page_size_is_checked(client_a, ada):
    assert_problem(
        client_a.get(f"/v1/contacts/{ada['id']}/history?pageSize=0"), 422, "validation_failed"
    )


# --- the feed -----------------------------------------------------------------------


@pytest.fixture
def log(client_a, client_b):
    """Five events of tenant A (three of one contact), one of tenant B."""
    ada = client_a.post("/v1/contacts", {"name": "Ada"}, format="json").json()
    client_a.post("/v1/tags", {"name": "VIP"}, format="json")
    client_a.patch(f"/v1/contacts/{ada['id']}", {"name": "Ada L"}, format="json")
    client_a.post(f"/v1/contacts/{ada['id']}/archive")
    client_a.post("/v1/contacts", {"name": "Grace"}, format="json")
    client_b.post("/v1/contacts", {"name": "Theirs"}, format="json")
    return ada


def _feed(client, query=""):
    response = client.get(f"/v1/events{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    return [(e["sequence"], e["type"]) for e in body["events"]], body["nextAfter"]


def test_the_feed_reads_in_order_after_a_sequence(client_a, log):
    assert _feed(client_a) == (
        [
            (1, "contact.created"),
            (2, "tag.created"),
            (3, "contact.updated"),
            (4, "contact.archived"),
            (5, "contact.created"),
        ],
        5,
    )
    assert _feed(client_a, "?after=1&pageSize=2") == (
        [(2, "tag.created"), (3, "contact.updated")],
        3,
    )
    assert _feed(client_a, "?after=5") == ([], 5)
    assert _feed(client_a, "?after=99") == ([], 99)


def test_the_feed_filters_by_type_and_contact(client_a, client_b, log):
    assert _feed(client_a, "?types=tag.created,contact.archived") == (
        [(2, "tag.created"), (4, "contact.archived")],
        4,
    )
    assert _feed(client_a, "?types=tag.created&types=contact.archived")[0] == [
        (2, "tag.created"),
        (4, "contact.archived"),
    ]
    assert [s for s, _ in _feed(client_a, f"?contactId={log['id']}")[0]] == [1, 3, 4]
    # Another tenant's contact, or a contact that never existed: nothing, not an error.
    assert _feed(client_b, f"?contactId={log['id']}") == ([], 0)
    assert _feed(client_a, "?contactId=ctc_01ARZ3NDEKTSV4RRFFQ69G5FAV") == ([], 0)


def test_the_feed_keeps_a_deleted_contacts_events(client_a, log):
    client_a.delete(f"/v1/contacts/{log['id']}")
    events, _ = _feed(client_a, f"?contactId={log['id']}")
    assert events[-1][1] == "contact.deleted"


def test_the_feed_is_per_tenant(client_b, log):
    assert _feed(client_b) == ([(1, "contact.created")], 1)


def test_an_event_as_the_feed_shows_it(client_a, log):
    response = client_a.get("/v1/events?pageSize=1")
    (event,) = response.json()["events"]
    assert set(event) == {
        "id",
        "sequence",
        "type",
        "occurredAt",
        "actor",
        "source",
        "traceId",
        "data",
    }
    assert event["id"].startswith("evt_")
    assert event["actor"]["type"] == "service_account"
    assert event["data"]["contact"]["id"] == log["id"]


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("?after=-1", "after", "invalid"),
        ("?after=abc", "after", "invalid"),
        ("?after=", "after", "invalid"),
        ("?after=%EF%BC%95", "after", "invalid"),  # a full-width 5
        ("?after=99999999999999999999", "after", "invalid"),
        ("?types=contact.exploded", "types", "invalid_choice"),
        ("?types=", "types", "invalid_choice"),
        ("?contactId=nope", "contactId", "invalid"),
        ("?pageSize=0", "pageSize", "out_of_range"),
        ("?pageSize=ten", "pageSize", "invalid"),
    ],
)
def test_bad_feed_parameters_are_422(client_a, query, field, code):
    problem = assert_problem(client_a.get(f"/v1/events{query}"), 422, "validation_failed")
    assert [(v["field"], v["code"]) for v in problem["errors"]] == [(field, code)]


def test_page_size_is_capped_at_a_thousand(client_a, tenant):
    from django.db import transaction

    from events.services import NewEvent, events_record

    with transaction.atomic():
        events_record(tenant=tenant, events=[NewEvent("tag.created", {}) for _ in range(1001)])
    events, next_after = _feed(client_a, "?pageSize=5000")
    assert (len(events), next_after) == (1000, 1000)


def test_after_below_the_purged_range_is_410(client_a, tenant, log):
    from events.models import EventCounter

    EventCounter.objects.filter(tenant=tenant).update(purged_through=3)
    body = assert_problem(client_a.get("/v1/events?after=2"), 410, "events_expired")
    assert body["type"] == "/problems/events_expired"
    assert _feed(client_a, "?after=3")[0] == [(4, "contact.archived"), (5, "contact.created")]


def test_the_feed_needs_event_list(make_client, tenant):
    client = make_client(tenant=tenant, scopes=["contact:list"])
    assert_problem(client.get("/v1/events"), 403, "insufficient_scope")
    assert make_client(tenant=tenant, scopes=["event:list"]).get("/v1/events").status_code == 200


def test_the_feed_and_history_show_an_event_alike(client_a, log):
    """The feed passes `data` through as stored; history builds it: the same document."""
    feed = client_a.get("/v1/events").json()["events"]
    history = client_a.get(f"/v1/contacts/{log['id']}/history").json()["events"]
    assert [e for e in feed if e["data"].get("contact", {}).get("id") == log["id"]] == history[::-1]
    assert client_a.get("/v1/events")["Content-Type"] == "application/json; charset=utf-8"
