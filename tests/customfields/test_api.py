"""Operations 17–24: field definitions for contacts and for properties, through HTTP."""

import pytest

from customfields.models import CustomFieldDefinition
from tests.factories.contacts import ContactFactory
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.problems import assert_problem, violations

pytestmark = pytest.mark.django_db

ENTITIES = [("contacts", "contact"), ("properties", "property")]


def _url(prefix, definition_id=None):
    return f"/v1/{prefix}/custom-fields" + (f"/{definition_id}" if definition_id else "")


# --- list -------------------------------------------------------------------


def test_contact_list_starts_with_the_predefined_fields(client_a, tenant):
    response = client_a.get("/v1/contacts/custom-fields")
    assert response.status_code == 200
    fields = response.json()["customFields"]
    assert fields == [
        {
            "id": "cf_email",
            "name": "Email",
            "type": "text",
            "createdAt": fields[0]["createdAt"],
            "createdBy": "system",
            "predefined": True,
            "entityType": "contact",
        },
        {
            "id": "cf_phone",
            "name": "Phone",
            "type": "text",
            "createdAt": fields[1]["createdAt"],
            "createdBy": "system",
            "predefined": True,
            "entityType": "contact",
        },
    ]


def test_list_is_predefined_first_then_by_name_ignoring_case(client_a, tenant):
    for name in ["zone", "Anniversary", "birthday"]:
        CustomFieldDefinitionFactory(tenant=tenant, name=name)
    names = [f["name"] for f in client_a.get("/v1/contacts/custom-fields").json()["customFields"]]
    assert names == ["Email", "Phone", "Anniversary", "birthday", "zone"]


def test_property_list_has_only_property_fields(client_a, tenant):
    CustomFieldDefinitionFactory(tenant=tenant, name="Region", entity_type="property")
    CustomFieldDefinitionFactory(tenant=tenant, name="Stage", entity_type="contact")
    fields = client_a.get("/v1/properties/custom-fields").json()["customFields"]
    assert [(f["name"], f["entityType"], f["predefined"]) for f in fields] == [
        ("Region", "property", False)
    ]


# --- create -----------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "entity_type"), ENTITIES)
def test_create_returns_the_definition(client_a, tenant, prefix, entity_type):
    response = client_a.post(
        _url(prefix), {"name": "  Renewal date ", "type": "date"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("cf_") and len(body["id"]) == 29
    assert {k: body[k] for k in ("name", "type", "predefined", "entityType", "createdBy")} == {
        "name": "Renewal date",
        "type": "date",
        "predefined": False,
        "entityType": entity_type,
        "createdBy": client_a.api_key.service_account_id,
    }
    assert CustomFieldDefinition.objects.get(public_id=body["id"]).tenant == tenant


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "", "type": "text"}, [("name", "required")]),
        ({"name": "   ", "type": "text"}, [("name", "required")]),
        ({"name": "n" * 65, "type": "text"}, [("name", "too_long")]),
        ({"name": "Size", "type": "number"}, [("type", "invalid_choice")]),
        ({"name": "Size"}, [("type", "required")]),
        ({"type": "text"}, [("name", "required")]),
        ({"name": 5, "type": "text"}, [("name", "invalid")]),
        ({"name": "Size", "type": "text", "predefined": True}, [("predefined", "unknown_field")]),
        ({"name": "Size", "type": "text", "entityType": "x"}, [("entityType", "unknown_field")]),
    ],
)
def test_invalid_create_is_422(client_a, body, expected):
    problem = assert_problem(
        client_a.post(_url("contacts"), body, format="json"), 422, "validation_failed"
    )
    assert violations(problem) == expected


def test_name_of_64_characters_is_accepted(client_a):
    response = client_a.post(_url("contacts"), {"name": "n" * 64, "type": "text"}, format="json")
    assert response.status_code == 201


def test_duplicate_name_is_409_ignoring_case(client_a, tenant):
    CustomFieldDefinitionFactory(tenant=tenant, name="Stage")
    response = client_a.post(_url("contacts"), {"name": "STAGE", "type": "date"}, format="json")
    assert_problem(response, 409, "custom_field_exists")


def test_predefined_names_are_taken_for_contacts_but_not_for_properties(client_a):
    response = client_a.post(_url("contacts"), {"name": "email", "type": "text"}, format="json")
    assert_problem(response, 409, "custom_field_exists")
    response = client_a.post(_url("properties"), {"name": "Email", "type": "text"}, format="json")
    assert response.status_code == 201


def test_same_name_for_contacts_and_properties_is_allowed(client_a):
    for prefix in ("contacts", "properties"):
        response = client_a.post(_url(prefix), {"name": "Tier", "type": "text"}, format="json")
        assert response.status_code == 201


# --- update -----------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "entity_type"), ENTITIES)
def test_rename(client_a, tenant, prefix, entity_type):
    definition = CustomFieldDefinitionFactory(tenant=tenant, entity_type=entity_type, name="Tier")
    response = client_a.patch(
        _url(prefix, definition.public_id), {"name": " Level "}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["type"]) == ("Level", "text")


def test_rename_to_a_different_case_of_its_own_name(client_a, tenant):
    definition = CustomFieldDefinitionFactory(tenant=tenant, name="tier")
    response = client_a.patch(
        _url("contacts", definition.public_id), {"name": "Tier"}, format="json"
    )
    assert response.status_code == 200


def test_rename_onto_another_field_is_409(client_a, tenant):
    CustomFieldDefinitionFactory(tenant=tenant, name="Tier")
    definition = CustomFieldDefinitionFactory(tenant=tenant, name="Level")
    response = client_a.patch(
        _url("contacts", definition.public_id), {"name": "tier"}, format="json"
    )
    assert_problem(response, 409, "custom_field_exists")


def test_date_to_text_always_succeeds(client_a, tenant):
    definition = CustomFieldDefinitionFactory(tenant=tenant, type="date")
    ContactFactory(tenant=tenant, custom_fields={definition.public_id: "2026-05-01"})
    response = client_a.patch(
        _url("contacts", definition.public_id), {"type": "text"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["type"] == "text"


def test_text_to_date_succeeds_when_every_value_is_a_date(client_a, tenant):
    definition = CustomFieldDefinitionFactory(tenant=tenant, type="text")
    for value in ["2026-05-01", "2024-02-29"]:
        ContactFactory(tenant=tenant, custom_fields={definition.public_id: value})
    ContactFactory(tenant=tenant, custom_fields={})
    response = client_a.patch(
        _url("contacts", definition.public_id), {"type": "date"}, format="json"
    )
    assert response.status_code == 200
    definition.refresh_from_db()
    assert definition.type == "date"


def test_text_to_date_counts_the_values_that_fail(client_a, tenant, other_tenant):
    definition = CustomFieldDefinitionFactory(tenant=tenant, type="text")
    for value in ["2026-05-01", "soon", "2026-02-31", "31/12/2026"]:
        ContactFactory(tenant=tenant, custom_fields={definition.public_id: value})
    ContactFactory(tenant=other_tenant, custom_fields={definition.public_id: "not mine"})
    response = client_a.patch(
        _url("contacts", definition.public_id), {"type": "date"}, format="json"
    )
    problem = assert_problem(response, 409, "type_change_conflict")
    assert problem["detail"].startswith("3 existing values")
    definition.refresh_from_db()
    assert definition.type == "text"


def test_retype_conflict_leaves_the_name_unchanged_too(client_a, tenant):
    definition = CustomFieldDefinitionFactory(tenant=tenant, name="When", type="text")
    ContactFactory(tenant=tenant, custom_fields={definition.public_id: "later"})
    body = {"name": "When exactly", "type": "date"}
    response = client_a.patch(_url("contacts", definition.public_id), body, format="json")
    problem = assert_problem(response, 409, "type_change_conflict")
    assert problem["detail"].startswith("1 existing value ")
    definition.refresh_from_db()
    assert (definition.name, definition.type) == ("When", "text")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, [("body", "required")]),
        ({"type": "colour"}, [("type", "invalid_choice")]),
        ({"name": ""}, [("name", "required")]),
        ({"name": "x", "id": "cf_other"}, [("id", "unknown_field")]),
    ],
)
def test_invalid_update_is_422(client_a, tenant, body, expected):
    definition = CustomFieldDefinitionFactory(tenant=tenant)
    response = client_a.patch(_url("contacts", definition.public_id), body, format="json")
    assert violations(assert_problem(response, 422, "validation_failed")) == expected


@pytest.mark.parametrize("body", [{"name": "E-mail"}, {"type": "date"}, {"name": "Email"}])
@pytest.mark.parametrize("field_id", ["cf_email", "cf_phone"])
def test_predefined_fields_cannot_be_changed(client_a, field_id, body):
    response = client_a.patch(_url("contacts", field_id), body, format="json")
    assert_problem(response, 409, "custom_field_predefined")


# --- delete -----------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "entity_type"), ENTITIES)
def test_delete(client_a, tenant, prefix, entity_type):
    definition = CustomFieldDefinitionFactory(tenant=tenant, entity_type=entity_type)
    assert client_a.delete(_url(prefix, definition.public_id)).status_code == 204
    listed = client_a.get(_url(prefix)).json()["customFields"]
    assert definition.public_id not in {f["id"] for f in listed}
    assert_problem(
        client_a.delete(_url(prefix, definition.public_id)), 404, "custom_field_not_found"
    )


@pytest.mark.parametrize("field_id", ["cf_email", "cf_phone"])
def test_predefined_fields_cannot_be_deleted(client_a, field_id):
    assert_problem(client_a.delete(_url("contacts", field_id)), 409, "custom_field_predefined")


def test_a_deleted_name_can_be_reused_at_once(client_a, tenant):
    definition = CustomFieldDefinitionFactory(tenant=tenant, name="Tier")
    assert client_a.delete(_url("contacts", definition.public_id)).status_code == 204
    response = client_a.post(_url("contacts"), {"name": "tier", "type": "date"}, format="json")
    assert response.status_code == 201


# --- not found, other entity type, other tenant -----------------------------


@pytest.mark.parametrize(
    "definition_id", ["cf_01HZZZZZZZZZZZZZZZZZZZZZZZ", "cf_nope", "tag_1", "%00"]
)
def test_unknown_ids_are_404(client_a, definition_id):
    assert_problem(
        client_a.patch(_url("contacts", definition_id), {"name": "x"}, format="json"),
        404,
        "custom_field_not_found",
    )
    assert_problem(
        client_a.delete(_url("properties", definition_id)), 404, "custom_field_not_found"
    )


def test_an_id_of_the_other_entity_type_is_404(client_a, tenant):
    contact_field = CustomFieldDefinitionFactory(tenant=tenant, entity_type="contact")
    property_field = CustomFieldDefinitionFactory(tenant=tenant, entity_type="property")
    for prefix, definition in [("properties", contact_field), ("contacts", property_field)]:
        url = _url(prefix, definition.public_id)
        assert_problem(
            client_a.patch(url, {"name": "x"}, format="json"), 404, "custom_field_not_found"
        )
        assert_problem(client_a.delete(url), 404, "custom_field_not_found")
    assert_problem(client_a.delete(_url("properties", "cf_email")), 404, "custom_field_not_found")
    assert CustomFieldDefinition.objects.filter(deleted_at__isnull=True, tenant=tenant).count() == 4


def test_tenants_never_see_or_touch_each_others_definitions(
    client_a, client_b, tenant, other_tenant
):
    theirs = CustomFieldDefinitionFactory(tenant=other_tenant, name="Secret stage")
    listed = client_a.get(_url("contacts")).json()["customFields"]
    assert [f["name"] for f in listed] == ["Email", "Phone"]
    url = _url("contacts", theirs.public_id)
    assert_problem(
        client_a.patch(url, {"name": "mine"}, format="json"), 404, "custom_field_not_found"
    )
    assert_problem(client_a.delete(url), 404, "custom_field_not_found")
    # The same name is free in another tenant, and each tenant has its own cf_email.
    response = client_a.post(
        _url("contacts"), {"name": "Secret stage", "type": "text"}, format="json"
    )
    assert response.status_code == 201
    assert client_b.get(_url("contacts")).json()["customFields"][2]["name"] == "Secret stage"
    theirs.refresh_from_db()
    assert (theirs.name, theirs.deleted_at) == ("Secret stage", None)


# --- scopes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "/v1/contacts/custom-fields", "custom_field:list"),
        ("post", "/v1/properties/custom-fields", "custom_field:create"),
        ("patch", "/v1/contacts/custom-fields/cf_email", "custom_field:update"),
        ("delete", "/v1/properties/custom-fields/cf_x", "custom_field:delete"),
    ],
)
def test_each_operation_needs_its_scope(make_client, tenant, method, path, scope):
    others = [
        s
        for s in (
            "custom_field:list",
            "custom_field:create",
            "custom_field:update",
            "custom_field:delete",
        )
        if s != scope
    ]
    client = make_client(tenant=tenant, scopes=others)
    response = getattr(client, method)(path, {"name": "x", "type": "text"}, format="json")
    assert scope in assert_problem(response, 403, "insufficient_scope")["detail"]
