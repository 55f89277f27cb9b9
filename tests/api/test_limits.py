"""Limits (OWASP API4): per-key rate limit and concurrent imports; the size limits of
bodies, pages, searches and files are tested with their operations."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.problems import assert_problem

pytestmark = pytest.mark.django_db


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(make_client, tenant, settings):
    settings.API_RATE_LIMIT = "3/min"
    client, other = make_client(tenant=tenant), make_client(tenant=tenant)
    for _ in range(3):
        assert client.get("/v1/tags").status_code == 200
    response = client.get("/v1/tags")
    problem = assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Request was throttled" in problem["detail"]
    assert other.get("/v1/tags").status_code == 200  # the limit is per key


def test_the_limit_counts_per_window_and_says_when_the_next_one_starts(
    make_client, tenant, settings, monkeypatch
):
    settings.API_RATE_LIMIT = "2/min"
    client = make_client(tenant=tenant)
    clock = [6_000_000.0 + 45]  # 45 s into a minute window
    monkeypatch.setattr("flownally_admin.api.throttling.time.time", lambda: clock[0])
    assert [client.get("/v1/tags").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/v1/tags")["Retry-After"] == "15"
    clock[0] += 15  # the next window
    assert [client.get("/v1/tags").status_code for _ in range(3)] == [200, 200, 429]


def test_a_tenant_has_a_few_imports_at_a_time(make_client, tenant, settings):
    settings.IMPORT_MAX_CONCURRENT = 1
    client = make_client(tenant=tenant)

    def upload():
        data = {"file": SimpleUploadedFile("a.csv", b"name\nAda\n")}
        return client.post("/v1/contacts/import", data, format="multipart")

    assert upload().status_code == 202  # queued; its task runs only after commit
    response = upload()
    problem = assert_problem(response, 429, "rate_limited")
    assert response["Retry-After"] == "30"
    assert "1 imports of this workspace are still queued or running" in problem["detail"]


QUERY_OF_1001 = "&".join(f"p{i}=1" for i in range(1001))


def test_more_than_a_thousand_query_parameters_is_400_after_authentication(client, client_a):
    assert_problem(client.get("/v1/contacts?" + QUERY_OF_1001), 401, "unauthenticated")
    for path in ("/v1/contacts", "/v1/tags", "/v1/contacts/count", "/v1/contacts/custom-fields"):
        body = assert_problem(client_a.get(f"{path}?{QUERY_OF_1001}"), 400, "too_many_parameters")
        assert body["type"] == "/problems/too_many_parameters"


def test_a_multipart_upload_of_more_than_a_thousand_parts_is_400(client_a):
    data = {f"p{i}": "1" for i in range(1001)}
    data["file"] = SimpleUploadedFile("a.csv", b"name\nAda\n")
    response = client_a.post("/v1/contacts/import", data, format="multipart")
    assert_problem(response, 400, "too_many_parameters")


def test_the_too_many_parameters_problem_has_a_page(client):
    response = client.get("/problems/too_many_parameters")
    assert response.status_code == 200
    assert b"1,000" in response.content
