"""Another tenant's contact, tag or definition is a 404 everywhere, and never leaks."""

import pytest

from tests.problems import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(client_b, other_tenant):
    """A contact of tenant B with a tag, a value and an identity."""
    tag = client_b.post("/v1/tags", {"name": "b-secret-tag"}, format="json").json()
    field = client_b.post(
        "/v1/contacts/custom-fields", {"name": "B field", "type": "text"}, format="json"
    ).json()
    contact = client_b.post(
        "/v1/contacts",
        {
            "name": "B secret person",
            "identities": [{"channel": "whatsapp", "externalId": "+14155550123"}],
            "tagIds": [tag["id"]],
            "customFields": {field["id"]: "b-value", "cf_email": "secret@b.io"},
        },
        format="json",
    ).json()
    return {"contact": contact, "tag": tag, "field": field}


def test_every_contact_operation_answers_404_for_another_tenants_contact(
    client_a, theirs, vip, renewal
):
    cid = theirs["contact"]["id"]
    calls = [
        ("get", f"/v1/contacts/{cid}", None),
        ("patch", f"/v1/contacts/{cid}", {"name": "hijacked"}),
        ("delete", f"/v1/contacts/{cid}", None),
        ("post", f"/v1/contacts/{cid}/archive", None),
        ("post", f"/v1/contacts/{cid}/unarchive", None),
        ("put", f"/v1/contacts/{cid}/custom-fields/{renewal.public_id}", {"value": "2026-01-01"}),
        ("post", f"/v1/contacts/{cid}/tags/{vip.pk}", None),
        ("delete", f"/v1/contacts/{cid}/tags/{vip.pk}", None),
    ]
    for method, path, body in calls:
        response = getattr(client_a, method)(path, body, format="json")
        problem = assert_problem(response, 404, "contact_not_found")
        assert "secret" not in response.content.decode()
        assert problem["detail"] == f"No contact with id '{cid}'."


def test_another_tenants_tag_and_field_are_404_on_my_contact(client_a, make_contact, theirs):
    mine = make_contact(name="Mine")["id"]
    assert_problem(
        client_a.post(f"/v1/contacts/{mine}/tags/{theirs['tag']['id']}"), 404, "tag_not_found"
    )
    assert_problem(
        client_a.delete(f"/v1/contacts/{mine}/tags/{theirs['tag']['id']}"), 404, "tag_not_found"
    )
    response = client_a.put(
        f"/v1/contacts/{mine}/custom-fields/{theirs['field']['id']}", {"value": "x"}, format="json"
    )
    assert_problem(response, 404, "custom_field_not_found")


def test_another_tenants_ids_in_bodies_and_filters_are_unknown(client_a, theirs):
    problem = assert_problem(
        client_a.post(
            "/v1/contacts",
            {
                "name": "x",
                "tagIds": [theirs["tag"]["id"]],
                "customFields": {theirs["field"]["id"]: "v"},
            },
            format="json",
        ),
        422,
        "validation_failed",
    )
    assert {e["code"] for e in problem["errors"]} == {"unknown_tag", "unknown_custom_field"}
    response = client_a.get("/v1/contacts", {f"customFields[{theirs['field']['id']}]": "b-value"})
    assert_problem(response, 422, "validation_failed")
    assert client_a.get("/v1/contacts", {"tagIds": theirs["tag"]["id"]}).json() == {"contacts": []}


def test_another_tenants_contacts_never_appear_in_lists_searches_or_counts(client_a, theirs):
    for search in ["secret", "4155550123", "secret@b.io", "b-secret-tag"]:
        assert client_a.get("/v1/contacts", {"search": search}).json() == {"contacts": []}
    assert client_a.get("/v1/contacts").json() == {"contacts": []}
    assert client_a.get("/v1/contacts", {"channels": "whatsapp"}).json() == {"contacts": []}
    assert client_a.get("/v1/contacts/count").json() == {"count": 0}


def test_identities_are_unique_per_tenant_only(client_a, theirs):
    response = client_a.post(
        "/v1/contacts",
        {"identities": [{"channel": "whatsapp", "externalId": "+14155550123"}]},
        format="json",
    )
    assert response.status_code == 201


def test_another_tenants_page_token_is_refused(client_a, client_b, theirs):
    client_b.post("/v1/contacts", {"name": "B two"}, format="json")
    token = client_b.get("/v1/contacts", {"pageSize": 1}).json()["nextPageToken"]
    assert_problem(
        client_a.get("/v1/contacts", {"pageToken": token, "pageSize": 1}), 400, "invalid_page_token"
    )
