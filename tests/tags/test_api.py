"""Tags API, operations 14–16 of the contract, through HTTP."""

import pytest

from tags.models import Tag
from tests.factories.tags import TagFactory
from tests.problems import assert_problem, violations

pytestmark = pytest.mark.django_db


def _create(client, body):
    return client.post("/v1/tags", body, format="json")


def _all_pages(client, query="", page_size=2):
    names, token, pages = [], None, 0
    while True:
        url = f"/v1/tags?pageSize={page_size}{query}"
        if token:
            url += f"&pageToken={token}"
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        names += [tag["name"] for tag in body["tags"]]
        pages += 1
        token = body.get("nextPageToken")
        if token is None:
            return names, pages


# --- create -----------------------------------------------------------------


def test_create_returns_the_tag(client_a, tenant):
    response = _create(client_a, {"name": "  VIP customers  "})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "createdAt", "createdBy"}
    assert body["name"] == "VIP customers"
    assert body["id"].startswith("tag_") and len(body["id"]) == 30
    assert body["createdBy"] == client_a.api_key.service_account_id
    assert body["createdBy"].startswith("svc_")
    assert body["createdAt"].endswith("Z")
    tag = Tag.objects.get(pk=body["id"])
    assert (tag.tenant, tag.name) == (tenant, "VIP customers")


def test_name_of_64_characters_is_accepted(client_a):
    assert _create(client_a, {"name": "n" * 64}).status_code == 201


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "n" * 65}, [("name", "too_long")]),
        ({"name": "   "}, [("name", "required")]),
        ({"name": ""}, [("name", "required")]),
        ({}, [("name", "required")]),
        ({"name": None}, [("name", "invalid")]),
        ({"name": 42}, [("name", "invalid")]),
        ({"name": ["a"]}, [("name", "invalid")]),
        ({"name": "ok", "colour": "red"}, [("colour", "unknown_field")]),
        ({"name": "ok", "id": "tag_mine"}, [("id", "unknown_field")]),
        ({"name": "ok", "createdAt": "2020-01-01T00:00:00Z"}, [("createdAt", "unknown_field")]),
        (["name"], [("body", "invalid")]),
    ],
)
def test_invalid_create_is_422_with_the_field(client_a, body, expected):
    problem = assert_problem(_create(client_a, body), 422, "validation_failed")
    assert violations(problem) == expected
    assert Tag.objects.count() == 0


def test_duplicate_name_is_409_ignoring_case_and_spaces(client_a):
    assert _create(client_a, {"name": "Gold"}).status_code == 201
    problem = assert_problem(_create(client_a, {"name": " gOLD "}), 409, "tag_exists")
    assert "gOLD" in problem["detail"]
    assert Tag.objects.count() == 1


def test_same_name_in_another_tenant_is_allowed(client_a, client_b):
    assert _create(client_a, {"name": "Gold"}).status_code == 201
    assert _create(client_b, {"name": "Gold"}).status_code == 201


def test_deleted_name_can_be_reused_at_once(client_a):
    tag_id = _create(client_a, {"name": "Gold"}).json()["id"]
    assert client_a.delete(f"/v1/tags/{tag_id}").status_code == 204
    assert _create(client_a, {"name": "gold"}).status_code == 201


# --- delete -----------------------------------------------------------------


def test_delete_removes_the_tag(client_a, tenant):
    tag = TagFactory(tenant=tenant)
    response = client_a.delete(f"/v1/tags/{tag.pk}")
    assert response.status_code == 204
    assert response.content == b""
    assert not Tag.objects.filter(pk=tag.pk).exists()


@pytest.mark.parametrize("tag_id", ["tag_01HZZZZZZZZZZZZZZZZZZZZZZZ", "nonsense", "%00", "ctc_1"])
def test_delete_unknown_is_404_tag_not_found(client_a, tag_id):
    assert_problem(client_a.delete(f"/v1/tags/{tag_id}"), 404, "tag_not_found")


def test_delete_twice_is_404(client_a, tenant):
    tag = TagFactory(tenant=tenant)
    assert client_a.delete(f"/v1/tags/{tag.pk}").status_code == 204
    assert_problem(client_a.delete(f"/v1/tags/{tag.pk}"), 404, "tag_not_found")


# --- list -------------------------------------------------------------------


def test_list_is_ordered_by_name_ignoring_case(client_a, tenant):
    for name in ["banana", "Apple", "cherry", "apricot"]:
        TagFactory(tenant=tenant, name=name)
    body = client_a.get("/v1/tags").json()
    assert [tag["name"] for tag in body["tags"]] == ["Apple", "apricot", "banana", "cherry"]
    assert "nextPageToken" not in body


def test_list_search_is_a_case_insensitive_substring(client_a, tenant):
    for name in ["Gold member", "golden", "Silver", "100% off", "under_score"]:
        TagFactory(tenant=tenant, name=name)
    names = lambda q: [t["name"] for t in client_a.get("/v1/tags", {"search": q}).json()["tags"]]  # noqa: E731
    assert names("GOLD") == ["Gold member", "golden"]
    assert names("%") == ["100% off"]
    assert names("_") == ["under_score"]
    assert names("nothing") == []
    assert len(names("  ")) == 5


def test_search_longer_than_200_is_422(client_a):
    problem = assert_problem(
        client_a.get("/v1/tags", {"search": "s" * 201}), 422, "validation_failed"
    )
    assert violations(problem) == [("search", "too_long")]


def test_pages_cover_every_tag_exactly_once(client_a, tenant):
    expected = sorted(f"tag {i:02d}" for i in range(7))
    for name in expected:
        TagFactory(tenant=tenant, name=name)
    names, pages = _all_pages(client_a, page_size=3)
    assert names == expected
    assert pages == 3


def test_page_size_default_is_100_and_maximum_500(client_a, tenant):
    Tag.objects.bulk_create(
        Tag(tenant=tenant, name=f"bulk {i:04d}", created_by="svc_x") for i in range(501)
    )
    assert len(client_a.get("/v1/tags").json()["tags"]) == 100
    body = client_a.get("/v1/tags", {"pageSize": 10_000}).json()
    assert len(body["tags"]) == 500
    assert "nextPageToken" in body


@pytest.mark.parametrize(
    ("page_size", "code"),
    [
        ("0", "out_of_range"),
        ("-3", "out_of_range"),
        ("ten", "invalid"),
        ("1.5", "invalid"),
        ("", "invalid"),
        ("５", "invalid"),  # a full-width digit: int() would take it
        (" 5", "invalid"),
        ("5\n", "invalid"),
    ],
)
def test_invalid_page_size_is_422(client_a, page_size, code):
    problem = assert_problem(
        client_a.get("/v1/tags", {"pageSize": page_size}), 422, "validation_failed"
    )
    assert violations(problem) == [("pageSize", code)]


def test_pagination_is_stable_under_concurrent_inserts_and_deletes(client_a, tenant):
    originals = [TagFactory(tenant=tenant, name=f"m{i:02d}") for i in range(10)]
    first = client_a.get("/v1/tags", {"pageSize": 4}).json()
    assert [t["name"] for t in first["tags"]] == ["m00", "m01", "m02", "m03"]
    # Between pages: rows appear before and after the cursor, and a served row goes away.
    TagFactory(tenant=tenant, name="a-before-everything")
    TagFactory(tenant=tenant, name="m025")
    TagFactory(tenant=tenant, name="m055")
    originals[1].delete()
    seen = [t["name"] for t in first["tags"]]
    token = first["nextPageToken"]
    while token:
        body = client_a.get("/v1/tags", {"pageSize": 4, "pageToken": token}).json()
        seen += [t["name"] for t in body["tags"]]
        token = body.get("nextPageToken")
    assert len(seen) == len(set(seen)), "a row was served twice"
    assert {f"m{i:02d}" for i in range(10)} <= set(seen), "an original row was skipped"
    assert "a-before-everything" not in seen
    assert "m055" in seen


def test_tampered_page_token_is_400(client_a, tenant):
    for i in range(3):
        TagFactory(tenant=tenant, name=f"t{i}")
    token = client_a.get("/v1/tags", {"pageSize": 1}).json()["nextPageToken"]
    for bad in [token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "garbage", token + "x"]:
        assert_problem(client_a.get("/v1/tags", {"pageToken": bad}), 400, "invalid_page_token")


def test_page_token_is_bound_to_its_search(client_a, tenant):
    for i in range(3):
        TagFactory(tenant=tenant, name=f"gold {i}")
    token = client_a.get("/v1/tags", {"pageSize": 1, "search": "gold"}).json()["nextPageToken"]
    assert client_a.get("/v1/tags", {"pageToken": token, "search": "gold"}).status_code == 200
    assert_problem(
        client_a.get("/v1/tags", {"pageToken": token, "search": "old"}), 400, "invalid_page_token"
    )
    assert_problem(client_a.get("/v1/tags", {"pageToken": token}), 400, "invalid_page_token")


# --- tenant isolation -------------------------------------------------------


def test_tenants_never_see_each_others_tags(client_a, client_b, tenant, other_tenant):
    mine = TagFactory(tenant=tenant, name="shared-name")
    theirs = TagFactory(tenant=other_tenant, name="shared-secret")
    assert [t["id"] for t in client_a.get("/v1/tags").json()["tags"]] == [mine.pk]
    assert client_a.get("/v1/tags", {"search": "secret"}).json() == {"tags": []}
    assert_problem(client_a.delete(f"/v1/tags/{theirs.pk}"), 404, "tag_not_found")
    assert_problem(client_b.delete(f"/v1/tags/{mine.pk}"), 404, "tag_not_found")
    assert Tag.objects.count() == 2


def test_page_token_of_another_tenant_is_refused(client_a, client_b, tenant, other_tenant):
    for i in range(3):
        TagFactory(tenant=tenant, name=f"a{i}")
        TagFactory(tenant=other_tenant, name=f"b{i}")
    token = client_a.get("/v1/tags", {"pageSize": 1}).json()["nextPageToken"]
    assert_problem(client_b.get("/v1/tags", {"pageToken": token}), 400, "invalid_page_token")


def test_nul_characters_are_refused_not_a_500(client_a):
    problem = assert_problem(_create(client_a, {"name": "a\u0000b"}), 422, "validation_failed")
    assert violations(problem) == [("name", "invalid")]
    problem = assert_problem(
        client_a.get("/v1/tags", {"search": "a\x00"}), 422, "validation_failed"
    )
    assert violations(problem) == [("search", "invalid")]
