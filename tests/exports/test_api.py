"""Contract §10 through HTTP: export, status, file (the worker runs eagerly, on commit)."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event
from exports.models import ContactExport
from flownally_admin.tenancy.scopes import ALL_SCOPES
from flownally_admin.timestamps import rfc3339
from tests.problems import assert_problem, violations

pytestmark = pytest.mark.django_db

HEADER = (
    "id,name,email,phone,whatsapp,sms,email_identity,messenger,instagram,livechat,tags,"
    "Plan,renewal,archived,createdAt,updatedAt"
)


def _rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_export_writes_the_matching_contacts_in_created_order(run_export, download, people):
    response, body = run_export()
    assert response.status_code == 202
    export_id = response.json()["id"]
    assert response.json() == {"id": export_id, "status": "queued"}
    assert response["Location"] == f"/v1/contacts/exports/{export_id}"
    assert body["status"] == "completed"
    assert (body["totalRows"], body["processedRows"]) == (2, 2)
    text = download(export_id)
    assert body["sizeBytes"] == len(text.encode())
    ada, grace = people["ada"], people["grace"]
    assert text.splitlines()[0] == "\ufeff" + HEADER
    assert _rows(text)[1:] == [
        [
            ada.pk,
            "Ada Lovelace",
            "ada@example.com",
            "+14155550100",  # an E.164 number stays as it is
            "'+14155550100;+14155550101",  # two of them are no longer one
            "",
            "ada@example.com",
            "",
            "",
            "",
            "Beta;vip",
            "'=HYPERLINK(1)",
            "2027-01-31",
            "false",
            rfc3339(ada.created_at),
            rfc3339(ada.updated_at),
        ],
        [
            grace.pk,
            '\'-Grace, "Amazing" Hopper',
            "",
            "",
            "",
            "",
            "",
            "'@grace",
            "",
            "",
            "",
            "'+1 (415) pro",
            "",
            "false",
            rfc3339(grace.created_at),
            rfc3339(grace.updated_at),
        ],
    ]


def test_status_has_every_member(run_export, people):
    _, body = run_export()
    export = ContactExport.objects.get(pk=body["id"])
    assert body == {
        "id": export.pk,
        "status": "completed",
        "totalRows": 2,
        "processedRows": 2,
        "sizeBytes": export.size_bytes,
        "failure": None,
        "createdAt": rfc3339(export.created_at),
        "startedAt": rfc3339(export.started_at),
        "finishedAt": rfc3339(export.finished_at),
        "expiresAt": rfc3339(export.finished_at + timedelta(hours=24)),
    }


def test_file_is_an_attachment_of_csv(client_a, run_export, people):
    _, body = run_export()
    response = client_a.get(f"/v1/contacts/exports/{body['id']}/file")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    assert response["Content-Length"] == str(body["sizeBytes"])


def test_filters_are_the_lists(run_export, download, people):
    _, archived = run_export({"archived": True, "columns": ["name", "sms"]})
    assert _rows(download(archived["id"])) == [["name", "sms"], ["Linus", "+442071234567"]]
    _, tagged = run_export({"tagIds": [people["vip"].pk], "columns": ["name"]})
    assert _rows(download(tagged["id"])) == [["name"], ["Ada Lovelace"]]
    _, by_channel = run_export({"channels": ["messenger"], "columns": ["name"]})
    assert _rows(download(by_channel["id"]))[1:] == [['\'-Grace, "Amazing" Hopper']]
    _, by_value = run_export(
        {"customFields": {people["renewal"].public_id: "2027-01-31"}, "columns": ["id"]}
    )
    assert _rows(download(by_value["id"]))[1:] == [[people["ada"].pk]]
    _, searched = run_export({"search": "grace", "columns": ["name"]})
    assert _rows(download(searched["id"]))[1:] == [['\'-Grace, "Amazing" Hopper']]
    later = rfc3339(people["grace"].created_at)
    _, recent = run_export({"createdAfter": later, "columns": ["name"]})
    assert recent["totalRows"] == 1


def test_columns_pick_and_order(run_export, download, people):
    _, body = run_export({"columns": ["renewal", "id", "tags"]})
    assert _rows(download(body["id"])) == [
        ["renewal", "id", "tags"],
        ["2027-01-31", people["ada"].pk, "Beta;vip"],
        ["", people["grace"].pk, ""],
    ]


def test_export_records_its_outcome_event(run_export, tenant, people):
    _, body = run_export()
    event = Event.objects.get(tenant=tenant, type="export.completed")
    assert event.actor_id.startswith("svc_")
    assert event.source == "api"
    assert event.data == {"export": body}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"columns": ["name", "nope"]}, [("columns", "invalid_choice")]),
        ({"columns": ["name", "name"]}, [("columns", "invalid")]),
        ({"columns": []}, [("columns", "invalid")]),
        ({"createdAfter": "2026-01-01"}, [("createdAfter", "invalid")]),
        ({"updatedBefore": ""}, [("updatedBefore", "invalid")]),
        ({"channels": ["fax"]}, [("channels[0]", "invalid_choice")]),
        ({"archived": "yes"}, [("archived", "invalid")]),
        ({"customFields": {"cf_nope": "x"}}, [("customFields.cf_nope", "unknown_custom_field")]),
        ({"tagIds": "tag_x"}, [("tagIds", "invalid")]),
        ({"search": 5}, [("search", "invalid")]),
        ({"colour": "red"}, [("colour", "unknown_field")]),
        # NUL cannot reach PostgreSQL, in a filter or anywhere else.
        ({"search": "a\x00b"}, [("search", "invalid")]),
        ({"customFields": {"cf_email": "a\x00"}}, [("customFields.cf_email", "invalid")]),
    ],
)
def test_bad_members_are_422_on_the_member(client_a, body, expected):
    response = client_a.post("/v1/contacts/exports", body, format="json")
    assert violations(assert_problem(response, 422, "validation_failed")) == expected
    assert not ContactExport.objects.exists()


def test_a_file_before_it_is_ready_is_409(client_a):
    response = client_a.post("/v1/contacts/exports", {}, format="json")  # never run: no commit
    export_id = response.json()["id"]
    assert client_a.get(f"/v1/contacts/exports/{export_id}").json()["status"] == "queued"
    assert_problem(client_a.get(f"/v1/contacts/exports/{export_id}/file"), 409, "export_not_ready")


def test_an_expired_file_is_410_and_purged(client_a, run_export, people):
    from exports.services import contact_exports_purge_expired

    _, body = run_export()
    ContactExport.objects.filter(pk=body["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_problem(client_a.get(f"/v1/contacts/exports/{body['id']}/file"), 410, "export_expired")
    assert contact_exports_purge_expired() == 1
    assert ContactExport.objects.get(pk=body["id"]).file_path == ""
    assert_problem(client_a.get(f"/v1/contacts/exports/{body['id']}/file"), 410, "export_expired")


@pytest.mark.parametrize("suffix", ["", "/file"])
def test_another_tenants_export_is_404(client_a, client_b, run_export, suffix):
    _, body = run_export()
    assert_problem(
        client_b.get(f"/v1/contacts/exports/{body['id']}{suffix}"), 404, "export_not_found"
    )
    assert_problem(client_a.get(f"/v1/contacts/exports/exp_nope{suffix}"), 404, "export_not_found")


def test_export_needs_its_scope(make_client, tenant):
    client = make_client(tenant=tenant, scopes=[s for s in ALL_SCOPES if s != "contact:export"])
    assert_problem(
        client.post("/v1/contacts/exports", {}, format="json"), 403, "insufficient_scope"
    )


def test_idempotency_key_replays_the_same_export(run_export):
    first, _ = run_export({"archived": True}, HTTP_IDEMPOTENCY_KEY="exp-1")
    again, _ = run_export({"archived": True}, HTTP_IDEMPOTENCY_KEY="exp-1")
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert ContactExport.objects.count() == 1
    other, _ = run_export({"archived": False}, HTTP_IDEMPOTENCY_KEY="exp-1")
    assert_problem(other, 422, "idempotency_key_reused")


def test_too_many_unfinished_exports_are_429(client_a, settings):
    settings.EXPORT_MAX_CONCURRENT = 1
    assert client_a.post("/v1/contacts/exports", {}, format="json").status_code == 202
    response = client_a.post("/v1/contacts/exports", {}, format="json")
    assert_problem(response, 429, "rate_limited")
    assert response["Retry-After"] == "30"
