"""The importer's side of the export round trip (contract §10), through HTTP and the worker.

A file in the export's format (BOM, its full header, `;`-joined identities and tags,
formula-escaped cells) imports into an empty tenant as the contacts it describes, and
imported again changes nothing: no write, no `updatedAt` moved, no event. The worker runs
in-process (Celery eager, on commit); on PostgreSQL through COPY and the staged merges.
"""

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Contact
from events.models import Event
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory

pytestmark = pytest.mark.django_db

# The export's header for a tenant whose contact fields are "Notes" and "Renewal".
HEADER = (
    "id,name,email,phone,whatsapp,sms,email_identity,messenger,instagram,livechat,tags,"
    "Notes,Renewal,archived,createdAt,updatedAt"
)
ROWS = [
    # Two WhatsApp numbers and two tags joined by `;`; a formula in Notes escaped; the
    # E.164 phone as it is.
    "ctc_01J0000000000000000000000A,Ada Lovelace,ada@x.io,+14155550123,"
    "+14155550123;+447700900123,,ada@home.io,,ada.l,,Founders;vip,'=cmd,2026-05-01,"
    "false,2026-01-01T09:00:00Z,2026-01-02T09:00:00Z",
    # A negative number as text, escaped; an archived contact (its state is not imported).
    "ctc_01J0000000000000000000000B,Grace Hopper,grace@x.io,,,+14155550124,,grace.m,,,"
    "vip,'-3,,true,2026-01-03T09:00:00Z,2026-01-03T09:00:00Z",
    # A name that starts like a formula; a cell with the delimiter, quoted; a user's own
    # quotes, which the export does not touch.
    "ctc_01J0000000000000000000000C,'@handle,,,,,,,,chat-7,\"one, two\",'quoted',,"
    "false,2026-01-04T09:00:00Z,2026-01-04T09:00:00Z",
]
EXPORT = codecs.BOM_UTF8 + ("\r\n".join([HEADER, *ROWS]) + "\r\n").encode()
COUNTS = ("createdCount", "updatedCount", "skippedCount", "failedCount")


@pytest.fixture(autouse=True)
def small_batches(settings):
    settings.IMPORT_BATCH_ROWS = 2  # the rows of one contact may land in different batches


@pytest.fixture
def fields(tenant):
    return {
        "notes": CustomFieldDefinitionFactory(tenant=tenant, name="Notes", type="text"),
        "renewal": CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date"),
    }


@pytest.fixture
def run_import(client_a, django_capture_on_commit_callbacks):
    """Upload a CSV and let the (eager) worker run it; returns the ImportStatus."""

    def run(content, *, client=None, **fields):
        raw = content if isinstance(content, bytes) else content.encode()
        data = {"file": SimpleUploadedFile("export.csv", raw, content_type="text/csv"), **fields}
        with django_capture_on_commit_callbacks(execute=True):
            response = (client or client_a).post("/v1/contacts/import", data, format="multipart")
        assert response.status_code == 202, response.content
        status = (client or client_a).get(response["Location"]).json()
        assert status["status"] == "completed", status
        return status

    return run


def _state(tenant) -> dict:
    """Every live contact of the tenant by name: what the round trip must keep."""
    return {
        c.name: {
            "customFields": c.custom_fields,
            "identities": sorted(
                (i.channel, i.external_id) for i in c.identities.all() if i.active
            ),
            "tags": sorted(t.name for t in c.tags.all()),
            "updatedAt": c.updated_at,
        }
        for c in Contact.objects.filter(tenant=tenant, deleted_at__isnull=True).prefetch_related(
            "identities", "tags"
        )
    }


def _without_times(state: dict) -> dict:
    return {name: {k: v for k, v in c.items() if k != "updatedAt"} for name, c in state.items()}


def _contact_events(tenant, after: int = 0) -> list[tuple[str, str]]:
    return list(
        Event.objects.filter(tenant=tenant, sequence__gt=after, type__startswith="contact.")
        .order_by("sequence")
        .values_list("type", "contact_id")
    )


def _last_sequence(tenant) -> int:
    return (
        Event.objects.filter(tenant=tenant)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
        or 0
    )


def test_an_export_imports_into_an_empty_tenant_as_the_contacts_it_lists(
    run_import, tenant, fields
):
    status = run_import(EXPORT)
    assert status["errors"] == []
    assert {k: status[k] for k in COUNTS} == {
        "createdCount": 3,
        "updatedCount": 0,
        "skippedCount": 0,
        "failedCount": 0,
    }
    assert status["ignoredColumns"] == ["id", "archived", "createdAt", "updatedAt"]
    notes, renewal = fields["notes"].public_id, fields["renewal"].public_id
    assert _without_times(_state(tenant)) == {
        "Ada Lovelace": {
            "customFields": {
                "cf_email": "ada@x.io",
                "cf_phone": "+14155550123",
                notes: "=cmd",
                renewal: "2026-05-01",
            },
            "identities": [
                ("email", "ada@home.io"),
                ("instagram", "ada.l"),
                ("whatsapp", "+14155550123"),
                ("whatsapp", "+447700900123"),
            ],
            "tags": ["Founders", "vip"],
        },
        "Grace Hopper": {
            "customFields": {"cf_email": "grace@x.io", notes: "-3"},
            "identities": [("messenger", "grace.m"), ("sms", "+14155550124")],
            "tags": ["vip"],
        },
        "@handle": {
            "customFields": {notes: "'quoted'"},
            "identities": [("livechat", "chat-7")],
            "tags": ["one, two"],
        },
    }
    # The file's ids and dates are not the new contacts' own, and nothing is archived.
    assert not Contact.objects.filter(tenant=tenant, archived=True).exists()
    assert not Contact.objects.filter(pk__startswith="ctc_01J0000").exists()


def test_importing_the_same_export_again_changes_and_records_nothing(run_import, tenant, fields):
    run_import(EXPORT)
    before, after_sequence = _state(tenant), _last_sequence(tenant)

    dry = run_import(EXPORT, dryRun="true")
    again = run_import(EXPORT)

    expected = {"createdCount": 0, "updatedCount": 0, "skippedCount": 3, "failedCount": 0}
    assert {k: again[k] for k in COUNTS} == expected
    assert {k: dry[k] for k in COUNTS} == expected
    assert _state(tenant) == before  # updatedAt included
    assert _contact_events(tenant, after_sequence) == []
    assert list(
        Event.objects.filter(tenant=tenant, sequence__gt=after_sequence).values_list(
            "type", flat=True
        )
    ) == ["import.completed", "import.completed"]


def test_a_row_that_changes_one_value_updates_only_its_contact(run_import, tenant, fields):
    run_import(EXPORT)
    before, after_sequence = _state(tenant), _last_sequence(tenant)
    grace = Contact.objects.get(tenant=tenant, name="Grace Hopper")
    changed = EXPORT.replace(b",'-3,", b",'-4,")

    dry = run_import(changed, dryRun="true")
    status = run_import(changed)

    expected = {"createdCount": 0, "updatedCount": 1, "skippedCount": 2, "failedCount": 0}
    assert {k: status[k] for k in COUNTS} == expected
    assert {k: dry[k] for k in COUNTS} == expected
    now = _state(tenant)
    assert now["Grace Hopper"]["customFields"][fields["notes"].public_id] == "-4"
    # Moved (on PostgreSQL to the batch transaction's now(), which inside this test's
    # transaction is earlier than the first import's Python-made timestamps).
    assert now["Grace Hopper"]["updatedAt"] != before["Grace Hopper"]["updatedAt"]
    assert {k: now[k] for k in ("Ada Lovelace", "@handle")} == {
        k: before[k] for k in ("Ada Lovelace", "@handle")
    }
    assert _contact_events(tenant, after_sequence) == [("contact.updated", grace.pk)]


@pytest.mark.parametrize(
    ("cell", "changes"),
    [
        ("Grace Hopper,grace@x.io,,vip", False),
        (",grace@x.io,,vip", False),  # no name: keeps the contact's
        ("Grace B. Hopper,grace@x.io,,vip", True),
        ("Grace Hopper,GRACE@X.IO,,VIP", False),  # as normalised and stored
        ("Grace Hopper,grace@x.io,+14155550124,vip", False),  # an identity it holds
        ("Grace Hopper,grace@x.io,+14155550124;+14155550125,", True),  # one more
        ("Grace Hopper,grace@x.io,,vip;new", True),  # one more tag
        ("Grace Hopper,grace@x.io,,", False),  # a blank cell clears nothing
    ],
)
def test_what_counts_as_a_change(run_import, tenant, cell, changes):
    run_import("name,email,sms,tags\nGrace Hopper,grace@x.io,+14155550124,vip\n")
    after_sequence = _last_sequence(tenant)
    status = run_import(f"name,email,sms,tags\n{cell}\n")
    assert (status["updatedCount"], status["skippedCount"]) == (int(changes), int(not changes))
    assert len(_contact_events(tenant, after_sequence)) == int(changes)


def test_the_imports_own_tags_count_as_a_change_until_the_contact_has_them(run_import, tenant):
    vip = TagFactory(tenant=tenant, name="VIP")
    run_import("name,email\nAda,ada@x.io\n")
    first = run_import("name,email\nAda,ada@x.io\n", tagIds=[vip.pk])
    second = run_import("name,email\nAda,ada@x.io\n", tagIds=[vip.pk])
    assert (first["updatedCount"], first["skippedCount"]) == (1, 0)
    assert (second["updatedCount"], second["skippedCount"]) == (0, 1)
    assert list(vip.contacts.values_list("name", flat=True)) == ["Ada"]


def test_each_row_of_one_contact_counts_against_what_the_rows_before_it_left(run_import, tenant):
    run_import("name,email\nAda,ada@x.io\n")
    # Rows 1 and 2 in one batch, row 3 in the next: the same row twice changes once.
    status = run_import("name,email,tags\nAda,ada@x.io,\nAda L,ada@x.io,\nAda L,ada@x.io,\n")
    assert (status["updatedCount"], status["skippedCount"]) == (1, 2)
    # In one file into an empty tenant: created once, then repeats that change nothing.
    Contact.objects.filter(tenant=tenant).delete()
    status = run_import("name,email\nBea,bea@x.io\nBea,bea@x.io\nBea,BEA@x.io\n")
    assert (status["createdCount"], status["updatedCount"], status["skippedCount"]) == (1, 0, 2)


def test_a_channel_cell_lists_several_identities_and_reports_a_bad_one(run_import, tenant):
    status = run_import(
        "name,whatsapp,instagram\n"
        "Ada,+14155550123; ;+447700900123;,ada.l;ada.l\n"  # blank parts, a repeat
        "Bad,+14155550126;not-a-phone;also-bad,\n"
    )
    assert (status["createdCount"], status["failedCount"]) == (1, 1)
    assert [(e["row"], e["column"], e["code"], e["value"]) for e in status["errors"]] == [
        (2, "whatsapp", "invalid_phone", "not-a-phone")
    ]
    ada = Contact.objects.get(tenant=tenant, name="Ada")
    assert sorted(ada.identities.values_list("channel", "external_id")) == [
        ("instagram", "ada.l"),
        ("whatsapp", "+14155550123"),
        ("whatsapp", "+447700900123"),
    ]


def test_a_row_has_at_most_max_identities(run_import, tenant):
    from contacts.validation import MAX_IDENTITIES

    ids = [f"user{n}" for n in range(MAX_IDENTITIES)]
    status = run_import(
        f"name,instagram,livechat\nFull,{';'.join(ids)},\nOver,{';'.join(ids)},one-more\n"
    )
    assert (status["createdCount"], status["failedCount"]) == (1, 1)
    (error,) = status["errors"]
    assert (error["row"], error["column"], error["code"]) == (2, "livechat", "invalid_value")
    assert error["message"] == f"A contact has at most {MAX_IDENTITIES} identities."
    assert Contact.objects.get(tenant=tenant).identities.count() == MAX_IDENTITIES


def test_the_exports_quote_comes_off_before_a_cell_is_checked(run_import, tenant):
    status = run_import("name,email,phone\n'-Ada,'=bad,'+1 (415) 555-0123\n")
    assert [(e["column"], e["code"], e["value"]) for e in status["errors"]] == [
        ("email", "invalid_email", "=bad")
    ]
    status = run_import("name,phone\n'-Ada,'+1 (415) 555-0123\n")
    contact = Contact.objects.get(tenant=tenant)
    assert (contact.name, contact.custom_fields) == ("-Ada", {"cf_phone": "+14155550123"})


def test_a_custom_field_named_like_an_export_column_still_maps(run_import, tenant):
    archived = CustomFieldDefinitionFactory(tenant=tenant, name="Archived", type="text")
    status = run_import("name,archived,createdAt\nAda,yes,2026-01-01T09:00:00Z\n")
    assert status["ignoredColumns"] == ["createdAt"]
    assert Contact.objects.get(tenant=tenant).custom_fields == {archived.public_id: "yes"}


def test_an_export_of_custom_fields_named_like_its_own_columns_imports_them(run_import, tenant):
    """Such a tenant's export names the column twice; the export's own is the first `id`
    and the last `archived`, `createdAt`, `updatedAt` (around the custom fields)."""
    archived = CustomFieldDefinitionFactory(tenant=tenant, name="Archived", type="text")
    ident = CustomFieldDefinitionFactory(tenant=tenant, name="ID", type="text")
    status = run_import(
        codecs.BOM_UTF8
        + (
            b"id,name,email,phone,whatsapp,sms,email_identity,messenger,instagram,livechat,"
            b"tags,Archived,ID,archived,createdAt,updatedAt\r\n"
            b"ctc_01J0000000000000000000000A,Ada,ada@x.io,,,,,,,,,yes,X-1,true,"
            b"2026-01-01T09:00:00Z,2026-01-01T09:00:00Z\r\n"
        )
    )
    assert status["ignoredColumns"] == ["id", "archived", "createdAt", "updatedAt"]
    assert Contact.objects.get(tenant=tenant).custom_fields == {
        "cf_email": "ada@x.io",
        archived.public_id: "yes",
        ident.public_id: "X-1",
    }


@pytest.mark.parametrize(
    "header", ["name,archived,Archived,ARCHIVED", "name,email,E-mail", "id,name,name"]
)
def test_other_repeated_header_names_are_still_422(client_a, header):
    upload = SimpleUploadedFile("x.csv", f"{header}\nAda,a,b\n".encode(), content_type="text/csv")
    response = client_a.post("/v1/contacts/import", {"file": upload}, format="multipart")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_csv"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_with_committed_batches_a_reimport_writes_nothing(client_a, tenant, fields):
    """The worker's real path: batches written by the writing thread on its own
    connection, each committed, with COPY and the staged merges."""
    from contacts.models import ContactImport

    def run(content):
        upload = SimpleUploadedFile("export.csv", content, content_type="text/csv")
        response = client_a.post("/v1/contacts/import", {"file": upload}, format="multipart")
        assert response.status_code == 202, response.content
        return ContactImport.objects.get(pk=response.json()["id"])

    first = run(EXPORT)
    assert (first.status, first.created_count) == ("completed", 3)
    before, after_sequence = _state(tenant), _last_sequence(tenant)
    again = run(EXPORT)
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 3)
    assert _state(tenant) == before
    assert _contact_events(tenant, after_sequence) == []
    changed = run(EXPORT.replace(b",'-3,", b",'-4,"))
    assert (changed.updated_count, changed.skipped_count) == (1, 2)
    now = _state(tenant)
    assert now["Grace Hopper"]["updatedAt"] > before["Grace Hopper"]["updatedAt"]
    grace = Contact.objects.get(tenant=tenant, name="Grace Hopper")
    assert _contact_events(tenant, after_sequence) == [("contact.updated", grace.pk)]


def test_a_dry_run_counts_repeats_across_batches_as_a_real_run_does(run_import, tenant):
    """A later batch's row is compared with what the dry run would have made of its
    contact so far (a created one, or a stored one it changed), as a real run compares it
    with the written contact."""
    from contacts.models import ContactImportDraft

    run_import("name,email\nZ,z@x.io\n")
    content = (
        "name,email,tags\n"
        "Z2,z@x.io,\n"  # batch 1: changes a stored contact
        "A,a@x.io,t1\n"  # batch 1: creates one
        "A,a@x.io,t1\n"  # batch 2: as created
        "Z2,z@x.io,\n"  # batch 2: as changed
        "A L,a@x.io,\n"  # batch 3: a new name
        "A L,a@x.io,t1\n"  # batch 3: as the row before left it
    )
    dry = run_import(content, dryRun="true")
    real = run_import(content)
    expected = {"createdCount": 1, "updatedCount": 2, "skippedCount": 3, "failedCount": 0}
    assert {k: real[k] for k in COUNTS} == expected
    assert {k: dry[k] for k in COUNTS} == expected
    assert not ContactImportDraft.objects.exists()  # a finished dry run leaves none behind


def test_a_custom_fields_name_escaped_in_the_header_still_maps(run_import, tenant):
    score = CustomFieldDefinitionFactory(tenant=tenant, name="-Score", type="text")
    status = run_import("name,'-Score\nAda,'-3\n")
    assert status["ignoredColumns"] == []
    assert Contact.objects.get(tenant=tenant).custom_fields == {score.public_id: "-3"}
