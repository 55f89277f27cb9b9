"""Assertions on Problem Details responses, shared by the API tests."""

import re

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def assert_problem(response, status: int, code: str) -> dict:
    """The response is an RFC 9457 problem with this status and code; returns the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"/problems/{code}"
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.wsgi_request.path
    assert TRACEPARENT.match(body["traceId"])
    assert body["traceId"] == response["traceparent"]
    return body


def violations(body: dict) -> list[tuple[str, str]]:
    """The (field, code) pairs of a validation problem."""
    return [(error["field"], error["code"]) for error in body["errors"]]
