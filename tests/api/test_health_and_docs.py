import re

import pytest
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from flownally_admin.api.filters import TIMESTAMP_SCHEMA

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


def test_openapi_document_is_valid_openapi_3_and_describes_every_operation():
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
        ("/v1/contacts/custom-fields", "get"): "listContactFieldDefinitions",
        ("/v1/contacts/custom-fields", "post"): "createContactFieldDefinition",
        ("/v1/contacts/custom-fields/{id}", "patch"): "updateContactFieldDefinition",
        ("/v1/contacts/custom-fields/{id}", "delete"): "deleteContactFieldDefinition",
        ("/v1/properties/custom-fields", "get"): "listPropertyFieldDefinitions",
        ("/v1/properties/custom-fields", "post"): "createPropertyFieldDefinition",
        ("/v1/properties/custom-fields/{id}", "patch"): "updatePropertyFieldDefinition",
        ("/v1/properties/custom-fields/{id}", "delete"): "deletePropertyFieldDefinition",
        ("/v1/contacts", "get"): "getContacts",
        ("/v1/contacts", "post"): "createContact",
        ("/v1/contacts/count", "get"): "getContactsCount",
        ("/v1/contacts/{id}", "get"): "getContact",
        ("/v1/contacts/{id}", "patch"): "updateContact",
        ("/v1/contacts/{id}", "delete"): "deleteContact",
        ("/v1/contacts/{id}/archive", "post"): "archiveContact",
        ("/v1/contacts/{id}/unarchive", "post"): "unarchiveContact",
        ("/v1/contacts/{contactId}/custom-fields/{customFieldId}", "put"): (
            "setContactCustomFieldValue"
        ),
        ("/v1/contacts/{contactId}/tags/{tagId}", "post"): "tagContact",
        ("/v1/contacts/{contactId}/tags/{tagId}", "delete"): "untagContact",
        ("/v1/contacts/import", "post"): "importContacts",
        ("/v1/contacts/imports/{id}", "get"): "getImportStatus",
        ("/v1/contacts/imports/{id}/errors.csv", "get"): "getImportErrorsCsv",
        ("/v1/contacts/{id}/history", "get"): "getContactHistory",
        ("/v1/events", "get"): "getEvents",
        ("/v1/contacts/{id}/duplicates", "get"): "getContactDuplicates",
        ("/v1/contacts/{id}/merge", "post"): "mergeContacts",
        ("/v1/contacts/exports", "post"): "exportContacts",
        ("/v1/contacts/exports/{id}", "get"): "getExportStatus",
        ("/v1/contacts/exports/{id}/file", "get"): "getExportFile",
        ("/v1/webhooks", "get"): "listWebhooks",
        ("/v1/webhooks", "post"): "createWebhook",
        ("/v1/webhooks/{id}", "get"): "getWebhook",
        ("/v1/webhooks/{id}", "patch"): "updateWebhook",
        ("/v1/webhooks/{id}", "delete"): "deleteWebhook",
        ("/v1/webhooks/{id}/rotate-secret", "post"): "rotateWebhookSecret",
        ("/v1/webhooks/{id}/test", "post"): "testWebhook",
        ("/v1/webhooks/{id}/deliveries", "get"): "listWebhookDeliveries",
        ("/v1/webhooks/{id}/deliveries/{deliveryId}/retry", "post"): "retryWebhookDelivery",
    }
    upload = document["paths"]["/v1/contacts/import"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert set(upload["responses"]) >= {"202", "413", "415", "422"}
    contact = document["components"]["schemas"]["Contact"]
    assert set(contact["properties"]) == {
        "id",
        "name",
        "identities",
        "tags",
        "customFields",
        "archived",
        "archivedAt",
        "createdAt",
        "updatedAt",
    }
    list_params = {p["name"] for p in document["paths"]["/v1/contacts"]["get"]["parameters"]}
    assert list_params == {
        "pageSize",
        "pageToken",
        "search",
        "customFields",
        "tagIds",
        "channels",
        "archived",
        "createdAfter",
        "createdBefore",
        "updatedAfter",
        "updatedBefore",
        "orderBy",
        "orderDirection",
    }
    update = document["paths"]["/v1/contacts/custom-fields/{id}"]["patch"]
    assert set(update["responses"]) >= {"200", "401", "403", "404", "409", "422"}
    definition = document["components"]["schemas"]["CustomFieldDefinition"]
    assert set(definition["properties"]) == {
        "id",
        "name",
        "type",
        "createdAt",
        "createdBy",
        "predefined",
        "entityType",
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
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    assert all(asset.startswith("/static/") for asset in assets), assets


def test_names_state_their_bounds_in_the_openapi_document(client):
    schemas = client.get("/v1/openapi.json").json()["components"]["schemas"]
    for component in (
        "CreateTagRequest",
        "CreateCustomFieldDefinitionRequest",
        "UpdateCustomFieldDefinitionRequest",
    ):
        name = schemas[component]["properties"]["name"]
        assert (name["minLength"], name["maxLength"]) == (1, 64), component
        pattern = re.compile(name["pattern"])
        assert pattern.search(" VIP ") and not pattern.search("   ")
        assert not pattern.search("V\x00IP")


def test_filter_parameters_are_documented_from_the_filtersets():
    document = APIClient().get("/v1/openapi.json").json()

    def parameters(path):
        return {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}

    contacts = parameters("/v1/contacts")
    assert {name: p["schema"] for name, p in contacts.items()} == {
        "pageSize": {"type": "integer", "minimum": 1, "default": 50},
        "pageToken": {"type": "string"},
        "search": {"type": "string", "maxLength": 200},
        "customFields": {"type": "object", "additionalProperties": {"type": "string"}},
        "tagIds": {"type": "array", "items": {"type": "string"}},
        "channels": {
            "type": "array",
            "items": {
                "type": "string",
                "enum": ["email", "instagram", "livechat", "messenger", "sms", "whatsapp"],
            },
        },
        "archived": {"type": "boolean", "default": False},
        "createdAfter": TIMESTAMP_SCHEMA,
        "createdBefore": TIMESTAMP_SCHEMA,
        "updatedAfter": TIMESTAMP_SCHEMA,
        "updatedBefore": TIMESTAMP_SCHEMA,
        "orderBy": {
            "type": "string",
            "enum": ["createdAt", "name", "updatedAt"],
            "default": "createdAt",
        },
        "orderDirection": {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
    }
    assert (contacts["customFields"]["style"], contacts["customFields"]["explode"]) == (
        "deepObject",
        True,
    )
    assert all(p["in"] == "query" and p.get("description") for p in contacts.values())
    count = parameters("/v1/contacts/count")
    assert list(count) == ["archived"]
    assert count["archived"]["schema"] == {"type": "boolean", "default": False}
    assert parameters("/v1/tags")["search"]["schema"] == {"type": "string", "maxLength": 200}
    for path, default in [
        ("/v1/tags", 100),
        ("/v1/events", 100),
        ("/v1/contacts/{id}/history", 50),
    ]:
        assert parameters(path)["pageSize"]["schema"] == {
            "type": "integer",
            "minimum": 1,
            "default": default,
        }
