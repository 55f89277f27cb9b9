"""The PostgreSQL import path that writes one batch while it plans the next.

Batches are written on a thread with its own connection, so these tests commit
for real (`transaction=True`); the import runs in-process (Celery eager) once the
upload's transaction has committed.
"""

import json
import threading
import time

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

import contacts.importing.services as import_services
from contacts.importing.writers import HOLDERS_SQL
from contacts.models import Contact, ContactImport, ContactImportKey, ContactTag, Identity
from contacts.services import contact_create
from tags.models import Tag
from tags.services import tag_delete, tags_hold
from tests.contacts.outcomes import import_outcome
from tests.factories.tenancy import TenantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def small_batches(settings):
    settings.IMPORT_BATCH_ROWS = 2


def _import(client, content: str, **fields) -> ContactImport:
    upload = SimpleUploadedFile("people.csv", content.encode(), content_type="text/csv")
    response = client.post("/v1/contacts/import", {"file": upload, **fields}, format="multipart")
    assert response.status_code == 202, response.content
    return ContactImport.objects.get(pk=response.json()["id"])


def test_a_batch_sees_the_keys_of_the_batch_still_being_written(client_a, tenant):
    imp = _import(
        client_a,
        "name,email,whatsapp\n"
        "A,a@x.io,+14155550101\n"
        "B,b@x.io,\n"
        "A again,,+14155550101\n"  # the next batch: the identity of row 1
        "B again,B@X.IO,\n",  # and the e-mail of row 2
    )
    imp.refresh_from_db()
    assert (imp.status, imp.created_count, imp.updated_count, imp.failed_count) == (
        "completed",
        2,
        2,
        0,
    )
    names = sorted(Contact.objects.filter(tenant=tenant).values_list("name", flat=True))
    assert names == ["A again", "B again"]


def test_in_create_mode_a_repeat_in_the_next_batch_is_a_duplicate_in_file(client_a, tenant):
    imp = _import(client_a, "name,email\nA,a@x.io\nB,b@x.io\nA again,a@x.io\n", mode="create")
    imp.refresh_from_db()
    assert (imp.created_count, imp.failed_count) == (2, 1)
    assert list(imp.errors.values_list("row", "code")) == [(3, "duplicate_in_file")]


def test_a_dry_run_reports_repeats_across_batches_and_writes_nothing(client_a, tenant):
    imp = _import(
        client_a,
        "name,email\nA,a@x.io\nB,b@x.io\nA again,a@x.io\nB again,b@x.io\n",
        mode="create",
        dryRun="true",
    )
    imp.refresh_from_db()
    assert (imp.status, imp.created_count, imp.failed_count) == ("completed", 2, 2)
    assert list(imp.errors.values_list("row", "code")) == [
        (3, "duplicate_in_file"),
        (4, "duplicate_in_file"),
    ]
    assert not Contact.objects.filter(tenant=tenant).exists()
    assert not ContactImportKey.objects.filter(contact_import=imp).exists()


def test_an_identity_taken_while_its_batch_is_planned_is_matched_on_a_second_pass(
    client_a, tenant, monkeypatch
):
    """Between the lookups of a batch and its write, the API gives one of the batch's
    identities to a new contact: the unique index refuses the batch, and the import goes
    on from its last checkpoint, where the lookups find that contact and update it."""
    real_known_keys = import_services.known_keys
    taken = {}

    def known_keys_then_taken(imp, batch):
        known = real_known_keys(imp, batch)
        if batch[0].number == 3 and not taken:
            taken["contact"] = contact_create(
                tenant=tenant,
                created_by="api",
                name="From the API",
                identities=[{"channel": "whatsapp", "externalId": "+14155550103"}],
            )
        return known

    monkeypatch.setattr(import_services, "known_keys", known_keys_then_taken)
    imp = _import(
        client_a,
        "name,whatsapp\n"
        "One,+14155550101\n"
        "Two,+14155550102\n"
        "Three,+14155550103\n"
        "Four,+14155550104\n"
        "Five,+14155550105\n",
    )
    imp.refresh_from_db()
    assert (imp.status, imp.processed_rows, imp.created_count, imp.updated_count) == (
        "completed",
        5,
        4,
        1,
    )
    assert Contact.objects.get(pk=taken["contact"].pk).name == "Three"
    holders = Identity.objects.filter(tenant=tenant).values_list("external_id", flat=True)
    assert sorted(holders) == [f"+1415555010{n}" for n in range(1, 6)]
    assert Contact.objects.filter(tenant=tenant).count() == 5


MESSY = (
    "name,email,phone,whatsapp,tags\n"
    "Ada,ADA@X.IO,+1 (415) 555-0123,,vip;gold\n"
    "Bob,not-an-email,12,,\n"
    ",,,,\n"
    '"Cyd, the third","cyd@x.io",,+44 20 7946 0958,"a\nb"\n'
    "Dee,dee@x.io,,,,extra\n"
    "Ada again,ada@x.io,,+33 1 42 68 53 00,silver\n"
    "Eve,eve@x.io,,+44 20 7946 0958,\n"
    'Zed,"broken"quote,,,\n'
    "Never,read@x.io,,,\n"
)


def test_a_checking_process_gives_what_a_checking_thread_gives(make_client, settings):
    settings.IMPORT_CHECK_PROCESS_BYTES = 1_000_000
    on_a_thread = import_outcome(_import(make_client(tenant=TenantFactory()), MESSY).pk)
    settings.IMPORT_CHECK_PROCESS_BYTES = 1
    by_a_process = import_outcome(_import(make_client(tenant=TenantFactory()), MESSY).pk)
    assert by_a_process == on_a_thread
    counts, errors, _, _ = by_a_process
    # Eight records (Cyd's spans two lines; Zed's cannot be parsed and ends the file);
    # Ada again merges into Ada by e-mail, Eve into Cyd by WhatsApp.
    assert counts == ("completed", 8, 8, 2, 2, 1, 3, 5, 0)
    assert errors == [
        (2, "email", "invalid_email"),
        (2, "phone", "invalid_phone"),
        (3, "", "empty_row"),
        (5, "", "malformed_row"),
        (8, "", "malformed_row"),
    ]
    assert [name for name, *_ in by_a_process[2]] == ["Ada again", "Eve"]


def test_a_checking_process_reports_a_limit_as_the_import_failure(client_a, settings):
    settings.IMPORT_CHECK_PROCESS_BYTES = 1
    settings.IMPORT_MAX_CELL_BYTES = 100
    imp = _import(client_a, "name\nok\n" + "x" * 101 + "\n")
    imp.refresh_from_db()
    assert (imp.status, imp.failure_code) == ("failed", "cell_too_large")
    assert imp.failure_message == "Row 2, column 1 is larger than 100 bytes."


def test_a_tag_deleted_while_its_batch_is_planned_is_created_again(client_a, tenant, monkeypatch):
    """Links have no database constraint to their tag: the batch holds its tags, finds one
    gone, and goes again from its checkpoint, creating the tag the file names anew; none is
    left dangling."""
    real_batch_rows = import_services.batch_rows
    deleted = []

    def batch_rows_then_tag_deleted(imp, plan):
        rows = real_batch_rows(imp, plan)
        if not deleted and any(c.name == "C" for c in plan.creates.values()):
            tag = Tag.objects.get(tenant=tenant, name="vip")
            tag_delete(tenant=tenant, tag_id=tag.pk)  # waits for the batch before, if need be
            deleted.append(tag.pk)
        return rows

    monkeypatch.setattr(import_services, "batch_rows", batch_rows_then_tag_deleted)
    imp = _import(client_a, "name,tags\nA,vip\nB,vip\nC,vip\nD,vip\n")
    imp.refresh_from_db()
    assert (imp.status, imp.created_count) == ("completed", 4)
    assert deleted
    vip = Tag.objects.get(tenant=tenant, name="vip")
    assert vip.pk != deleted[0]
    # A and B lost the tag with its deletion if their batch was written before it, and
    # have the new one if the deletion made their batch go again.
    tagged = set(Contact.objects.filter(tenant=tenant, tags=vip).values_list("name", flat=True))
    assert {"C", "D"} <= tagged
    assert sorted(Contact.objects.filter(tenant=tenant).values_list("name", flat=True)) == [
        "A",
        "B",
        "C",
        "D",
    ]
    assert not ContactTag.objects.exclude(tag__in=Tag.objects.all()).exists()


def test_deleting_a_tag_waits_for_a_transaction_linking_to_it(tenant, vip):
    contact = contact_create(tenant=tenant, created_by="api", name="Ada")
    holding = threading.Event()

    def link_slowly():
        try:
            with transaction.atomic():
                assert tags_hold(tag_ids=[vip.pk]) == {vip.pk}
                holding.set()
                time.sleep(0.5)
                ContactTag.objects.create(tenant=tenant, contact=contact, tag=vip)
        finally:
            connection.close()

    linker = threading.Thread(target=link_slowly)
    linker.start()
    assert holding.wait(5)
    started = time.monotonic()
    tag_delete(tenant=tenant, tag_id=vip.pk)  # waits for the link, then deletes it too
    waited = time.monotonic() - started
    linker.join()
    assert waited > 0.2
    assert not ContactTag.objects.filter(contact=contact).exists()
    assert not Tag.objects.filter(pk=vip.pk).exists()


def test_holding_tags_answers_which_exist(tenant, vip):
    with transaction.atomic():
        assert tags_hold(tag_ids=[vip.pk, "tag_01M8C1SJB073XHA41RTJ3MC9JQ", vip.pk]) == {vip.pk}
        assert tags_hold(tag_ids=[]) == set()


def test_an_import_waits_while_another_of_its_tenant_runs(client_a, tenant):
    """The lock another import of the tenant would hold: the import waits for it, renewing
    its lease, and runs once it is released."""
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        autocommit=True,
    )
    other.execute("SELECT pg_advisory_lock(hashtext(%s))", [tenant.pk])
    done = threading.Event()

    def upload():
        try:
            _import(client_a, "name\nAda\n")
        finally:
            connection.close()
            done.set()

    runner = threading.Thread(target=upload)
    runner.start()
    try:
        assert not done.wait(1.5)
        imp = ContactImport.objects.get(tenant=tenant)
        assert (imp.status, imp.processed_rows) == ("running", 0)
        assert imp.lease_owner
    finally:
        other.execute("SELECT pg_advisory_unlock(hashtext(%s))", [tenant.pk])
        other.close()
    assert done.wait(30)
    runner.join()
    imp.refresh_from_db()
    assert (imp.status, imp.created_count) == ("completed", 1)


@pytest.mark.parametrize(
    ("field", "index"), [("cf_email", "contact_by_email"), ("cf_phone", "contact_by_phone")]
)
def test_an_import_looks_up_each_email_and_phone_by_its_own_index(tenant, field, index):
    """Each lookup is one probe of its partial index, never a walk of the tenant in another
    (`(tenant, …)` indexes fit any query of the tenant; statistics may not tell them apart)."""
    for n in range(3):
        contact_create(
            tenant=tenant,
            created_by="test",
            name=f"P{n}",
            custom_fields={"cf_email": f"p{n}@x.io", "cf_phone": f"+1415555010{n}"},
        )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN " + HOLDERS_SQL, [json.dumps(["p1@x.io", "+14155550101"]), tenant.pk, field]
        )
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert f"Index Scan using {index} on contacts_contact" in plan
    assert f"((custom_fields ->> '{field}'::text) = k.value)" in plan
