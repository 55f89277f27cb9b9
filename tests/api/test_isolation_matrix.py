"""Every /v1 operation, called by tenant A with tenant B's ids: 404, and nothing of B leaks."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.problems import assert_problem

pytestmark = pytest.mark.django_db

SECRET = "b-secret"


@pytest.fixture
def theirs(client_b, django_capture_on_commit_callbacks):
    """Tenant B's tag, fields, contact and import, every name carrying SECRET."""
    tag = client_b.post("/v1/tags", {"name": f"{SECRET}-tag"}, format="json").json()
    field = client_b.post(
        "/v1/contacts/custom-fields", {"name": f"{SECRET}-field", "type": "text"}, format="json"
    ).json()
    prop = client_b.post(
        "/v1/properties/custom-fields", {"name": f"{SECRET}-prop", "type": "text"}, format="json"
    ).json()
    contact = client_b.post(
        "/v1/contacts",
        {"name": f"{SECRET} person", "tagIds": [tag["id"]], "customFields": {field["id"]: SECRET}},
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        imp = client_b.post(
            "/v1/contacts/import",
            {"file": SimpleUploadedFile(f"{SECRET}.csv", b"name,email\nx,bad\n")},
            format="multipart",
        ).json()
    return {
        "contact": contact["id"],
        "tag": tag["id"],
        "field": field["id"],
        "prop": prop["id"],
        "import": imp["id"],
    }


OPERATIONS = [
    ("get", "/v1/contacts/{contact}", None, "contact_not_found"),
    ("patch", "/v1/contacts/{contact}", {"name": "mine"}, "contact_not_found"),
    ("delete", "/v1/contacts/{contact}", None, "contact_not_found"),
    ("post", "/v1/contacts/{contact}/archive", None, "contact_not_found"),
    ("post", "/v1/contacts/{contact}/unarchive", None, "contact_not_found"),
    (
        "put",
        "/v1/contacts/{contact}/custom-fields/cf_email",
        {"value": "a@b.co"},
        "contact_not_found",
    ),
    ("post", "/v1/contacts/{contact}/tags/{tag}", None, "contact_not_found"),
    ("delete", "/v1/contacts/{contact}/tags/{tag}", None, "contact_not_found"),
    ("put", "/v1/contacts/{mine}/custom-fields/{field}", {"value": "x"}, "custom_field_not_found"),
    ("post", "/v1/contacts/{mine}/tags/{tag}", None, "tag_not_found"),
    ("delete", "/v1/contacts/{mine}/tags/{tag}", None, "tag_not_found"),
    ("delete", "/v1/tags/{tag}", None, "tag_not_found"),
    ("patch", "/v1/contacts/custom-fields/{field}", {"name": "mine"}, "custom_field_not_found"),
    ("delete", "/v1/contacts/custom-fields/{field}", None, "custom_field_not_found"),
    ("patch", "/v1/properties/custom-fields/{prop}", {"name": "mine"}, "custom_field_not_found"),
    ("delete", "/v1/properties/custom-fields/{prop}", None, "custom_field_not_found"),
    ("get", "/v1/contacts/imports/{import}", None, "import_not_found"),
    ("get", "/v1/contacts/imports/{import}/errors.csv", None, "import_not_found"),
    ("get", "/v1/contacts/{contact}/history", None, "contact_not_found"),
]


@pytest.mark.parametrize(("method", "path", "body", "code"), OPERATIONS)
def test_another_tenants_ids_are_404_everywhere(client_a, theirs, method, path, body, code):
    mine = client_a.post("/v1/contacts", {"name": "mine"}, format="json").json()["id"]
    url = path.format(mine=mine, **theirs)
    response = getattr(client_a, method)(url, body, format="json")
    assert_problem(response, 404, code)
    assert SECRET not in response.content.decode()


LISTS = [
    ("/v1/contacts", {}),
    ("/v1/contacts", {"search": SECRET}),
    ("/v1/contacts", {"archived": "true"}),
    ("/v1/tags", {}),
    ("/v1/tags", {"search": SECRET}),
    ("/v1/contacts/custom-fields", {}),
    ("/v1/properties/custom-fields", {}),
    ("/v1/contacts/count", {}),
    ("/v1/events", {}),
    ("/v1/events", {"contactId": "{contact}"}),
]


@pytest.mark.parametrize(("path", "params"), LISTS)
def test_another_tenants_objects_never_appear_in_lists_searches_or_counts(
    client_a, theirs, path, params
):
    response = client_a.get(path, {k: v.format(**theirs) for k, v in params.items()})
    assert response.status_code == 200
    body = response.content.decode()
    assert SECRET not in body
    assert not any(object_id in body for object_id in theirs.values())
    if path.endswith("/count"):
        assert response.json() == {"count": 0}


def test_another_tenants_ids_in_filters_match_nothing_or_are_unknown(client_a, theirs):
    assert client_a.get("/v1/contacts", {"tagIds": theirs["tag"]}).json() == {"contacts": []}
    response = client_a.get("/v1/contacts", {f"customFields[{theirs['field']}]": SECRET})
    assert_problem(response, 422, "validation_failed")
    assert SECRET not in response.content.decode()
