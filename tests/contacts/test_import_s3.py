"""Imports with their files on S3 (moto's server on 127.0.0.1, tests/storage.py): upload
through the API and the admin, run, resume from a checkpoint, purge staged files.

The worker runs in-process (Celery eager, on commit), reading the bucket over HTTP as a
worker on another machine would; the last test runs a real worker process on Redis.
"""

import codecs
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.importing import staging
from contacts.importing.services import contact_import_create, contact_import_run
from contacts.importing.staging import (
    STAGING_DIR,
    contact_import_stage,
    contact_import_staged_purge,
)
from contacts.models import Contact, ContactImport
from tests.conftest import start_worker, stop_worker, wait_until
from tests.factories.tenancy import MembershipFactory

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/contacts/contactimport/add/"
USER = "usr_01HZZZZZZZZZZZZZZZZZZZZZZA"


def _people(count: int, start: int = 0) -> str:
    return "".join(f"Person {n},person{n}@x.io\n" for n in range(start, start + count))


def _file(raw: bytes, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, raw, content_type="text/csv")


def _names(tenant) -> set[str]:
    return set(Contact.objects.filter(tenant=tenant).values_list("name", flat=True))


@pytest.fixture(autouse=True)
def small_batches(settings):
    settings.IMPORT_BATCH_ROWS = 7  # several batches, and checkpoints, in a small file


@pytest.mark.parametrize("in_process", [False, True], ids=["thread", "process"])
def test_an_import_through_the_api_runs_from_the_bucket(
    s3_storage, client_a, tenant, settings, django_capture_on_commit_callbacks, in_process
):
    settings.IMPORT_CHECK_PROCESS_BYTES = 1 if in_process else 10**9
    content = "name,email\n" + _people(40) + "Bad,not-an-email\n"
    # UTF-16: the bucket must hold the file as the worker reads it, UTF-8 without BOM.
    raw = content.encode("utf-16")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post("/v1/contacts/import", {"file": _file(raw)}, format="multipart")
    assert response.status_code == 202, response.content
    status = client_a.get(response["Location"]).json()
    assert {k: status[k] for k in ("status", "totalRows", "processedRows", "createdCount")} == {
        "status": "completed",
        "totalRows": 41,
        "processedRows": 41,
        "createdCount": 40,
    }
    assert status["failedCount"] == 1  # the bad e-mail of row 41
    assert _names(tenant) == {f"Person {n}" for n in range(40)}

    imp = ContactImport.objects.get()
    assert imp.file_path == f"imports/{tenant.pk}/{imp.pk}.csv"
    assert imp.file_size == len(raw)
    assert s3_storage.names() == [imp.file_path]
    assert s3_storage.read(imp.file_path) == content.encode()
    acl = s3_storage.client.get_object_acl(
        Bucket=s3_storage.name, Key=s3_storage.key(imp.file_path)
    )
    assert [grant["Permission"] for grant in acl["Grants"]] == ["FULL_CONTROL"]  # the owner's


def test_an_import_from_a_bom_upload_stores_it_without_the_bom(
    s3_storage, client_a, django_capture_on_commit_callbacks
):
    content = "name,email\n" + _people(3)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            "/v1/contacts/import",
            {"file": _file(codecs.BOM_UTF8 + content.encode())},
            format="multipart",
        )
    assert client_a.get(response["Location"]).json()["createdCount"] == 3
    assert s3_storage.read(ContactImport.objects.get().file_path) == content.encode()


@pytest.mark.parametrize("in_process", [False, True], ids=["thread", "process"])
def test_a_resumed_import_reads_the_bucket_from_its_checkpoint(
    s3_storage, tenant, settings, in_process
):
    """A job checkpointed after row 12 goes on with row 13: the bytes after the checkpoint
    are read, none before (what rows 1 to 12 would create is not created)."""
    settings.IMPORT_CHECK_PROCESS_BYTES = 1 if in_process else 10**9
    head, done, rest = "name,email\n", _people(12), _people(30, start=12)
    imp = contact_import_create(
        tenant=tenant, created_by=USER, upload=_file((head + done + rest).encode())
    )  # queued on commit, which never comes here: the job waits for us
    ContactImport.objects.filter(pk=imp.pk).update(
        checkpoint_offset=len((head + done).encode()), checkpoint_row=12, processed_rows=12
    )
    contact_import_run(import_id=imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.total_rows, imp.processed_rows, imp.created_count) == (
        "completed",
        42,
        42,
        30,
    )
    assert _names(tenant) == {f"Person {n}" for n in range(12, 42)}
    assert (imp.checkpoint_offset, imp.checkpoint_row) == (len(head + done + rest), 42)


def test_an_import_whose_file_is_gone_from_the_bucket_fails(s3_storage, tenant):
    imp = contact_import_create(tenant=tenant, created_by=USER, upload=_file(b"name\nAda\n"))
    default_storage.delete(imp.file_path)
    contact_import_run(import_id=imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.failure_code, imp.created_count) == ("failed", "internal_error", 0)


# --- the admin: preview (staging), then start ------------------------------------------------


def test_admin_preview_stages_in_the_bucket_and_start_imports_from_it(
    s3_storage, client, tenant, django_capture_on_commit_callbacks
):
    client.force_login(MembershipFactory(tenant=tenant, role="agent").user)
    fields = {"tenant": tenant.pk, "mode": "upsert"}
    raw = ("name,email\n" + _people(20)).encode()
    preview = client.post(ADD_URL, {**fields, "file": _file(raw), "_preview": "Preview columns"})
    assert preview.status_code == 200
    assert preview.context["form"].errors == {}
    [staged] = s3_storage.names()
    assert staged.startswith(f"{STAGING_DIR}/{tenant.pk}/")
    assert s3_storage.read(staged) == raw

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            ADD_URL,
            {**fields, "staged": preview.context["form"].data["staged"], "_start": "Start import"},
        )
    assert started.status_code == 302, started.content
    imp = ContactImport.objects.get()
    assert (imp.status, imp.file_name, imp.created_count) == ("completed", "people.csv", 20)
    assert s3_storage.names() == [imp.file_path]  # the staged copy is gone
    assert s3_storage.read(imp.file_path) == raw


def test_staging_purges_the_tenants_expired_files_from_the_bucket(
    s3_storage, tenant, other_tenant, monkeypatch
):
    mine = contact_import_stage(tenant=tenant, user_id=USER, upload=_file(b"name\nA\n"))
    theirs = contact_import_stage(tenant=other_tenant, user_id=USER, upload=_file(b"name\nB\n"))
    assert contact_import_staged_purge(tenant=tenant) == 0  # both are new
    # With an age below zero (past the 5 minutes' margin), every staged file is expired.
    monkeypatch.setattr(staging, "STAGED_MAX_AGE", -timedelta(minutes=10))
    assert contact_import_staged_purge(tenant=tenant) == 1
    assert s3_storage.names() == [theirs.path]
    assert mine.path != theirs.path


# --- a real worker ---------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_imports_what_the_web_process_stored(
    s3_storage, make_client, tenant, tmp_path
):
    """The web process (this one) stores the upload; a worker process that shares nothing
    with it but the bucket and the database (not its local folder) imports it."""
    from flownally_admin.celery import app

    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    worker = start_worker(
        queue="imports",
        env={
            **s3_storage.env,
            "MEDIA_ROOT": str(tmp_path / "worker-media"),
            "IMPORT_BATCH_ROWS": "50",
            "IMPORT_CHECK_PROCESS_BYTES": "1000",
        },
    )
    try:
        client = make_client(tenant=tenant)
        response = client.post(
            "/v1/contacts/import",
            {"file": _file(("name,email\n" + _people(500)).encode())},
            format="multipart",
        )
        assert response.status_code == 202, response.content
        import_id = response.json()["id"]
        imp = wait_until(
            lambda: ContactImport.objects.filter(
                pk=import_id, status__in=["completed", "failed"]
            ).first(),
            timeout=120,
            what="the worker to finish the import",
        )
    finally:
        stop_worker(worker)
        app.conf.task_always_eager = eager
    assert (imp.status, imp.total_rows, imp.created_count) == ("completed", 500, 500)
    assert len(_names(tenant)) == 500
