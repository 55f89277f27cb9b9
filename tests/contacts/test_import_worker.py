"""Imports on real Celery workers over Redis and PostgreSQL: crashes and races.

A worker is SIGKILLed in the middle of an import; once its lease lapses the
job is handed to a fresh worker, and the end state must equal that of an
uninterrupted run of the same file.
"""

import os
import signal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from contacts.importing.services import contact_import_resume_stale
from contacts.models import Contact, ContactImport, Identity
from tests.conftest import start_worker, stop_worker, wait_until
from tests.contacts.outcomes import import_outcome
from tests.factories.tenancy import TenantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# The whole file (136 kB) and what is left after 50 or 1,000 rows are checked by a child
# process of the worker; what is left after 2,000 rows (46 kB) by a thread.
WORKER_ENV = {
    "IMPORT_BATCH_ROWS": "10",
    "IMPORT_LEASE_SECONDS": "2",
    "IMPORT_CHECK_PROCESS_BYTES": "60000",
}


@pytest.fixture(autouse=True)
def queued_for_real_workers():
    """Tasks go to Redis for the worker processes, not run in this process."""
    from flownally_admin.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


def _csv(rows: int) -> bytes:
    """People with identities, e-mails and tags; bad cells, blanks, repeats and possible
    duplicates mixed in."""
    lines = ["name,email,whatsapp,tags,phone"]
    for n in range(rows):
        if n % 50 == 7:
            lines.append(",,,,")
        elif n % 40 == 3:
            lines.append(f"Bad {n},not-an-email,,,")
        elif n % 30 == 11:
            lines.append(f"Again {n},person{n - 10}@x.io,,again,")  # repeats an earlier e-mail
        elif n % 45 == 19:  # a phone that an earlier row has as its WhatsApp number
            lines.append(f"Twin {n},twin{n}@x.io,,,+1415555{n - 2:04d}")
        else:
            lines.append(f"Person {n},person{n}@x.io,+1415555{n:04d},t{n % 5};all,")
    return ("\n".join(lines) + "\n").encode()


def _upload(client, raw: bytes, **fields) -> str:
    response = client.post(
        "/v1/contacts/import",
        {"file": SimpleUploadedFile("people.csv", raw), **fields},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def _finished(import_id: str) -> ContactImport | None:
    imp = ContactImport.objects.get(pk=import_id)
    return imp if imp.status in ("completed", "failed") else None


@pytest.fixture
def clean_outcome(make_client):
    """The outcome of the file imported without interruption, by one worker."""
    worker = start_worker(queue="imports", env=WORKER_ENV)
    try:
        import_id = _upload(make_client(tenant=TenantFactory()), _csv(3000))
        wait_until(lambda: _finished(import_id), timeout=120, what="the clean import")
    finally:
        stop_worker(worker)
    return import_outcome(import_id)


@pytest.mark.parametrize("kill_after_rows", [50, 1000, 2000])
def test_a_worker_killed_mid_import_is_resumed_to_the_same_result(
    clean_outcome, make_client, kill_after_rows
):
    client = make_client(tenant=TenantFactory())
    first = start_worker(queue="imports", env=WORKER_ENV)
    import_id = _upload(client, _csv(3000))
    wait_until(
        lambda: ContactImport.objects.get(pk=import_id).processed_rows >= kill_after_rows,
        timeout=120,
        what=f"{kill_after_rows} processed rows",
    )
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    interrupted = ContactImport.objects.get(pk=import_id)
    assert interrupted.status == "running", "the import ended before the kill; use a bigger file"
    assert interrupted.processed_rows < interrupted.total_rows

    wait_until(
        lambda: ContactImport.objects.get(pk=import_id).lease_expires_at < timezone.now(),
        timeout=30,
        what="the dead worker's lease to lapse",
    )
    assert contact_import_resume_stale() == [import_id]
    second = start_worker(queue="imports", env=WORKER_ENV)
    try:
        wait_until(lambda: _finished(import_id), timeout=120, what="the resumed import")
    finally:
        stop_worker(second)
    resumed = ContactImport.objects.get(pk=import_id)
    assert resumed.attempts == 2
    assert import_outcome(import_id) == clean_outcome


def test_racing_imports_with_overlapping_people_never_create_duplicates(make_client):
    tenant = TenantFactory()
    client = make_client(tenant=tenant)
    worker = start_worker(queue="imports", env=WORKER_ENV, pool="prefork")
    try:
        both = _csv(600)
        imports = [_upload(client, both), _upload(client, both)]
        for import_id in imports:
            wait_until(lambda i=import_id: _finished(i), timeout=120, what="both imports")
    finally:
        stop_worker(worker)
    emails = list(
        Contact.objects.filter(tenant=tenant).values_list("custom_fields__cf_email", flat=True)
    )
    assert len(emails) == len(set(emails))
    phones = list(Identity.objects.filter(tenant=tenant).values_list("external_id", flat=True))
    assert len(phones) == len(set(phones))
    first, second = (ContactImport.objects.get(pk=i) for i in imports)
    assert first.created_count + second.created_count == len(emails)
    assert {first.status, second.status} == {"completed"}


def test_an_import_whose_database_connections_die_is_handed_back_and_completes(
    clean_outcome, make_client
):
    from django.db import connection

    client = make_client(tenant=TenantFactory())
    # A lease far longer than the wait below: only a hand-back can end it in time.
    worker = start_worker(queue="imports", env={**WORKER_ENV, "IMPORT_LEASE_SECONDS": "300"})
    try:
        import_id = _upload(client, _csv(3000))
        wait_until(
            lambda: ContactImport.objects.get(pk=import_id).processed_rows >= 500,
            timeout=120,
            what="500 processed rows",
        )
        with connection.cursor() as cursor:  # as a database restart would
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        # The worker gives the import back at once rather than marking it failed...
        wait_until(
            lambda: ContactImport.objects.get(pk=import_id).lease_expires_at < timezone.now(),
            timeout=30,
            what="the import to be handed back",
        )
        assert ContactImport.objects.get(pk=import_id).status == "running"
        # ...and the sweep hands it to a worker (here the same one, reconnected).
        assert contact_import_resume_stale() == [import_id]
        wait_until(lambda: _finished(import_id), timeout=120, what="the resumed import")
    finally:
        stop_worker(worker)
    assert ContactImport.objects.get(pk=import_id).status == "completed"
    assert import_outcome(import_id) == clean_outcome
