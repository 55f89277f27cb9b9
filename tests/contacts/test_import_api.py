"""CSV imports through HTTP: operations 7, 8 and errors.csv (contract §4).

The worker runs in-process here (Celery eager, on commit); tests/contacts/
test_import_worker.py runs a real worker on Redis.
"""

import codecs
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Contact, ContactImport, Identity
from tags.models import Tag
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.problems import assert_problem, violations

pytestmark = pytest.mark.django_db

HEADER = "name,email,phone,whatsapp,tags,Renewal,colour\n"


@pytest.fixture(autouse=True)
def small_batches(settings):
    settings.IMPORT_BATCH_ROWS = 3  # several batches even in small files


@pytest.fixture
def renewal(tenant):
    return CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date")


@pytest.fixture
def run_import(client_a, django_capture_on_commit_callbacks):
    """Upload a CSV and let the (eager) worker run it; returns (response, status body)."""

    def run(content, *, client=None, name="contacts.csv", **fields):
        client = client or client_a
        raw = content.encode() if isinstance(content, str) else content
        headers = {k: fields.pop(k) for k in list(fields) if k.startswith("HTTP_")}
        data = {"file": SimpleUploadedFile(name, raw, content_type="text/csv"), **fields}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/v1/contacts/import", data, format="multipart", **headers)
        if response.status_code != 202:
            return response, None
        return response, client.get(response["Location"]).json()

    return run


def _contacts(tenant):
    return {
        c.name: c
        for c in Contact.objects.filter(tenant=tenant, deleted_at__isnull=True).prefetch_related(
            "identities", "tags"
        )
    }


def test_mixed_file_imports_good_rows_and_reports_each_bad_cell(run_import, tenant, renewal):
    response, status = run_import(
        HEADER
        + "Ada,ADA@X.IO,+1 (415) 555-0123,,vip;gold,2027-01-31,red\n"
        + "Bob,not-an-email,,+44 20 7946 0958,,2027-02-30,blue\n"
        + ",,,,,,\n"
        + "Cyd,,12,,,,\n"
        + "Dee,dee@x.io,,+33 1 42 68 53 00,gold|silver,,\n"
    )
    assert response.status_code == 202
    assert response.json() == {"id": response.json()["id"], "status": "queued"}
    assert response["Location"] == f"/v1/contacts/imports/{response.json()['id']}"
    assert {
        k: status[k]
        for k in (
            "status",
            "fileName",
            "mode",
            "dryRun",
            "totalRows",
            "processedRows",
            "createdCount",
            "updatedCount",
            "skippedCount",
            "failedCount",
            "ignoredColumns",
            "errorsTruncated",
            "failure",
        )
    } == {
        "status": "completed",
        "fileName": "contacts.csv",
        "mode": "upsert",
        "dryRun": False,
        "totalRows": 5,
        "processedRows": 5,
        "createdCount": 2,
        "updatedCount": 0,
        "skippedCount": 1,
        "failedCount": 2,
        "ignoredColumns": ["colour"],
        "errorsTruncated": False,
        "failure": None,
    }
    assert [(e["row"], e["column"], e["code"], e["value"]) for e in status["errors"]] == [
        (2, "Renewal", "invalid_date", "2027-02-30"),
        (2, "email", "invalid_email", "not-an-email"),
        (3, None, "empty_row", ""),
        (4, "phone", "invalid_phone", "12"),
    ]
    assert status["startedAt"] and status["finishedAt"] and status["createdAt"]
    contacts = _contacts(tenant)
    assert set(contacts) == {"Ada", "Dee"}
    ada = contacts["Ada"]
    assert ada.custom_fields == {
        "cf_email": "ada@x.io",
        "cf_phone": "+14155550123",
        renewal.public_id: "2027-01-31",
    }
    assert sorted(t.name for t in ada.tags.all()) == ["gold", "vip"]
    assert [(i.channel, i.external_id) for i in contacts["Dee"].identities.all()] == [
        ("whatsapp", "+33142685300")
    ]
    assert sorted(Tag.objects.filter(tenant=tenant).values_list("name", flat=True)) == [
        "gold",
        "silver",
        "vip",
    ]


def test_imported_contacts_are_searchable_and_counted(run_import, client_a):
    run_import("name,whatsapp\nAda,+1 415 555 0123\nBob,\n")
    assert client_a.get("/v1/contacts/count").json() == {"count": 2}
    body = client_a.get("/v1/contacts", {"search": "4155550123"}).json()
    assert [c["name"] for c in body["contacts"]] == ["Ada"]


def test_upsert_updates_matching_contacts_by_identity_then_email_then_phone(
    run_import, client_a, tenant, make_contact
):
    by_identity = make_contact(
        name="Old A", identities=[{"channel": "whatsapp", "externalId": "+14155550123"}]
    )
    by_email = make_contact(name="Old B", customFields={"cf_email": "b@x.io"})
    by_phone = make_contact(name="Old C", customFields={"cf_phone": "+442079460958"})
    _, status = run_import(
        "name,email,phone,whatsapp\n"
        "New A,,,+14155550123\n"
        "New B,B@X.IO,,\n"
        "New C,,+44 20 7946 0958,\n"
        "New D,d@x.io,,\n"
    )
    assert (status["createdCount"], status["updatedCount"], status["failedCount"]) == (1, 3, 0)
    names = {c.pk: c.name for c in Contact.objects.filter(tenant=tenant)}
    assert names[by_identity["id"]] == "New A"
    assert names[by_email["id"]] == "New B"
    assert names[by_phone["id"]] == "New C"
    assert sorted(names.values()) == ["New A", "New B", "New C", "New D"]


def test_upsert_merges_without_clearing(run_import, tenant, make_contact, renewal):
    existing = make_contact(
        name="Ada",
        customFields={"cf_email": "ada@x.io", renewal.public_id: "2026-01-01"},
        identities=[{"channel": "sms", "externalId": "+14155550123"}],
    )
    run_import("name,email,Renewal,whatsapp,tags\n,ada@x.io,,+14155550000,new-tag\n")
    contact = Contact.objects.get(pk=existing["id"])
    assert contact.name == "Ada"  # an empty cell leaves the value alone
    assert contact.custom_fields[renewal.public_id] == "2026-01-01"
    assert sorted((i.channel, i.external_id) for i in contact.identities.all()) == [
        ("sms", "+14155550123"),
        ("whatsapp", "+14155550000"),
    ]
    assert [t.name for t in contact.tags.all()] == ["new-tag"]


def test_create_mode_rejects_existing_and_in_file_duplicates(run_import, tenant, make_contact):
    make_contact(name="Existing", customFields={"cf_email": "old@x.io"})
    _, status = run_import(
        "name,email,whatsapp\n"
        "A,old@x.io,\n"
        "B,b@x.io,+14155550123\n"
        "C,c@x.io,\n"
        "D,,+1 415 555 0123\n"  # same identity as row 2 (same batch)
        "E,c@x.io,\n"  # same e-mail as row 3 (next batch)
        "F,f@x.io,\n",
        mode="create",
    )
    assert [(e["row"], e["code"]) for e in status["errors"]] == [
        (1, "duplicate"),
        (4, "duplicate_in_file"),
        (5, "duplicate_in_file"),
    ]
    assert (status["createdCount"], status["updatedCount"], status["failedCount"]) == (3, 0, 3)
    assert sorted(_contacts(tenant)) == ["B", "C", "Existing", "F"]


def test_upsert_merges_in_file_duplicates(run_import, tenant):
    _, status = run_import(
        "name,email,whatsapp,tags\n"
        "First,a@x.io,+14155550123,one\n"
        "x,b@x.io,,\n"
        "y,c@x.io,,\n"
        "Second,,+14155550123,two\n"  # next batch, same identity
    )
    assert (status["createdCount"], status["updatedCount"]) == (3, 1)
    contact = Contact.objects.get(tenant=tenant, identities__external_id="+14155550123")
    assert contact.name == "Second"
    assert contact.custom_fields == {"cf_email": "a@x.io"}
    assert sorted(t.name for t in contact.tags.all()) == ["one", "two"]


def test_identities_of_two_different_contacts_fail_the_row(run_import, make_contact, tenant):
    make_contact(name="A", identities=[{"channel": "whatsapp", "externalId": "+14155550123"}])
    holder = make_contact(name="B", identities=[{"channel": "sms", "externalId": "+14155550124"}])
    _, status = run_import("name,whatsapp,sms\nX,+14155550123,+14155550124\n")
    assert [(e["row"], e["column"], e["code"]) for e in status["errors"]] == [
        (1, "sms", "identity_conflict")
    ]
    assert holder["id"] in status["errors"][0]["message"]
    assert status["failedCount"] == 1
    assert sorted(_contacts(tenant)) == ["A", "B"]


def test_identity_match_wins_over_an_email_of_another_contact(run_import, make_contact, tenant):
    by_identity = make_contact(
        name="A", identities=[{"channel": "whatsapp", "externalId": "+14155550123"}]
    )
    make_contact(name="B", customFields={"cf_email": "e@x.io"})
    _, status = run_import("name,email,whatsapp\nA2,e@x.io,+14155550123\n")
    assert (status["updatedCount"], status["failedCount"]) == (1, 0)
    assert Contact.objects.get(pk=by_identity["id"]).name == "A2"


def test_dry_run_writes_nothing_and_reports_what_a_real_run_would(run_import, tenant, make_contact):
    make_contact(name="Existing", customFields={"cf_email": "old@x.io"})
    content = (
        "name,email,whatsapp,tags\n"
        "A,old@x.io,,t1\n"
        "B,b@x.io,+14155550123,t2\n"
        "C,bad,,\n"
        "D,,+14155550123,\n"
        "E,e@x.io,,\n"
        ",,,\n"
    )
    before = (Contact.objects.count(), Identity.objects.count(), Tag.objects.count())
    _, dry = run_import(content, dryRun="true")
    assert (Contact.objects.count(), Identity.objects.count(), Tag.objects.count()) == before
    _, real = run_import(content)
    counts = (
        "totalRows",
        "processedRows",
        "createdCount",
        "updatedCount",
        "skippedCount",
        "failedCount",
    )
    assert {k: dry[k] for k in counts} == {k: real[k] for k in counts}
    assert dry["errors"] == real["errors"]
    assert (dry["dryRun"], real["dryRun"]) == (True, False)


def test_dry_run_in_create_mode_matches_a_real_run(run_import):
    content = "name,email\nA,a@x.io\nB,b@x.io\nC,c@x.io\nA2,a@x.io\n"
    _, dry = run_import(content, mode="create", dryRun="true")
    _, real = run_import(content, mode="create")
    assert [(e["row"], e["code"]) for e in dry["errors"]] == [(4, "duplicate_in_file")]
    assert dry["errors"] == real["errors"]
    assert dry["createdCount"] == real["createdCount"] == 3


def test_tag_ids_are_added_to_every_imported_contact(run_import, client_a, vip):
    _response, status = run_import("name\nA\nB\n", tagIds=[vip.pk])
    assert status["status"] == "completed"
    assert sorted(c.name for c in vip.contacts.all()) == ["A", "B"]


def test_custom_fields_by_name_or_id_and_headers_ignore_case_and_spaces(
    run_import, tenant, renewal
):
    _, status = run_import(
        f" NAME ,E-Mail,{renewal.public_id.upper()},Email Identity\nAda,a@x.io,2026-05-01,ada@home.io\n"
    )
    assert status["ignoredColumns"] == []
    contact = Contact.objects.get(tenant=tenant)
    assert contact.custom_fields == {"cf_email": "a@x.io", renewal.public_id: "2026-05-01"}
    assert [(i.channel, i.external_id) for i in contact.identities.all()] == [
        ("email", "ada@home.io")
    ]


# --- files of many kinds ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        codecs.BOM_UTF8 + "name,email\nZoë,z@x.io\n".encode(),
        codecs.BOM_UTF16_LE + "name,email\r\nZoë,z@x.io\r\n".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "name,email\nZoë,z@x.io\n".encode("utf-16-be"),
        "name;email\nZoë;z@x.io\n".encode(),
        "name\temail\nZoë\tz@x.io".encode(),
        '"name","email"\r\n"Zoë","z@x.io"\r\n'.encode(),
    ],
    ids=["utf8-bom", "utf16-le", "utf16-be", "semicolon", "tab-no-final-newline", "quoted-crlf"],
)
def test_encodings_and_delimiters(run_import, tenant, raw):
    _, status = run_import(raw)
    assert (status["status"], status["createdCount"]) == ("completed", 1)
    assert Contact.objects.get(tenant=tenant).custom_fields == {"cf_email": "z@x.io"}


def test_quoted_cells_may_span_lines_and_hold_delimiters(run_import, tenant):
    _, status = run_import('name,email\n"Smith, John\nJr.",j@x.io\nNext,n@x.io\n')
    assert (status["createdCount"], status["errors"]) == (2, [])
    assert "Smith, John\nJr." in _contacts(tenant)


def test_ragged_rows_are_malformed_rows(run_import, tenant):
    _, status = run_import("name,email\nA,a@x.io,extra\nB\nC,c@x.io\n")
    assert [(e["row"], e["code"]) for e in status["errors"]] == [(1, "malformed_row")]
    assert sorted(_contacts(tenant)) == ["B", "C"]


def test_header_only_file_completes_with_zero_rows(run_import):
    _, status = run_import("name,email\n")
    assert (status["status"], status["totalRows"], status["processedRows"]) == ("completed", 0, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        codecs.BOM_UTF8,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        "name,é\n".encode("latin-1"),
        b"name,email,Name\nA,b,c\n",
    ],
    ids=["empty", "bom-only", "binary", "latin-1", "duplicated-header"],
)
def test_unreadable_uploads_are_422_invalid_csv(run_import, raw):
    response, _ = run_import(raw)
    assert_problem(response, 422, "invalid_csv")
    assert ContactImport.objects.count() == 0


def test_an_oversized_cell_fails_the_import_clearly(run_import, settings):
    settings.IMPORT_MAX_CELL_BYTES = 100
    _, status = run_import("name\nok\n" + "x" * 101 + "\n")
    assert status["status"] == "failed"
    assert status["failure"]["code"] == "cell_too_large"


def test_too_many_rows_fails_before_writing_anything(run_import, settings, tenant):
    settings.IMPORT_MAX_ROWS = 3
    _, status = run_import("name\na\nb\nc\nd\n")
    assert (status["status"], status["failure"]["code"]) == ("failed", "too_many_rows")
    assert Contact.objects.filter(tenant=tenant).count() == 0


def test_too_many_columns_fails(run_import, settings):
    settings.IMPORT_MAX_COLUMNS = 2
    _, status = run_import("name,email,phone\na,,\n")
    assert (status["status"], status["failure"]["code"]) == ("failed", "too_many_columns")


def test_file_over_the_size_limit_is_413(run_import, settings):
    settings.IMPORT_MAX_BYTES = 1000
    response, _ = run_import("name\n" + "a\n" * 600)
    assert_problem(response, 413, "file_too_large")
    assert ContactImport.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"mode": "merge"}, [("mode", "invalid_choice")]),
        ({"dryRun": "yes"}, [("dryRun", "invalid")]),
        ({"tagIds": ["tag_01HZZZZZZZZZZZZZZZZZZZZZZZ"]}, [("tagIds[0]", "unknown_tag")]),
        ({"tagIds": [f"tag_{i}" for i in range(101)]}, [("tagIds", "out_of_range")]),
    ],
)
def test_bad_options_are_422(run_import, fields, expected):
    response, _ = run_import("name\na\n", **fields)
    assert violations(assert_problem(response, 422, "validation_failed")) == expected


def test_missing_file_is_422(client_a):
    response = client_a.post("/v1/contacts/import", {"mode": "create"}, format="multipart")
    assert violations(assert_problem(response, 422, "validation_failed")) == [("file", "required")]


def test_json_body_is_415(client_a):
    response = client_a.post("/v1/contacts/import", {"file": "x"}, format="json")
    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("multipart/form-data", b"--x\r\n"),  # no boundary parameter
        ("multipart/form-data; boundary=", b"--\r\n"),  # an empty boundary
        (  # a part header of an absurd size (its filename)
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="file"; filename="'
            + b"a" * 20_000
            + b'.csv"\r\n\r\nname\r\n--x--\r\n',
        ),
    ],
)
def test_unreadable_multipart_bodies_are_400_malformed_multipart(client_a, content_type, raw):
    response = client_a.generic("POST", "/v1/contacts/import", data=raw, content_type=content_type)
    assert_problem(response, 400, "malformed_multipart")


def test_idempotency_key_replays_the_import(
    run_import, client_a, django_capture_on_commit_callbacks
):
    first, _ = run_import("name\na\n", HTTP_IDEMPOTENCY_KEY="imp-1")
    again, _ = run_import("name\na\n", HTTP_IDEMPOTENCY_KEY="imp-1")
    assert first.json()["id"] == again.json()["id"]
    assert ContactImport.objects.count() == 1
    other, _ = run_import("name\nb\n", HTTP_IDEMPOTENCY_KEY="imp-1")
    assert_problem(other, 422, "idempotency_key_reused")


# --- errors.csv -------------------------------------------------------------------


def test_errors_csv_lists_every_error_and_neutralises_formulas(run_import, client_a):
    response, status = run_import('name,email\n=HYPERLINK("http://evil"),=1+1\n+Bob,@bad\nOk,-x\n')
    report = client_a.get(f"{response['Location']}/errors.csv")
    assert report.status_code == 200
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(report.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0] == ["row", "column", "code", "message", "value"]
    assert [(r[0], r[1], r[2], r[4]) for r in rows[1:]] == [
        ("1", "email", "invalid_email", "'=1+1"),
        ("2", "email", "invalid_email", "'@bad"),
        ("3", "email", "invalid_email", "'-x"),
    ]
    # The status shows the raw cell; only the CSV neutralises.
    assert [e["value"] for e in status["errors"]] == ["=1+1", "@bad", "-x"]


def test_status_shows_the_first_thousand_errors(run_import, settings):
    settings.IMPORT_BATCH_ROWS = 500
    _, status = run_import("email\n" + "bad\n" * 1001)
    assert status["failedCount"] == 1001
    assert len(status["errors"]) == 1000
    assert status["errorsTruncated"] is True


# --- isolation ------------------------------------------------------------------------


def test_imports_of_another_tenant_are_404(run_import, client_b):
    response, _ = run_import("name\na\n")
    location = response["Location"]
    assert_problem(client_b.get(location), 404, "import_not_found")
    assert_problem(client_b.get(f"{location}/errors.csv"), 404, "import_not_found")
    assert_problem(client_b.get("/v1/contacts/imports/nope"), 404, "import_not_found")


# --- events -------------------------------------------------------------------------


def test_an_import_records_an_event_per_contact_and_its_outcome(run_import, client_a, tenant):
    from events.models import Event

    ada = client_a.post(
        "/v1/contacts",
        {"name": "Ada", "customFields": {"cf_email": "ada@example.com"}},
        format="json",
    ).json()
    content = "name,email,tags\nAda L,ada@example.com,\nGrace,grace@example.com,gold\nAlan,alan@example.com,gold\nBad,not-an-email,\n"
    _, status = run_import(content)
    events = list(Event.objects.filter(tenant=tenant, sequence__gt=1).order_by("sequence"))
    by_type = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event)
    assert {e.source for e in events} == {"import"}
    assert {e.actor_id for e in events} == {ContactImport.objects.get().created_by}
    gold = Tag.objects.get(tenant=tenant, name="gold")
    assert [e.data["tag"]["id"] for e in by_type["tag.created"]] == [gold.pk]
    updated = by_type["contact.updated"]
    assert [(e.contact_id, e.data) for e in updated] == [
        (ada["id"], {"contactId": ada["id"], "importId": status["id"]})
    ]
    created = {e.contact_id for e in by_type["contact.created"]}
    assert created == {c.pk for c in Contact.objects.filter(name__in=["Grace", "Alan"])}
    (outcome,) = by_type["import.completed"]
    assert outcome.data["import"]["createdCount"] == 2
    assert "errors" not in outcome.data["import"]
    assert events[-1] == outcome
    assert [e.sequence for e in events] == list(range(2, 2 + len(events)))


def test_a_dry_run_records_no_contact_events(run_import, tenant):
    from events.models import Event

    run_import("name,email\nGrace,grace@example.com\n", dryRun="true")
    assert [e.type for e in Event.objects.filter(tenant=tenant)] == ["import.completed"]
