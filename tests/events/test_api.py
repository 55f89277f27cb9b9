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
