"""Every change to a contact records its event in the same transaction (contract §8)."""

import pytest

from contacts.models import Contact
from events.models import Event

pytestmark = pytest.mark.django_db

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _events(tenant):
    return list(Event.objects.filter(tenant=tenant).order_by("sequence"))


@pytest.fixture
def ada(make_contact):
    return make_contact(
        name="Ada",
        identities=[{"channel": "whatsapp", "externalId": "+14155550123"}],
        customFields={"cf_email": "ada@example.com"},
    )


def test_create_records_contact_created_with_the_contact_and_its_origin(
    client_a, tenant, make_contact
):
    response = client_a.post(
        "/v1/contacts", {"name": "Ada"}, format="json", HTTP_TRACEPARENT=TRACEPARENT
    )
    (event,) = _events(tenant)
    assert (event.sequence, event.type, event.contact_id) == (
        1,
        "contact.created",
        response.json()["id"],
    )
    assert event.data == {"contact": response.json()}
    assert event.actor_id.startswith("svc_")
    assert event.api_key_id.startswith("key_")
    assert (event.source, event.trace_id) == ("api", TRACEPARENT)


def test_update_records_what_changed(client_a, tenant, ada, vip):
    response = client_a.patch(
        f"/v1/contacts/{ada['id']}",
        {
            "name": "Ada Lovelace",
            "identities": [{"channel": "email", "externalId": "ada@example.org"}],
            "tagIds": [vip.pk],
            "customFields": {"cf_email": "", "cf_phone": "+44 20 7946 0958"},
        },
        format="json",
    )
    event = _events(tenant)[-1]
    assert event.type == "contact.updated"
    assert event.data["contact"] == response.json()
    removed_identity = ada["identities"][0]
    added_identity = response.json()["identities"][0]
    assert event.data["changes"] == {
        "name": {"from": "Ada", "to": "Ada Lovelace"},
        "identities": {"added": [added_identity], "removed": [removed_identity]},
        "tags": {"added": [{"id": vip.pk, "name": "VIP"}], "removed": []},
        "customFields": {
            "cf_email": {"from": "ada@example.com", "to": None},
            "cf_phone": {"from": None, "to": "+442079460958"},
        },
    }


def test_a_patch_that_changes_nothing_records_nothing_and_keeps_updated_at(client_a, tenant, ada):
    before = Contact.objects.get(pk=ada["id"]).updated_at
    response = client_a.patch(
        f"/v1/contacts/{ada['id']}",
        {
            "name": " Ada ",
            "identities": [{"channel": "whatsapp", "externalId": "+1 415 555 0123"}],
            "customFields": {"cf_email": "ADA@example.com"},
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["updatedAt"] == ada["updatedAt"]
    assert Contact.objects.get(pk=ada["id"]).updated_at == before
    assert [e.type for e in _events(tenant)] == ["contact.created"]


def test_lifecycle_changes_record_one_event_each(client_a, tenant, ada, vip):
    path = f"/v1/contacts/{ada['id']}"
    assert client_a.post(f"{path}/archive").status_code == 204
    assert client_a.post(f"{path}/unarchive").status_code == 204
    assert client_a.post(f"{path}/tags/{vip.pk}").status_code == 204
    assert client_a.post(f"{path}/tags/{vip.pk}").status_code == 204  # already: no event
    assert client_a.delete(f"{path}/tags/{vip.pk}").status_code == 204
    assert client_a.delete(f"{path}/tags/{vip.pk}").status_code == 204  # not tagged: none
    assert (
        client_a.put(f"{path}/custom-fields/cf_email", {"value": ""}, format="json").status_code
        == 204
    )
    assert client_a.delete(path).status_code == 204

    events = _events(tenant)
    assert [e.type for e in events] == [
        "contact.created",
        "contact.archived",
        "contact.unarchived",
        "contact.updated",
        "contact.updated",
        "contact.updated",
        "contact.deleted",
    ]
    assert [e.sequence for e in events] == list(range(1, 8))
    assert {e.contact_id for e in events} == {ada["id"]}
    assert events[1].data["contact"]["archived"] is True
    assert events[3].data["changes"] == {
        "tags": {"added": [{"id": vip.pk, "name": "VIP"}], "removed": []}
    }
    assert events[4].data["changes"] == {
        "tags": {"added": [], "removed": [{"id": vip.pk, "name": "VIP"}]}
    }
    assert events[5].data["changes"] == {
        "customFields": {"cf_email": {"from": "ada@example.com", "to": None}}
    }
    assert events[6].data == {"contactId": ada["id"], "mergedInto": None}


def test_a_refused_change_records_nothing(client_a, tenant, ada, make_contact):
    other = make_contact(name="Grace")
    response = client_a.patch(
        f"/v1/contacts/{other['id']}",
        {"identities": [{"channel": "whatsapp", "externalId": "+14155550123"}]},
        format="json",
    )
    assert response.status_code == 409
    assert [e.type for e in _events(tenant)] == ["contact.created", "contact.created"]
