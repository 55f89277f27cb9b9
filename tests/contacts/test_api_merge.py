"""Contract §11 over HTTP: GET /contacts/{id}/duplicates and POST /contacts/{id}/merge."""

import pytest

from contacts.models import Contact, ContactTag, Identity
from events.models import Event
from tests.factories.contacts import ContactFactory
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory
from tests.problems import assert_problem, violations

pytestmark = pytest.mark.django_db


def _duplicates(client, contact_id):
    return client.get(f"/v1/contacts/{contact_id}/duplicates")


def _merge(client, target_id, body, **headers):
    return client.post(f"/v1/contacts/{target_id}/merge", body, format="json", **headers)


def _pairs(response):
    return [(d["contact"]["id"], d["matchedOn"]) for d in response.json()["duplicates"]]


def _whatsapp(number):
    return {"channel": "whatsapp", "externalId": number}


# --- duplicates ---------------------------------------------------------------


def test_duplicates_match_values_and_identities_of_either_kind(make_contact, client_a):
    ada = make_contact(
        name="Ada",
        identities=[{"channel": "email", "externalId": "ada@example.com"}],
        customFields={"cf_phone": "+14155550123"},
    )
    by_email_value = make_contact(name="A. L.", customFields={"cf_email": "ADA@example.com"})
    by_whatsapp = make_contact(name="Mobile", identities=[_whatsapp("+1 415 555 0123")])
    by_both = make_contact(
        customFields={"cf_email": "ada@example.com"},
        identities=[{"channel": "sms", "externalId": "+14155550123"}],
    )
    make_contact(name="Ada", customFields={"cf_email": "other@example.com"})  # a name is no key
    response = _duplicates(client_a, ada["id"])
    assert response.status_code == 200
    assert _pairs(response) == [
        (by_email_value["id"], ["email"]),
        (by_whatsapp["id"], ["phone"]),
        (by_both["id"], ["email", "phone"]),
    ]
    assert (
        response.json()["duplicates"][1]["contact"]
        == client_a.get(f"/v1/contacts/{by_whatsapp['id']}").json()
    )
    # Both ways round: the match is symmetric.
    assert _pairs(_duplicates(client_a, by_whatsapp["id"])) == [
        (ada["id"], ["phone"]),
        (by_both["id"], ["phone"]),
    ]


def test_duplicates_leave_out_deleted_contacts_and_other_tenants(make_contact, client_a, client_b):
    ada = make_contact(name="Ada", customFields={"cf_email": "ada@example.com"})
    archived = make_contact(customFields={"cf_email": "ada@example.com"})
    deleted = make_contact(customFields={"cf_email": "ada@example.com"})
    make_contact(client=client_b, customFields={"cf_email": "ada@example.com"})
    assert client_a.post(f"/v1/contacts/{archived['id']}/archive").status_code == 204
    assert client_a.delete(f"/v1/contacts/{deleted['id']}").status_code == 204
    assert _pairs(_duplicates(client_a, ada["id"])) == [(archived["id"], ["email"])]


def test_duplicates_are_the_fifty_oldest(tenant, client_a):
    contacts = [
        ContactFactory(tenant=tenant, custom_fields={"cf_phone": "+14155550123"}) for _ in range(53)
    ]
    found = [pk for pk, _ in _pairs(_duplicates(client_a, contacts[-1].pk))]
    assert found == [c.pk for c in contacts[:50]]


def test_duplicates_of_a_missing_or_foreign_contact_are_404(make_contact, client_a, client_b):
    foreign = make_contact(client=client_b)
    for contact_id in (foreign["id"], "ctc_01JZZZZZZZZZZZZZZZZZZZZZZZ", "nonsense"):
        assert_problem(_duplicates(client_a, contact_id), 404, "contact_not_found")


def test_duplicates_need_contact_read(make_client, tenant, make_contact):
    ada = make_contact()
    client = make_client(tenant=tenant, scopes=["contact:list"])
    body = assert_problem(_duplicates(client, ada["id"]), 403, "insufficient_scope")
    assert "contact:read" in body["detail"]


# --- merge --------------------------------------------------------------------


@pytest.fixture
def plan(tenant):
    return CustomFieldDefinitionFactory(tenant=tenant, name="Plan", type="text")


@pytest.fixture
def trio(make_contact, vip, plan, tenant):
    """A target and two sources with overlapping tags and values in different places."""
    gold = TagFactory(tenant=tenant, name="Gold")
    target = make_contact(
        name="Ada Lovelace",
        identities=[_whatsapp("+14155550123")],
        tagIds=[vip.pk],
        customFields={"cf_email": "ada@example.com"},
    )
    first = make_contact(
        name="Ada L.",
        identities=[{"channel": "email", "externalId": "ada@work.example"}],
        tagIds=[vip.pk, gold.pk],
        customFields={"cf_email": "ada@work.example", plan.public_id: "pro"},
    )
    second = make_contact(
        identities=[{"channel": "sms", "externalId": "+14155550199"}],
        customFields={"cf_phone": "+14155550199", plan.public_id: "free"},
    )
    return target, first, second


def test_merge_folds_the_sources_into_the_target(client_a, tenant, trio, plan, vip):
    target, first, second = trio
    response = _merge(client_a, target["id"], {"sourceIds": [first["id"], second["id"]]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == client_a.get(f"/v1/contacts/{target['id']}").json()
    assert response["ETag"] == client_a.get(f"/v1/contacts/{target['id']}")["ETag"]
    assert body["name"] == "Ada Lovelace"
    # Identities move, keeping their ids; tags are the union; values fill the gaps in order.
    assert body["identities"] == [
        *target["identities"],
        *first["identities"],
        *second["identities"],
    ]
    assert [t["name"] for t in body["tags"]] == ["Gold", "VIP"]
    assert {v["id"]: v["value"] for v in body["customFields"]} == {
        "cf_email": "ada@example.com",
        "cf_phone": "+14155550199",
        plan.public_id: "pro",
    }
    assert body["updatedAt"] > target["updatedAt"]
    for source in (first, second):
        problem = assert_problem(
            client_a.get(f"/v1/contacts/{source['id']}"), 404, "contact_not_found"
        )
        assert problem["mergedInto"] == target["id"]
    assert client_a.get("/v1/contacts/count").json() == {"count": 1}
    assert client_a.get("/v1/contacts", {"search": "+14155550199"}).json()["contacts"] == [body]


def test_merge_records_merged_then_deleted_events_in_one_go(client_a, tenant, trio):
    target, first, second = trio
    before = Event.objects.filter(tenant=tenant).count()
    body = _merge(client_a, target["id"], {"sourceIds": [first["id"], second["id"]]}).json()
    events = list(Event.objects.filter(tenant=tenant).order_by("sequence")[before:])
    assert [(e.type, e.contact_id, e.data) for e in events] == [
        (
            "contact.merged",
            target["id"],
            {"contact": body, "sourceIds": [first["id"], second["id"]]},
        ),
        ("contact.deleted", first["id"], {"contactId": first["id"], "mergedInto": target["id"]}),
        ("contact.deleted", second["id"], {"contactId": second["id"], "mergedInto": target["id"]}),
    ]
    assert {e.source for e in events} == {"api"}


def test_pick_takes_the_name_and_values_from_the_contacts_named(client_a, trio, plan):
    target, first, second = trio
    body = _merge(
        client_a,
        target["id"],
        {
            "sourceIds": [first["id"], second["id"]],
            "pick": {
                "name": first["id"],
                # From the second source; and from the first, which has no phone: none.
                "customFields": {plan.public_id: second["id"], "cf_phone": first["id"]},
            },
        },
    ).json()
    assert body["name"] == "Ada L."
    assert {v["id"]: v["value"] for v in body["customFields"]} == {
        "cf_email": "ada@example.com",
        plan.public_id: "free",
    }


def test_an_empty_target_name_comes_from_the_first_source_that_has_one(client_a, make_contact):
    target = make_contact(customFields={"cf_email": "x@example.com"})
    nameless = make_contact(customFields={"cf_phone": "+14155550123"})
    named = make_contact(name="Grace")
    body = _merge(client_a, target["id"], {"sourceIds": [nameless["id"], named["id"]]}).json()
    assert body["name"] == "Grace"


def test_preview_answers_the_result_and_writes_nothing(client_a, tenant, trio):
    target, first, second = trio
    request = {"sourceIds": [second["id"], first["id"]], "pick": {"name": first["id"]}}
    events_before = Event.objects.filter(tenant=tenant).count()
    preview = _merge(client_a, target["id"], {**request, "preview": True})
    assert preview.status_code == 200, preview.content
    assert Event.objects.filter(tenant=tenant).count() == events_before
    assert Contact.objects.filter(tenant=tenant, deleted_at__isnull=True).count() == 3
    assert client_a.get(f"/v1/contacts/{target['id']}").json() == target
    assert preview["ETag"] == client_a.get(f"/v1/contacts/{target['id']}")["ETag"]
    merged = _merge(client_a, target["id"], request, HTTP_IF_MATCH=preview["ETag"]).json()
    assert {**preview.json(), "updatedAt": None} == {**merged, "updatedAt": None}


@pytest.mark.parametrize(
    ("sources", "pick", "expected"),
    [
        ([], None, [("sourceIds", "out_of_range")]),
        ([f"S{i}" for i in range(11)], None, [("sourceIds", "out_of_range")]),
        (["T"], None, [("sourceIds[0]", "invalid")]),
        (["A", "B", "A"], None, [("sourceIds[2]", "invalid")]),
        (["A"], {"name": "B"}, [("pick.name", "invalid")]),
        (
            ["A"],
            {"customFields": {"cf_email": "B", "cf_phone": "T"}},
            [("pick.customFields.cf_email", "invalid")],
        ),
        (
            ["A"],
            {"customFields": {"cf_nope": "A"}},
            [("pick.customFields.cf_nope", "unknown_custom_field")],
        ),
    ],
)
def test_bad_merges_are_refused_and_change_nothing(
    client_a, tenant, make_contact, sources, pick, expected
):
    ids = {name: make_contact(name=name)["id"] for name in ("T", "A", "B")}
    body = {"sourceIds": [ids.get(s, s) for s in sources]}
    if pick is not None:
        body["pick"] = {
            member: ids.get(value)
            if isinstance(value, str)
            else {k: ids[v] for k, v in value.items()}
            for member, value in pick.items()
        }
    events_before = Event.objects.filter(tenant=tenant).count()
    problem = assert_problem(_merge(client_a, ids["T"], body), 422, "validation_failed")
    assert violations(problem) == expected
    assert Event.objects.filter(tenant=tenant).count() == events_before
    assert Contact.objects.filter(tenant=tenant, deleted_at__isnull=True).count() == 3


def test_malformed_merge_bodies_are_422(client_a, make_contact):
    target = make_contact()
    problem = assert_problem(
        _merge(client_a, target["id"], {"sourceId": []}), 422, "validation_failed"
    )
    assert violations(problem) == [("sourceId", "unknown_field"), ("sourceIds", "required")]
    problem = assert_problem(
        _merge(client_a, target["id"], {"sourceIds": [1], "pick": {"names": "x"}}),
        422,
        "validation_failed",
    )
    assert violations(problem) == [("sourceIds[0]", "invalid"), ("pick.names", "unknown_field")]


def test_missing_deleted_or_foreign_contacts_are_404_and_change_nothing(
    client_a, client_b, tenant, make_contact
):
    target, source, deleted = (make_contact(name=n) for n in ("T", "S", "D"))
    foreign = make_contact(client=client_b)
    assert client_a.delete(f"/v1/contacts/{deleted['id']}").status_code == 204
    for target_id, source_id in [
        (target["id"], deleted["id"]),
        (target["id"], foreign["id"]),
        (target["id"], "ctc_01JZZZZZZZZZZZZZZZZZZZZZZZ"),
        (target["id"], "not-an-id"),
        (deleted["id"], source["id"]),
        (foreign["id"], source["id"]),
    ]:
        problem = assert_problem(
            _merge(client_a, target_id, {"sourceIds": [source_id]}), 404, "contact_not_found"
        )
        assert "mergedInto" not in problem
    assert Contact.objects.filter(tenant=tenant, deleted_at__isnull=True).count() == 2


def test_a_merged_contact_is_404_with_merged_into_everywhere(client_a, make_contact, vip):
    target, source, other = (make_contact(name=n) for n in ("T", "S", "O"))
    assert _merge(client_a, target["id"], {"sourceIds": [source["id"]]}).status_code == 200
    gone = f"/v1/contacts/{source['id']}"
    for response in (
        client_a.get(gone),
        client_a.patch(gone, {"name": "again"}, format="json"),
        client_a.delete(gone),
        client_a.post(f"{gone}/tags/{vip.pk}"),
        client_a.get(f"{gone}/duplicates"),
        client_a.get(f"{gone}/history"),
        _merge(client_a, other["id"], {"sourceIds": [source["id"]]}),
        _merge(client_a, source["id"], {"sourceIds": [other["id"]]}),
    ):
        problem = assert_problem(response, 404, "contact_not_found")
        assert problem["mergedInto"] == target["id"]
        assert target["id"] in problem["detail"]


def test_merge_honours_if_match_on_the_target(client_a, make_contact):
    target, source = make_contact(name="T"), make_contact(name="S")
    etag = client_a.get(f"/v1/contacts/{target['id']}")["ETag"]
    patched = client_a.patch(f"/v1/contacts/{target['id']}", {"name": "T2"}, format="json")
    assert patched.status_code == 200
    stale = _merge(client_a, target["id"], {"sourceIds": [source["id"]]}, HTTP_IF_MATCH=etag)
    assert_problem(stale, 412, "precondition_failed")
    assert client_a.get(f"/v1/contacts/{source['id']}").status_code == 200
    fresh = client_a.get(f"/v1/contacts/{target['id']}")["ETag"]
    merged = _merge(client_a, target["id"], {"sourceIds": [source["id"]]}, HTTP_IF_MATCH=fresh)
    assert merged.status_code == 200


def test_merge_honours_idempotency_keys(client_a, tenant, make_contact):
    target, source = make_contact(name="T"), make_contact(name="S")
    body = {"sourceIds": [source["id"]]}
    first = _merge(client_a, target["id"], body, HTTP_IDEMPOTENCY_KEY="merge-1")
    again = _merge(client_a, target["id"], body, HTTP_IDEMPOTENCY_KEY="merge-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Event.objects.filter(tenant=tenant, type="contact.merged").count() == 1
    other = _merge(
        client_a, target["id"], {"sourceIds": [target["id"]]}, HTTP_IDEMPOTENCY_KEY="merge-1"
    )
    assert_problem(other, 422, "idempotency_key_reused")


@pytest.mark.parametrize(
    ("scopes", "missing"),
    [
        (["contact:update"], "'contact:delete' scope."),
        (["contact:delete"], "'contact:update' scope."),
        (["contact:read"], "'contact:update' and 'contact:delete' scopes."),
    ],
)
def test_merge_needs_update_and_delete_scopes(make_client, tenant, make_contact, scopes, missing):
    target, source = make_contact(name="T"), make_contact(name="S")
    client = make_client(tenant=tenant, scopes=scopes)
    problem = assert_problem(
        _merge(client, target["id"], {"sourceIds": [source["id"]]}), 403, "insufficient_scope"
    )
    assert problem["detail"].endswith(missing)


def test_merging_archived_sources_moves_the_archived_count(client_a, make_contact):
    target, source = make_contact(name="T"), make_contact(name="S")
    assert client_a.post(f"/v1/contacts/{source['id']}/archive").status_code == 204
    assert _merge(client_a, target["id"], {"sourceIds": [source["id"]]}).status_code == 200
    assert client_a.get("/v1/contacts/count", {"archived": "true"}).json() == {"count": 0}
    assert client_a.get("/v1/contacts/count").json() == {"count": 1}


def test_a_merge_that_would_leave_an_empty_contact_is_refused(client_a, make_contact):
    target = make_contact(name="T")
    source = make_contact(customFields={"cf_phone": "+14155550123"})
    body = {
        "sourceIds": [source["id"]],
        "pick": {"name": source["id"], "customFields": {"cf_phone": target["id"]}},
    }
    assert_problem(_merge(client_a, target["id"], body), 422, "empty_contact")
    assert client_a.get(f"/v1/contacts/{source['id']}").status_code == 200


def test_the_sources_keep_inactive_copies_of_the_identities_they_gave(client_a, trio):
    target, first, _ = trio
    _merge(client_a, target["id"], {"sourceIds": [first["id"]]})
    (moved,) = first["identities"]
    assert Identity.objects.get(pk=moved["id"]).contact_id == target["id"]
    copy = Identity.objects.get(contact_id=first["id"])
    assert (copy.channel, copy.external_id, copy.active) == ("email", "ada@work.example", False)
    assert ContactTag.objects.filter(contact_id=target["id"]).count() == 2
