"""Running exports: the snapshot, failures, leases and purging (through the services)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from contacts.models import Contact
from contacts.services import contact_create
from events.models import Event
from exports import services
from exports.models import ContactExport
from exports.services import (
    contact_export_create,
    contact_export_resume_stale,
    contact_export_run,
    contact_exports_purge_expired,
)
from tests.factories.tenancy import TenantFactory


def _queued(tenant, **kwargs) -> ContactExport:
    with mock.patch("exports.tasks.contact_export_run_task.delay"):
        return contact_export_create(tenant=tenant, created_by="usr_t", **kwargs)


def _file(export: ContactExport) -> str:
    with default_storage.open(export.file_path, "rb") as file:
        return file.read().decode()


@pytest.mark.postgres  # the test suite's SQLite is in memory: one writer locks out readers
@pytest.mark.django_db(transaction=True)
def test_rows_are_the_contacts_that_matched_when_the_export_started(settings):
    """Read on a connection of its own, in one snapshot: a contact created while the file
    is written is not in it, and the count agrees with the rows."""
    settings.EXPORT_CHUNK_ROWS = 2
    tenant = TenantFactory()
    for n in range(5):
        contact_create(tenant=tenant, created_by="usr_t", name=f"Before {n}")
    export = _queued(tenant, columns=["name"])
    save_progress = services._save_progress

    def create_one_meanwhile(export, worker, fields):
        save_progress(export, worker, fields)
        if fields == ["total_rows"]:
            contact_create(tenant=tenant, created_by="usr_t", name="After")

    with mock.patch.object(services, "_save_progress", create_one_meanwhile):
        contact_export_run(export_id=export.pk)
    export.refresh_from_db()
    assert Contact.objects.filter(tenant=tenant, name="After").exists()
    assert (export.status, export.total_rows, export.processed_rows) == ("completed", 5, 5)
    assert _file(export) == "\ufeffname\n" + "".join(f"Before {n}\n" for n in range(5))


@pytest.mark.django_db
def test_a_failure_mid_file_fails_the_export_and_leaves_no_file(tenant, settings):
    settings.EXPORT_CHUNK_ROWS = 1
    for n in range(3):
        contact_create(tenant=tenant, created_by="usr_t", name=f"P{n}")
    export = _queued(tenant)
    calls = []

    def broken_progress(export, worker, fields):
        calls.append(fields)
        if len(calls) == 3:
            raise RuntimeError("disk full")

    with mock.patch.object(services, "_save_progress", broken_progress):
        contact_export_run(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.failure_code) == ("failed", "internal_error")
    assert export.file_path == ""
    assert len(calls) == 3  # the file was being written
    assert default_storage.listdir(f"exports/{tenant.pk}") == ([], [])
    assert Event.objects.filter(tenant=tenant, type="export.failed").count() == 1


@pytest.mark.django_db
def test_an_export_whose_worker_stopped_is_queued_again_then_written_again(tenant):
    contact_create(tenant=tenant, created_by="usr_t", name="Ada")
    export = _queued(tenant)
    ContactExport.objects.filter(pk=export.pk).update(
        status="running",
        lease_owner="dead-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        attempts=1,
    )
    with mock.patch("exports.tasks.contact_export_run_task.delay") as delay:
        assert contact_export_resume_stale() == [export.pk]
    delay.assert_called_once_with(export.pk)
    contact_export_run(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.attempts, export.processed_rows) == ("completed", 2, 1)


@pytest.mark.django_db
def test_a_live_lease_is_left_alone(tenant):
    export = _queued(tenant)
    ContactExport.objects.filter(pk=export.pk).update(
        status="running",
        lease_owner="busy-worker",
        lease_expires_at=timezone.now() + timedelta(seconds=30),
    )
    with mock.patch("exports.tasks.contact_export_run_task.delay"):
        assert contact_export_resume_stale() == []
    contact_export_run(export_id=export.pk)  # another delivery of the task: not ours
    export.refresh_from_db()
    assert (export.status, export.lease_owner) == ("running", "busy-worker")


@pytest.mark.django_db
def test_an_export_interrupted_too_often_fails(tenant, settings):
    export = _queued(tenant)
    ContactExport.objects.filter(pk=export.pk).update(attempts=settings.EXPORT_MAX_ATTEMPTS)
    contact_export_run(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.failure_code) == ("failed", "worker_lost")


@pytest.mark.django_db
def test_purge_deletes_only_expired_files(tenant):
    contact_create(tenant=tenant, created_by="usr_t", name="Ada")
    kept, expired = _queued(tenant), _queued(tenant, columns=["name"])
    for export in (kept, expired):
        contact_export_run(export_id=export.pk)
        export.refresh_from_db()
    ContactExport.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    assert contact_exports_purge_expired() == 1
    assert not default_storage.exists(expired.file_path)
    assert default_storage.exists(kept.file_path)
    assert ContactExport.objects.get(pk=expired.pk).file_path == ""
    assert contact_exports_purge_expired() == 0


@pytest.mark.django_db
def test_selected_contacts_are_exported_without_filters(tenant):
    ada = contact_create(tenant=tenant, created_by="usr_t", name="Ada")
    contact_create(tenant=tenant, created_by="usr_t", name="Grace")
    export = _queued(tenant, contact_ids=[ada.pk, "ctc_of_someone_else"], columns=["name"])
    contact_export_run(export_id=export.pk)
    export.refresh_from_db()
    assert _file(export) == "\ufeffname\nAda\n"


@pytest.mark.django_db
def test_a_field_renamed_or_deleted_after_the_request_is_written_as_it_is_now(tenant):
    from customfields.services import (
        custom_field_definition_create,
        custom_field_definition_delete,
        custom_field_definition_update,
    )

    plan = custom_field_definition_create(
        tenant=tenant, entity_type="contact", name="Plan", type="text", created_by="usr_t"
    )
    gone = custom_field_definition_create(
        tenant=tenant, entity_type="contact", name="Gone", type="text", created_by="usr_t"
    )
    contact_create(
        tenant=tenant,
        created_by="usr_t",
        name="Ada",
        custom_fields={plan.public_id: "pro", gone.public_id: "x"},
    )
    export = _queued(tenant, columns=["name", "Plan", "Gone"])
    custom_field_definition_update(
        tenant=tenant, entity_type="contact", definition_id=plan.public_id, name="Tier"
    )
    custom_field_definition_delete(
        tenant=tenant, entity_type="contact", definition_id=gone.public_id
    )
    contact_export_run(export_id=export.pk)
    export.refresh_from_db()
    assert _file(export) == "\ufeffname,Tier\nAda,pro\n"
