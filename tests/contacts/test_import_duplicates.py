"""ImportStatus `possibleDuplicates` and the admin's list of them (contract §11, "Imports and
duplicates"), through HTTP with the (eager) worker, on SQLite and on PostgreSQL."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from contacts.importing import services as import_services
from contacts.importing.duplicates import _of_channels_held
from contacts.merging import contact_key_holders
from contacts.models import Contact, ContactImport, ContactImportDuplicate, Identity
from contacts.services import contact_archive
from tests.factories.tenancy import MembershipFactory

pytestmark = pytest.mark.django_db

# Three rows a batch: rows 1–3, 4–6 and 7–9 are written in turn.
HEADER = "name,email,phone,whatsapp,sms,email_identity\n"
ROWS = (
    "A,a@x.io,+14155550123,,,\n"  # its phone is X's WhatsApp number
    "B,yy@x.io,,,,\n"  # its e-mail is Y's e-mail identity
    "C,z@x.io,,,,\n"  # Z's e-mail, the same key: updates Z
    "D,d@x.io,,,,\n"  # nobody else's, until G
    "E,,,,+14155550177,\n"  # E's SMS number is F's WhatsApp number (same batch)
    "F,,,+14155550177,,\n"
    "G,,,,,d@x.io\n"  # an identity of D's e-mail (an earlier batch): both count
    "H,,,+14155550123,,\n"  # X's WhatsApp identity, the same key: updates X
    "I,,+14155550199,,,\n"  # nobody else's
)
FLAGGED = ["A", "B", "D", "E", "F", "G"]


@pytest.fixture(autouse=True)
def small_batches(settings):
    settings.IMPORT_BATCH_ROWS = 3


@pytest.fixture
def older(make_contact):
    """X, Y and Z: contacts of the tenant before the import."""
    return {
        "X": make_contact(
            name="X", identities=[{"channel": "whatsapp", "externalId": "+14155550123"}]
        ),
        "Y": make_contact(name="Y", identities=[{"channel": "email", "externalId": "yy@x.io"}]),
        "Z": make_contact(name="Z", customFields={"cf_email": "z@x.io"}),
    }


@pytest.fixture
def run_import(client_a, django_capture_on_commit_callbacks):
    """Upload a CSV and let the (eager) worker run it; returns the ImportStatus."""

    def run(content, **fields):
        upload = SimpleUploadedFile("people.csv", content.encode(), content_type="text/csv")
        with django_capture_on_commit_callbacks(execute=True):
            response = client_a.post(
                "/v1/contacts/import", {"file": upload, **fields}, format="multipart"
            )
        assert response.status_code == 202, response.content
        return client_a.get(response["Location"]).json()

    return run


def _flagged(import_id: str) -> list[str]:
    ids = ContactImportDuplicate.objects.filter(contact_import_id=import_id).values("contact_id")
    return sorted(Contact.objects.filter(pk__in=ids).values_list("name", flat=True))


def test_an_import_counts_the_contacts_it_created_that_share_a_key_under_the_other_kind(
    run_import, older
):
    status = run_import(HEADER + ROWS)
    assert (status["status"], status["createdCount"], status["updatedCount"]) == (
        "completed",
        7,
        2,
    )
    assert status["possibleDuplicates"] == len(FLAGGED)
    assert _flagged(status["id"]) == FLAGGED


def test_a_dry_run_and_an_import_that_creates_nothing_count_none(run_import, older):
    dry = run_import(HEADER + ROWS, dryRun="true")
    assert (dry["createdCount"], dry["possibleDuplicates"]) == (7, 0)
    run_import(HEADER + ROWS)
    again = run_import(HEADER + ROWS)  # every row matches a contact now
    assert (again["createdCount"], again["possibleDuplicates"]) == (0, 0)
    assert ContactImportDuplicate.objects.filter(contact_import_id=again["id"]).count() == 0


def test_a_duplicate_merged_away_is_still_counted_and_a_deleted_holder_is_no_duplicate(
    run_import, make_contact, client_a
):
    gone = make_contact(name="Gone", identities=[{"channel": "sms", "externalId": "+14155550100"}])
    assert client_a.delete(f"/v1/contacts/{gone['id']}").status_code == 204
    status = run_import("name,phone\nP,+14155550100\n")
    assert (status["createdCount"], status["possibleDuplicates"]) == (1, 0)


def test_a_batch_written_again_after_a_conflict_is_counted_once(run_import, older, monkeypatch):
    """The second batch's transaction fails after its duplicates were counted; the import
    goes on from its checkpoint (as after a crash) and writes that batch again."""
    record = import_services._record_contact_events
    calls = []

    def failing_once(imp, plan):
        calls.append(imp.checkpoint_row)
        if len(calls) == 2:
            raise IntegrityError("a concurrent writer got in the way")
        record(imp, plan)

    monkeypatch.setattr(import_services, "_record_contact_events", failing_once)
    status = run_import(HEADER + ROWS)
    assert calls == [3, 6, 6, 9]  # the second batch twice
    assert status["possibleDuplicates"] == len(FLAGGED)
    assert _flagged(status["id"]) == FLAGGED


def test_the_finished_import_links_to_its_possible_duplicates(client, run_import, older, tenant):
    status = run_import(HEADER + ROWS + "J,j@x.io,,,,\n")
    client.force_login(MembershipFactory(tenant=tenant, role="agent").user)
    job = f"/admin/contacts/contactimport/{status['id']}/change/"
    page = client.get(job).content.decode()
    assert '<td id="count-duplicates">6</td>' in page
    assert "6 contacts created here share an e-mail address or phone number" in page
    link = f"/admin/contacts/contact/?duplicates_of_import={status['id']}&amp;state=all"
    assert f'<a href="{link}" id="review-duplicates">' in page
    progress = client.get(f"/admin/contacts/contactimport/{status['id']}/progress/").json()
    assert progress["possibleDuplicates"] == 6

    # An archived one is listed too.
    contact_archive(tenant=tenant, contact_id=Contact.objects.get(tenant=tenant, name="B").pk)
    listing = client.get(link.replace("&amp;", "&"))
    assert listing.status_code == 200
    names = [c.name for c in listing.context["cl"].result_list]
    assert sorted(names) == FLAGGED
    assert "people.csv" in listing.content.decode()  # the filter in force, by file name


def test_a_clean_import_says_so_and_links_nowhere(client, run_import, tenant):
    status = run_import("name,email\nSolo,solo@x.io\n")
    client.force_login(MembershipFactory(tenant=tenant, role="agent").user)
    page = client.get(f"/admin/contacts/contactimport/{status['id']}/change/").content.decode()
    assert '<td id="count-duplicates">0</td>' in page
    assert "No contact created here shares an e-mail address or phone number" in page
    assert "review-duplicates" not in page


def test_another_tenants_import_lists_none_of_its_contacts(
    client, run_import, older, other_tenant, tenant
):
    status = run_import(HEADER + ROWS)
    client.force_login(MembershipFactory(tenant=other_tenant, role="admin").user)
    listing = client.get(f"/admin/contacts/contact/?duplicates_of_import={status['id']}&state=all")
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == []
    assert "(no such import)" in listing.content.decode()
    job = client.get(f"/admin/contacts/contactimport/{status['id']}/change/")
    assert job.status_code == 302  # the admin's "no such object" redirect
    assert ContactImport.objects.get(pk=status["id"]).possible_duplicates == 6


@pytest.mark.postgres
def test_a_batch_finds_the_other_keys_holders_through_the_matching_indexes(tenant):
    """One statement a batch, each key an index probe (never a walk of the tenant), on a
    tenant big enough, and analysed, for PostgreSQL to plan as in production."""
    contacts = Contact.objects.bulk_create(
        Contact(
            tenant=tenant,
            created_by="usr_t",
            custom_fields={"cf_email": f"u{n}@example.com", "cf_phone": f"+1415{n:07d}"},
        )
        for n in range(3000)
    )
    Identity.objects.bulk_create(
        Identity(tenant=tenant, contact=c, channel="sms", external_id=f"+1416{n:07d}")
        for n, c in enumerate(contacts)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact, contacts_identity")
    with CaptureQueriesContext(connection) as queries:
        holders = contact_key_holders(
            tenant_id=tenant.pk,
            values={"cf_email": {"u7@example.com"}, "cf_phone": {"+14160000008"}},
            identities={"whatsapp": {"+14150000009"}, "sms": {"+14150000009"}},
        )
    assert sorted((h.kind, h.value, h.contact_id) for h in holders) == [
        ("email", "u7@example.com", contacts[7].pk)
    ]
    [statement] = [q["sql"] for q in queries]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {statement}")
        plan = [row[0] for row in cursor.fetchall()]
    assert not any("Seq Scan" in line for line in plan), plan
    for index, column in [
        ("contact_by_email", "cf_email"),
        ("contact_by_phone", "cf_phone"),
        ("uniq_live_identity", "external_id"),
    ]:
        at = next(i for i, line in enumerate(plan) if index in line and "Scan" in line)
        assert "Index Cond" in plan[at + 1] and column in plan[at + 1], plan


def test_keys_are_probed_only_on_the_channels_a_live_identity_of_the_tenant_is_on(
    tenant, other_tenant
):
    def holder(of_tenant, channel, external_id, active=True):
        contact = Contact.objects.create(tenant=of_tenant, created_by="usr_t")
        Identity.objects.create(
            tenant=of_tenant,
            contact=contact,
            channel=channel,
            external_id=external_id,
            active=active,
        )

    holder(tenant, "whatsapp", "+14155550100")
    holder(tenant, "email", "gone@x.io", active=False)  # freed when its contact was deleted
    holder(other_tenant, "sms", "+14155550101")
    wanted = {"whatsapp": {"+14155550123"}, "sms": {"+14155550123"}, "email": {"a@x.io"}}
    assert _of_channels_held(tenant.pk, wanted) == {"whatsapp": {"+14155550123"}}
