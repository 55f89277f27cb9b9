"""API tokens never reach the logs, whatever happens to the request."""

import logging

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _logged(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def test_tokens_are_not_logged_on_success_failure_or_crash(make_key, caplog, monkeypatch):
    _, token = make_key()
    unknown = "fln_live_" + "S" * 43
    caplog.set_level(logging.DEBUG)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/v1/tags").status_code == 200
    assert client.get("/v1/nothing").status_code == 404

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("tags.api.views.tag_list", explode)
    assert client.get("/v1/tags").status_code == 500
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {unknown}")
    assert client.get("/v1/tags").status_code == 401
    logged = _logged(caplog)
    assert "Unhandled error in GET /v1/tags" in logged  # the crash was logged…
    assert token not in logged and unknown not in logged  # …without any token
    assert "fln_live_" not in logged
