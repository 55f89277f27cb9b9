"""Every framework-level error is a Problem Details body (contract §5, §6)."""

import json

import pytest
from rest_framework.test import APIClient

from flownally_admin.api.problems import PROBLEM_TYPES
from flownally_admin.html import code_spans
from tests.problems import assert_problem

pytestmark = pytest.mark.django_db


def test_unknown_path_is_404_not_found(client_a):
    body = assert_problem(client_a.get("/v1/nothing-here"), 404, "not_found")
    assert body["instance"] == "/v1/nothing-here"


def test_trailing_slash_is_not_redirected(client_a):
    assert_problem(client_a.get("/v1/tags/"), 404, "not_found")


def test_unsupported_method_is_405(client_a):
    response = client_a.put("/v1/tags", {"name": "x"}, format="json")
    assert_problem(response, 405, "method_not_allowed")
    assert set(response["Allow"].split(", ")) == {"GET", "POST", "HEAD"}


def test_options_is_not_offered(client_a):
    assert_problem(client_a.options("/v1/tags"), 405, "method_not_allowed")


def test_wrong_content_type_is_415(client_a):
    response = client_a.post("/v1/tags", data="name=x", content_type="text/plain")
    assert_problem(response, 415, "unsupported_media_type")


def test_body_without_content_type_is_415(client_a):
    response = client_a.generic("POST", "/v1/tags", data=b'{"name": "x"}', content_type="")
    assert_problem(response, 415, "unsupported_media_type")


def test_form_encoded_body_is_415(client_a):
    response = client_a.post("/v1/tags", {"name": "x"})  # multipart by default
    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("raw", [b'{"name":', b"", b"\xff\xfe\x00", b'{"name": NaN}', b"[1, 2"])
def test_malformed_json_is_400(client_a, raw):
    response = client_a.generic("POST", "/v1/tags", data=raw, content_type="application/json")
    if raw == b"":
        # An empty body is no JSON document at all: the required member is reported.
        assert response.status_code == 422
        return
    assert_problem(response, 400, "malformed_json")


@pytest.mark.parametrize(
    ("path", "depth"),
    [("/v1/tags", 65), ("/v1/tags", 1_000), ("/v1/contacts", 100_000), ("/v1/contacts", 65)],
)
def test_json_nested_past_the_limit_is_400(client_a, path, depth):
    raw = b'{"name": "x", "m": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    response = client_a.generic("POST", path, data=raw, content_type="application/json")
    body = assert_problem(response, 400, "malformed_json")
    assert body["detail"] == "The body nests arrays or objects more than 64 levels deep."


def test_json_nested_to_the_limit_is_parsed(client_a):
    metadata = {}
    for _ in range(60):  # body, identities, [0], then 61 metadata objects: 64 levels
        metadata = {"k": metadata}
    body = {"identities": [{"channel": "livechat", "externalId": "v-1", "metadata": metadata}]}
    response = client_a.post("/v1/contacts", body, format="json")
    assert response.status_code == 201, response.content


def test_duplicate_keys_in_a_json_object_are_400_naming_the_key(client_a):
    raw = b'{"name": "a", "identities": [{"channel": "sms", "channel": "email"}], "name": "b"}'
    response = client_a.generic("POST", "/v1/contacts", data=raw, content_type="application/json")
    body = assert_problem(response, 400, "malformed_json")
    assert "duplicate key 'channel'" in body["detail"]


def test_json_body_over_one_mebibyte_is_413(client_a):
    raw = json.dumps({"name": "x" * (1024 * 1024)}).encode()
    response = client_a.generic("POST", "/v1/tags", data=raw, content_type="application/json")
    body = assert_problem(response, 413, "payload_too_large")
    assert "1048576" in body["detail"]


def test_json_body_of_exactly_the_limit_is_parsed(client_a, settings):
    settings.API_MAX_JSON_BODY_BYTES = 64
    raw = json.dumps({"name": "y" * 50}).encode().ljust(64)
    assert len(raw) == 64
    response = client_a.generic("POST", "/v1/tags", data=raw, content_type="application/json")
    assert response.status_code == 201


def test_unexpected_exception_is_500_internal_error_without_details(client_a, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret database password in message")

    monkeypatch.setattr("tags.api.views.tag_list", explode)
    response = client_a.get("/v1/tags")
    body = assert_problem(response, 500, "internal_error")
    assert "secret" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "traceId"}


def test_incoming_traceparent_is_honoured(client_a):
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = client_a.get("/v1/nothing", HTTP_TRACEPARENT=traceparent)
    body = assert_problem(response, 404, "not_found")
    assert response["traceparent"] == traceparent
    assert body["traceId"] == traceparent


@pytest.mark.parametrize(
    "bad",
    ["garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "01-xyz"],
)
def test_invalid_traceparent_is_replaced(client_a, bad):
    response = client_a.get("/v1/nothing", HTTP_TRACEPARENT=bad)
    body = assert_problem(response, 404, "not_found")
    assert response["traceparent"] != bad
    assert body["traceId"] == response["traceparent"]


def test_successful_responses_carry_a_traceparent(client_a):
    response = client_a.get("/v1/tags")
    assert response.status_code == 200
    assert response["traceparent"].startswith("00-")


def test_problem_type_pages_describe_each_code():
    response = APIClient().get("/problems/tag_exists")
    assert response.status_code == 200
    assert b"Tag exists" in response.content
    assert b"409" in response.content


@pytest.mark.parametrize("code", sorted(PROBLEM_TYPES))
def test_problem_type_pages_show_code_spans_as_code_not_backticks(code):
    page = APIClient().get(f"/problems/{code}").content.decode()
    description = page.split('<p id="problem-description">')[1].split("</p>")[0]
    assert "`" not in description
    assert description == str(code_spans(PROBLEM_TYPES[code].description))


def test_a_problem_page_escapes_inside_and_outside_code_spans():
    page = APIClient().get("/problems/unauthenticated").content.decode()
    assert "<code>Authorization: Bearer &lt;token&gt;</code> with a key" in page


def test_unknown_problem_type_page_is_404():
    assert APIClient().get("/problems/no_such_code").status_code == 404


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/*;q=0.1"])
def test_the_api_answers_json_whatever_accept_says(client_a, accept):
    response = client_a.get("/v1/tags", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {"tags": []}
    problem = client_a.get("/v1/tags/tag_nothing", HTTP_ACCEPT=accept)
    assert_problem(problem, 405, "method_not_allowed")


def test_a_format_parameter_changes_nothing(client_a):
    response = client_a.get("/v1/tags?format=xml")
    assert response["Content-Type"] == "application/json; charset=utf-8"
