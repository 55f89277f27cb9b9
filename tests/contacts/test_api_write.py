"""Create, read, update, delete, archive, set value, tag: operations 2, 4–6, 9–13."""

import pytest

from contacts.models import Contact, Identity
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory
from tests.problems import assert_problem, violations

pytestmark = pytest.mark.django_db


# --- create -------------------------------------------------------------------


def test_create_returns_the_full_contact(create, vip, renewal, client_a):
    response = create(
        {
            "name": "  Ada Lovelace ",
            "identities": [
                {"channel": "whatsapp", "externalId": "+1 (415) 555-0123"},
                {"channel": "email", "externalId": "Ada@Example.COM", "metadata": {"src": "crm"}},
            ],
            "tagIds": [vip.pk],
            "customFields": {"cf_email": "ADA@EXAMPLE.COM", renewal.public_id: "2027-01-31"},
        }
    )
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == f"/v1/contacts/{body['id']}"
    assert response["ETag"].startswith('"')
    assert body["id"].startswith("ctc_")
    assert body["name"] == "Ada Lovelace"
    assert [(i["channel"], i["externalId"], i["metadata"]) for i in body["identities"]] == [
        ("whatsapp", "+14155550123", {}),
        ("email", "ada@example.com", {"src": "crm"}),
    ]
    assert all(i["id"].startswith("idt_") for i in body["identities"])
    assert body["tags"] == [{"id": vip.pk, "name": "VIP"}]
    assert body["customFields"] == [
        {"id": "cf_email", "name": "Email", "type": "text", "value": "ada@example.com"},
        {"id": renewal.public_id, "name": "Renewal", "type": "date", "value": "2027-01-31"},
    ]
    assert (body["archived"], body["archivedAt"]) == (False, None)
    assert body["createdAt"].endswith("Z") and body["updatedAt"].endswith("Z")
    assert Contact.objects.get(pk=body["id"]).created_by == client_a.api_key.service_account_id


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Only a name"},
        {"identities": [{"channel": "livechat", "externalId": "visitor-1"}]},
        {"customFields": {"cf_phone": "+44 20 7946 0958"}},
    ],
)
def test_one_of_name_identity_or_value_is_enough(create, body):
    assert create(body).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "   "},
        {"name": None},
        {"identities": [], "tagIds": []},
        {"customFields": {"cf_email": ""}},
    ],
)
def test_empty_contact_is_422_empty_contact(create, body, vip):
    problem = assert_problem(create(body), 422, "empty_contact")
    assert "errors" not in problem
    assert Contact.objects.count() == 0


def test_tags_alone_do_not_make_a_contact(create, vip):
    assert_problem(create({"tagIds": [vip.pk]}), 422, "empty_contact")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "x" * 256}, [("name", "too_long")]),
        ({"name": 7}, [("name", "invalid")]),
        ({"name": "a", "nickname": "b"}, [("nickname", "unknown_field")]),
        ({"name": "a", "id": "ctc_mine"}, [("id", "unknown_field")]),
        ({"name": "a", "archived": True}, [("archived", "unknown_field")]),
        ({"name": "a", "createdAt": "2020-01-01T00:00:00Z"}, [("createdAt", "unknown_field")]),
        (
            {"identities": [{"channel": "fax", "externalId": "1"}]},
            [("identities[0].channel", "invalid_choice")],
        ),
        (
            {"identities": [{"channel": "sms", "externalId": "555-0123"}]},
            [("identities[0].externalId", "invalid_phone")],
        ),
        (
            {"identities": [{"channel": "email", "externalId": "nope"}]},
            [("identities[0].externalId", "invalid_email")],
        ),
        (
            {"identities": [{"channel": "messenger", "externalId": " "}]},
            [("identities[0].externalId", "required")],
        ),
        (
            {"identities": [{"channel": "messenger", "externalId": "m" * 256}]},
            [("identities[0].externalId", "too_long")],
        ),
        (
            {"identities": [{"channel": "messenger", "externalId": "m", "metadata": [1]}]},
            [("identities[0].metadata", "invalid")],
        ),
        (
            {
                "identities": [
                    {"channel": "messenger", "externalId": "m", "metadata": {"k": "v" * 4096}}
                ]
            },
            [("identities[0].metadata", "too_long")],
        ),
        (
            {"identities": [{"channel": "messenger", "externalId": "m", "x": 1}]},
            [("identities[0].x", "unknown_field")],
        ),
        ({"identities": [{"externalId": "m"}]}, [("identities[0].channel", "required")]),
        (
            {
                "identities": [
                    {"channel": "sms", "externalId": "+14155550123"},
                    {"channel": "sms", "externalId": "+1 415 555 0123"},
                ]
            },
            [("identities[1].externalId", "invalid")],
        ),
        ({"identities": "whatsapp"}, [("identities", "invalid")]),
        (
            {"name": "a", "tagIds": ["tag_01HZZZZZZZZZZZZZZZZZZZZZZZ", 5]},
            [("tagIds[1]", "invalid")],
        ),
        (
            {"name": "a", "customFields": {"cf_email": "not-an-email"}},
            [("customFields.cf_email", "invalid_email")],
        ),
        (
            {"name": "a", "customFields": {"cf_phone": "12"}},
            [("customFields.cf_phone", "invalid_phone")],
        ),
        ({"name": "a", "customFields": {"cf_email": 5}}, [("customFields.cf_email", "invalid")]),
    ],
)
def test_invalid_create_is_422_with_each_field(create, body, expected):
    problem = assert_problem(create(body), 422, "validation_failed")
    assert violations(problem) == expected
    assert Contact.objects.count() == 0


def test_every_violation_is_reported_at_once(create, tenant, renewal):
    prop = CustomFieldDefinitionFactory(tenant=tenant, entity_type="property")
    problem = assert_problem(
        create(
            {
                "name": "n" * 300,
                "identities": [{"channel": "whatsapp", "externalId": "nope"}],
                "tagIds": ["tag_01HZZZZZZZZZZZZZZZZZZZZZZZ"],
                "customFields": {
                    renewal.public_id: "2026-02-30",
                    "cf_01HZZZZZZZZZZZZZZZZZZZZZZZ": "x",
                    prop.public_id: "x",
                    "cf_email": "x" * 1001,
                },
            }
        ),
        422,
        "validation_failed",
    )
    assert violations(problem) == [
        ("name", "too_long"),
        ("identities[0].externalId", "invalid_phone"),
        ("tagIds[0]", "unknown_tag"),
        (f"customFields.{renewal.public_id}", "invalid_date"),
        ("customFields.cf_01HZZZZZZZZZZZZZZZZZZZZZZZ", "unknown_custom_field"),
        (f"customFields.{prop.public_id}", "unknown_custom_field"),
        ("customFields.cf_email", "invalid_email"),
    ]


def test_text_value_limit_is_1000_characters(create, tenant):
    note = CustomFieldDefinitionFactory(tenant=tenant, name="Note", type="text")
    assert create({"customFields": {note.public_id: "x" * 1000}}).status_code == 201
    problem = assert_problem(
        create({"customFields": {note.public_id: "x" * 1001}}), 422, "validation_failed"
    )
    assert violations(problem) == [(f"customFields.{note.public_id}", "too_long")]


def test_identity_held_by_a_live_contact_is_409_naming_it(create, make_contact):
    holder = make_contact(identities=[{"channel": "whatsapp", "externalId": "+14155550123"}])
    response = create({"identities": [{"channel": "whatsapp", "externalId": "+1 415-555-0123"}]})
    problem = assert_problem(response, 409, "identity_conflict")
    assert holder["id"] in problem["detail"]
    assert Contact.objects.count() == 1


def test_same_address_on_another_channel_or_tenant_is_no_conflict(create, make_contact, client_b):
    make_contact(identities=[{"channel": "whatsapp", "externalId": "+14155550123"}])
    assert (
        create({"identities": [{"channel": "sms", "externalId": "+14155550123"}]}).status_code
        == 201
    )
    other = create(
        {"identities": [{"channel": "whatsapp", "externalId": "+14155550123"}]}, client=client_b
    )
    assert other.status_code == 201


def test_soft_delete_releases_identities(create, make_contact, client_a):
    holder = make_contact(identities=[{"channel": "email", "externalId": "a@b.co"}])
    assert client_a.delete(f"/v1/contacts/{holder['id']}").status_code == 204
    assert create({"identities": [{"channel": "email", "externalId": "A@B.CO"}]}).status_code == 201


# --- idempotency ----------------------------------------------------------------


def test_idempotency_key_replays_the_first_response(create):
    first = create({"name": "Once"}, HTTP_IDEMPOTENCY_KEY="key-1")
    again = create({"name": "Once"}, HTTP_IDEMPOTENCY_KEY="key-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["ETag"] == first["ETag"]
    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1


def test_idempotency_key_with_another_body_is_422(create):
    assert create({"name": "Once"}, HTTP_IDEMPOTENCY_KEY="key-1").status_code == 201
    problem = assert_problem(
        create({"name": "Twice"}, HTTP_IDEMPOTENCY_KEY="key-1"), 422, "idempotency_key_reused"
    )
    assert "errors" not in problem
    assert Contact.objects.count() == 1


def test_idempotency_keys_are_per_tenant(create, client_b):
    assert create({"name": "A"}, HTTP_IDEMPOTENCY_KEY="shared").status_code == 201
    assert create({"name": "B"}, client=client_b, HTTP_IDEMPOTENCY_KEY="shared").status_code == 201
    assert Contact.objects.count() == 2


def test_failed_request_does_not_burn_its_key(create):
    assert_problem(create({}, HTTP_IDEMPOTENCY_KEY="retry-me"), 422, "empty_contact")
    assert create({}, HTTP_IDEMPOTENCY_KEY="retry-me").status_code == 422
    assert create({"name": "Fixed"}, HTTP_IDEMPOTENCY_KEY="retry-me").status_code == 201


def test_overlong_idempotency_key_is_422(create):
    problem = assert_problem(
        create({"name": "x"}, HTTP_IDEMPOTENCY_KEY="k" * 256), 422, "validation_failed"
    )
    assert violations(problem) == [("Idempotency-Key", "invalid")]


# --- get ----------------------------------------------------------------------------


def test_get_returns_the_contact_with_an_etag(client_a, make_contact):
    created = make_contact(name="Grace")
    response = client_a.get(f"/v1/contacts/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert response["ETag"]


@pytest.mark.parametrize(
    "contact_id",
    ["ctc_01HZZZZZZZZZZZZZZZZZZZZZZZ", "ctc_x", "tag_01HZZZZZZZZZZZZZZZZZZZZZZZ", "%00"],
)
def test_unknown_contact_is_404(client_a, contact_id):
    assert_problem(client_a.get(f"/v1/contacts/{contact_id}"), 404, "contact_not_found")


def test_deleted_contact_is_gone_everywhere(client_a, make_contact, vip):
    contact = make_contact(name="Gone")
    url = f"/v1/contacts/{contact['id']}"
    assert client_a.delete(url).status_code == 204
    assert_problem(client_a.get(url), 404, "contact_not_found")
    assert_problem(client_a.patch(url, {"name": "x"}, format="json"), 404, "contact_not_found")
    assert_problem(client_a.delete(url), 404, "contact_not_found")
    assert_problem(client_a.post(f"{url}/archive"), 404, "contact_not_found")
    assert_problem(client_a.post(f"{url}/tags/{vip.pk}"), 404, "contact_not_found")
    assert_problem(
        client_a.put(f"{url}/custom-fields/cf_email", {"value": "a@b.co"}, format="json"),
        404,
        "contact_not_found",
    )
    assert client_a.get("/v1/contacts").json() == {"contacts": []}
    assert client_a.get("/v1/contacts", {"search": "Gone"}).json() == {"contacts": []}
    assert client_a.get("/v1/contacts/count").json() == {"count": 0}
    assert Contact.objects.get(pk=contact["id"]).deleted_at is not None  # kept for a restore


# --- update ---------------------------------------------------------------------------


def _patch(client, contact_id, body, **headers):
    return client.patch(f"/v1/contacts/{contact_id}", body, format="json", **headers)


def test_patch_changes_only_the_members_sent(client_a, make_contact, vip, renewal):
    contact = make_contact(
        name="Ada",
        identities=[{"channel": "sms", "externalId": "+14155550123"}],
        tagIds=[vip.pk],
        customFields={"cf_email": "ada@x.io", renewal.public_id: "2027-01-01"},
    )
    response = _patch(client_a, contact["id"], {"name": "Ada L."})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Ada L."
    for member in ("identities", "tags", "customFields", "createdAt"):
        assert body[member] == contact[member]
    assert body["updatedAt"] > contact["updatedAt"]


@pytest.mark.parametrize("cleared", ["", None, "   "])
def test_patch_name_clears_it(client_a, make_contact, cleared):
    contact = make_contact(name="Ada", customFields={"cf_email": "a@b.co"})
    assert _patch(client_a, contact["id"], {"name": cleared}).json()["name"] is None


def test_patch_custom_fields_merge(client_a, make_contact, renewal):
    contact = make_contact(
        name="Ada", customFields={"cf_email": "a@b.co", "cf_phone": "+14155550123"}
    )
    body = _patch(
        client_a, contact["id"], {"customFields": {"cf_email": "", renewal.public_id: "2026-06-01"}}
    ).json()
    assert {f["id"]: f["value"] for f in body["customFields"]} == {
        "cf_phone": "+14155550123",
        renewal.public_id: "2026-06-01",
    }


def test_patch_identities_replace_the_set_and_matching_ones_keep_their_ids(client_a, make_contact):
    contact = make_contact(
        identities=[
            {"channel": "whatsapp", "externalId": "+14155550123"},
            {"channel": "email", "externalId": "a@b.co"},
        ]
    )
    kept_id = contact["identities"][0]["id"]
    body = _patch(
        client_a,
        contact["id"],
        {
            "identities": [
                {"channel": "whatsapp", "externalId": "+1 415 555 0123", "metadata": {"v": 2}},
                {"channel": "instagram", "externalId": "ada.ig"},
            ]
        },
    ).json()
    assert [(i["id"] == kept_id, i["channel"], i["metadata"]) for i in body["identities"]] == [
        (True, "whatsapp", {"v": 2}),
        (False, "instagram", {}),
    ]
    assert not Identity.objects.filter(channel="email").exists()


def test_patch_tag_ids_replace_the_set(client_a, make_contact, tenant, vip):
    gold, silver = TagFactory(tenant=tenant, name="gold"), TagFactory(tenant=tenant, name="silver")
    contact = make_contact(name="Ada", tagIds=[vip.pk, gold.pk])
    body = _patch(client_a, contact["id"], {"tagIds": [silver.pk, gold.pk]}).json()
    assert [t["name"] for t in body["tags"]] == ["gold", "silver"]


def test_patch_that_would_empty_the_contact_is_422(client_a, make_contact):
    contact = make_contact(name="Ada")
    assert_problem(_patch(client_a, contact["id"], {"name": ""}), 422, "empty_contact")
    assert client_a.get(f"/v1/contacts/{contact['id']}").json()["name"] == "Ada"


def test_patch_validates_like_create(client_a, make_contact):
    contact = make_contact(name="Ada")
    problem = assert_problem(
        _patch(
            client_a,
            contact["id"],
            {"identities": [{"channel": "sms", "externalId": "x"}], "bogus": 1},
        ),
        422,
        "validation_failed",
    )
    assert violations(problem) == [("bogus", "unknown_field")]


def test_patch_identity_conflict_is_409(client_a, make_contact):
    holder = make_contact(identities=[{"channel": "email", "externalId": "a@b.co"}])
    other = make_contact(name="Other")
    problem = assert_problem(
        _patch(
            client_a, other["id"], {"identities": [{"channel": "email", "externalId": "a@b.co"}]}
        ),
        409,
        "identity_conflict",
    )
    assert holder["id"] in problem["detail"]


def test_patch_works_on_archived_contacts(client_a, make_contact):
    contact = make_contact(name="Ada")
    client_a.post(f"/v1/contacts/{contact['id']}/archive")
    body = _patch(client_a, contact["id"], {"name": "Still editable"}).json()
    assert (body["name"], body["archived"]) == ("Still editable", True)


def test_if_match_guards_against_lost_updates(client_a, make_contact):
    contact = make_contact(name="Ada")
    etag = client_a.get(f"/v1/contacts/{contact['id']}")["ETag"]
    first = _patch(client_a, contact["id"], {"name": "First"}, HTTP_IF_MATCH=etag)
    assert first.status_code == 200
    assert first["ETag"] != etag
    stale = _patch(client_a, contact["id"], {"name": "Second"}, HTTP_IF_MATCH=etag)
    assert_problem(stale, 412, "precondition_failed")
    assert (
        _patch(client_a, contact["id"], {"name": "Third"}, HTTP_IF_MATCH=first["ETag"]).status_code
        == 200
    )
    assert _patch(client_a, contact["id"], {"name": "Any"}, HTTP_IF_MATCH="*").status_code == 200
    assert client_a.get(f"/v1/contacts/{contact['id']}").json()["name"] == "Any"


# --- archive ------------------------------------------------------------------------------


def test_archive_and_unarchive(client_a, make_contact):
    contact = make_contact(name="Ada")
    url = f"/v1/contacts/{contact['id']}"
    assert client_a.post(f"{url}/archive").status_code == 204
    archived = client_a.get(url).json()
    assert archived["archived"] is True and archived["archivedAt"].endswith("Z")
    assert_problem(client_a.post(f"{url}/archive"), 409, "contact_already_archived")
    assert client_a.post(f"{url}/unarchive").status_code == 204
    restored = client_a.get(url).json()
    assert (restored["archived"], restored["archivedAt"]) == (False, None)
    assert_problem(client_a.post(f"{url}/unarchive"), 409, "contact_not_archived")
    assert_problem(client_a.post("/v1/contacts/ctc_nope/archive"), 404, "contact_not_found")


# --- set one value ------------------------------------------------------------------------


def _put_value(client, contact_id, definition_id, body):
    return client.put(
        f"/v1/contacts/{contact_id}/custom-fields/{definition_id}", body, format="json"
    )


def test_set_and_clear_a_value(client_a, make_contact, renewal):
    contact = make_contact(name="Ada")
    assert (
        _put_value(
            client_a, contact["id"], renewal.public_id, {"value": " 2026-12-24 "}
        ).status_code
        == 204
    )
    values = client_a.get(f"/v1/contacts/{contact['id']}").json()["customFields"]
    assert values == [
        {"id": renewal.public_id, "name": "Renewal", "type": "date", "value": "2026-12-24"}
    ]
    assert _put_value(client_a, contact["id"], renewal.public_id, {"value": ""}).status_code == 204
    assert client_a.get(f"/v1/contacts/{contact['id']}").json()["customFields"] == []


def test_set_value_errors(client_a, make_contact, renewal, tenant):
    contact = make_contact(name="Ada")
    prop = CustomFieldDefinitionFactory(tenant=tenant, entity_type="property")
    problem = assert_problem(
        _put_value(client_a, contact["id"], renewal.public_id, {"value": "2026-02-30"}),
        422,
        "validation_failed",
    )
    assert violations(problem) == [(f"customFields.{renewal.public_id}", "invalid_date")]
    problem = assert_problem(
        _put_value(client_a, contact["id"], renewal.public_id, {}), 422, "validation_failed"
    )
    assert violations(problem) == [("value", "required")]
    assert_problem(
        _put_value(client_a, contact["id"], prop.public_id, {"value": "x"}),
        404,
        "custom_field_not_found",
    )
    assert_problem(
        _put_value(client_a, contact["id"], "cf_01HZZZZZZZZZZZZZZZZZZZZZZZ", {"value": "x"}),
        404,
        "custom_field_not_found",
    )
    assert_problem(
        _put_value(client_a, "ctc_01HZZZZZZZZZZZZZZZZZZZZZZZ", renewal.public_id, {"value": "x"}),
        404,
        "contact_not_found",
    )


def test_values_of_a_deleted_definition_disappear_at_once(client_a, make_contact, renewal):
    contact = make_contact(name="Ada", customFields={renewal.public_id: "2026-01-01"})
    assert client_a.delete(f"/v1/contacts/custom-fields/{renewal.public_id}").status_code == 204
    assert client_a.get(f"/v1/contacts/{contact['id']}").json()["customFields"] == []
    problem = assert_problem(
        client_a.get("/v1/contacts", {f"customFields[{renewal.public_id}]": "2026-01-01"}),
        422,
        "validation_failed",
    )
    assert violations(problem) == [(f"customFields[{renewal.public_id}]", "unknown_custom_field")]


# --- tag / untag ----------------------------------------------------------------------------


def test_tag_and_untag_are_idempotent(client_a, make_contact, vip):
    contact = make_contact(name="Ada")
    url = f"/v1/contacts/{contact['id']}/tags/{vip.pk}"
    assert client_a.post(url).status_code == 204
    assert client_a.post(url).status_code == 204
    assert client_a.get(f"/v1/contacts/{contact['id']}").json()["tags"] == [
        {"id": vip.pk, "name": "VIP"}
    ]
    assert client_a.delete(url).status_code == 204
    assert client_a.delete(url).status_code == 204
    assert client_a.get(f"/v1/contacts/{contact['id']}").json()["tags"] == []


def test_tag_errors(client_a, make_contact, vip):
    contact = make_contact(name="Ada")
    assert_problem(
        client_a.post(f"/v1/contacts/{contact['id']}/tags/tag_01HZZZZZZZZZZZZZZZZZZZZZZZ"),
        404,
        "tag_not_found",
    )
    assert_problem(client_a.delete(f"/v1/contacts/{contact['id']}/tags/nope"), 404, "tag_not_found")
    assert_problem(
        client_a.post(f"/v1/contacts/ctc_01HZZZZZZZZZZZZZZZZZZZZZZZ/tags/{vip.pk}"),
        404,
        "contact_not_found",
    )


def test_deleting_a_tag_removes_it_from_every_contact(client_a, make_contact, vip):
    contacts = [make_contact(name=f"c{i}", tagIds=[vip.pk]) for i in range(3)]
    assert client_a.delete(f"/v1/tags/{vip.pk}").status_code == 204
    for contact in contacts:
        assert client_a.get(f"/v1/contacts/{contact['id']}").json()["tags"] == []


def test_every_mutation_moves_updated_at(client_a, make_contact, vip, renewal):
    contact = make_contact(name="Ada")
    url = f"/v1/contacts/{contact['id']}"
    last = contact["updatedAt"]
    for method, path, body in [
        ("post", f"{url}/tags/{vip.pk}", None),
        ("delete", f"{url}/tags/{vip.pk}", None),
        ("put", f"{url}/custom-fields/{renewal.public_id}", {"value": "2026-01-01"}),
        ("post", f"{url}/archive", None),
        ("post", f"{url}/unarchive", None),
        ("patch", url, {"identities": [{"channel": "livechat", "externalId": "v1"}]}),
    ]:
        assert getattr(client_a, method)(path, body, format="json").status_code in (200, 204)
        now = client_a.get(url).json()["updatedAt"]
        assert now > last, f"{method} {path} did not move updatedAt"
        last = now


def test_idempotency_records_are_forgotten_after_24_hours(create):
    from datetime import timedelta

    from django.utils import timezone

    from flownally_admin.api.idempotency import idempotency_records_purge
    from flownally_admin.api.models import IdempotencyRecord

    assert create({"name": "Old"}, HTTP_IDEMPOTENCY_KEY="old").status_code == 201
    assert create({"name": "New"}, HTTP_IDEMPOTENCY_KEY="new").status_code == 201
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    # The old key is free again: a retry with another body now creates a new contact.
    assert create({"name": "Other"}, HTTP_IDEMPOTENCY_KEY="old").status_code == 201


def test_nul_in_identity_metadata_is_422_not_a_500(create):
    body = {
        "identities": [{"channel": "livechat", "externalId": "v1", "metadata": {"k": "a\u0000"}}]
    }
    problem = assert_problem(create(body), 422, "validation_failed")
    assert violations(problem) == [("identities[0].metadata", "invalid")]


# --- bounds on lists ------------------------------------------------------------


def _identities(count):
    return [{"channel": "livechat", "externalId": f"visitor-{i}"} for i in range(count)]


def test_fifty_identities_are_accepted(create):
    response = create({"identities": _identities(50)})
    assert response.status_code == 201
    assert len(response.json()["identities"]) == 50


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"identities": _identities(51)}, "identities"),
        ({"identities": _identities(10_000)}, "identities"),
        ({"name": "x", "tagIds": [f"tag_{i}" for i in range(101)]}, "tagIds"),
        ({"customFields": {f"cf_{i}": "v" for i in range(201)}}, "customFields"),
    ],
)
def test_lists_over_their_bound_are_422_out_of_range(create, body, field):
    problem = assert_problem(create(body), 422, "validation_failed")
    assert violations(problem) == [(field, "out_of_range")]
    assert Contact.objects.count() == 0


def test_patch_with_too_many_identities_is_422(client_a, make_contact):
    contact = make_contact(name="Ada")
    response = client_a.patch(
        f"/v1/contacts/{contact['id']}", {"identities": _identities(51)}, format="json"
    )
    assert violations(assert_problem(response, 422, "validation_failed")) == [
        ("identities", "out_of_range")
    ]


def test_the_bounds_are_in_the_openapi_document(client):
    schemas = client.get("/v1/openapi.json").json()["components"]["schemas"]
    members = schemas["CreateContactRequest"]["properties"]
    assert members["identities"]["maxItems"] == 50
    assert members["tagIds"]["maxItems"] == 100
    assert members["customFields"]["maxProperties"] == 200
