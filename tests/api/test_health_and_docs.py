import pytest
from openapi_spec_validator import validate
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_healthz_needs_no_auth():
    response = APIClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database():
    response = APIClient().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("flownally_admin.api.views.connection.cursor", refuse)
    response = APIClient().get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_openapi_document_is_valid_openapi_3_and_describes_the_tags_api():
    response = APIClient().get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.")
    operations = {
        (path, method): op["operationId"]
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    assert operations == {
        ("/v1/tags", "get"): "listTags",
        ("/v1/tags", "post"): "createTag",
        ("/v1/tags/{id}", "delete"): "deleteTag",
    }
    create = document["paths"]["/v1/tags"]["post"]
    assert set(create["responses"]) >= {"201", "401", "403", "409", "422", "500"}
    assert "application/problem+json" in create["responses"]["409"]["content"]
    tag = document["components"]["schemas"]["Tag"]
    assert set(tag["properties"]) == {"id", "name", "createdAt", "createdBy"}
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_docs_page_is_served_without_a_cdn():
    response = APIClient().get("/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/v1/openapi.json" in html
    assert "cdn" not in html.lower()
