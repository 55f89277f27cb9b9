"""Exports on real Celery workers over Redis and PostgreSQL, killed mid-file included."""

import os
import signal

import pytest
from django.utils import timezone

from contacts.models import Contact
from exports.models import ContactExport
from exports.services import contact_export_resume_stale
from tests.conftest import start_worker, stop_worker, wait_until
from tests.factories.tenancy import TenantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# A progress save (and lease renewal) every row: slow enough to be killed mid-file.
WORKER_ENV = {"EXPORT_CHUNK_ROWS": "1", "EXPORT_LEASE_SECONDS": "2"}
# The worker that writes the file again saves less often: a commit per row is bound by the
# disk's flushes, and took over two minutes for the whole file on a slow machine.
SECOND_WORKER_ENV = {**WORKER_ENV, "EXPORT_CHUNK_ROWS": "500"}
CONTACTS = 20_000


@pytest.fixture(autouse=True)
def queued_for_real_workers():
    from flownally_admin.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def tenant_with_contacts():
    tenant = TenantFactory()
    Contact.objects.bulk_create(
        Contact(tenant=tenant, name=f"Person {n:05d}", created_by="usr_t") for n in range(CONTACTS)
    )
    return tenant


def _export(make_client, tenant) -> tuple[object, str]:
    client = make_client(tenant=tenant)
    response = client.post("/v1/contacts/exports", {"columns": ["name"]}, format="json")
    assert response.status_code == 202, response.content
    return client, response.json()["id"]


def _finished(export_id: str):
    export = ContactExport.objects.get(pk=export_id)
    return export if export.status in ("completed", "failed") else None


def _names(client, export_id: str) -> list[str]:
    response = client.get(f"/v1/contacts/exports/{export_id}/file")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return text.removeprefix("\ufeffname\n").splitlines()


def test_a_worker_killed_mid_file_is_followed_by_a_whole_file(make_client, tenant_with_contacts):
    first = start_worker(queue="imports", env=WORKER_ENV)  # first: a busy solo worker never
    client, export_id = _export(make_client, tenant_with_contacts)  # answers the start's ping
    wait_until(
        lambda: ContactExport.objects.get(pk=export_id).processed_rows >= 200,
        timeout=120,
        what="200 exported rows",
    )
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    interrupted = ContactExport.objects.get(pk=export_id)
    assert interrupted.status == "running", "the export ended before the kill; add contacts"
    assert_problem_code(client.get(f"/v1/contacts/exports/{export_id}/file"), "export_not_ready")

    wait_until(
        lambda: ContactExport.objects.get(pk=export_id).lease_expires_at < timezone.now(),
        timeout=30,
        what="the dead worker's lease to lapse",
    )
    second = start_worker(queue="imports", env=SECOND_WORKER_ENV)
    try:
        assert contact_export_resume_stale() == [export_id]
        wait_until(lambda: _finished(export_id), timeout=120, what="the export written again")
    finally:
        stop_worker(second)
    export = ContactExport.objects.get(pk=export_id)
    assert (export.status, export.attempts, export.total_rows) == ("completed", 2, CONTACTS)
    assert _names(client, export_id) == [f"Person {n:05d}" for n in range(CONTACTS)]


def assert_problem_code(response, code: str) -> None:
    assert response.status_code == 409
    assert response.json()["code"] == code
