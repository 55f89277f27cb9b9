"""An upload kept between its preview and its start (contacts/importing/staging.py)."""

import os
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.importing import staging
from contacts.importing.staging import (
    STAGED_MAX_AGE,
    STAGING_DIR,
    StagedUploadGone,
    contact_import_create_staged,
    contact_import_stage,
    contact_import_staged_get,
    contact_import_staged_open,
    contact_import_staged_purge,
    contact_import_unstage,
)
from contacts.models import ContactImport
from flownally_admin.errors import ValidationFailed

pytestmark = pytest.mark.django_db

USER = "usr_01HZZZZZZZZZZZZZZZZZZZZZZA"
OTHER_USER = "usr_01HZZZZZZZZZZZZZZZZZZZZZZB"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _upload(content=b"name\nAda\n", name="people.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def _age(path: str, seconds: float) -> None:
    """Make a stored file look `seconds` old."""
    then = time.time() - seconds
    os.utime(default_storage.path(path), (then, then))


def test_stage_keeps_the_upload_in_the_tenants_staging_folder(tenant):
    staged = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    assert staged.path.startswith(f"{STAGING_DIR}/{tenant.pk}/")
    assert (staged.file_name, staged.size, staged.tenant_id, staged.user_id) == (
        "people.csv",
        9,
        tenant.pk,
        USER,
    )
    with contact_import_staged_open(staged) as stored:
        assert (stored.name, stored.read()) == ("people.csv", b"name\nAda\n")


def test_a_token_names_the_staged_upload_for_its_user(tenant):
    staged = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    assert contact_import_staged_get(token=staged.token(), user_id=USER) == staged


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        # Signed by someone without our key: the payload is right, the signature is not.
        signing.dumps(["imports/staging/x.csv", "x.csv", 1, "tn_x", USER], key="z" * 50, salt="x"),
    ],
)
def test_a_forged_token_names_nothing(token):
    with pytest.raises(StagedUploadGone) as caught:
        contact_import_staged_get(token=token, user_id=USER)
    assert caught.value.detail == "The previewed file has expired: choose it again."


def test_a_tampered_token_cannot_point_at_another_tenants_file(tenant, other_tenant):
    theirs = contact_import_stage(tenant=other_tenant, user_id=OTHER_USER, upload=_upload())
    ours = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    _, timestamp, signature = ours.token().rsplit(":", 2)
    their_path = signing.dumps([theirs.path, "x.csv", 1, tenant.pk, USER], salt=staging._SALT)
    tampered = f"{their_path.rsplit(':', 2)[0]}:{timestamp}:{signature}"
    with pytest.raises(StagedUploadGone):
        contact_import_staged_get(token=tampered, user_id=USER)


def test_another_users_token_names_nothing(tenant):
    staged = contact_import_stage(tenant=tenant, user_id=OTHER_USER, upload=_upload())
    with pytest.raises(StagedUploadGone):
        contact_import_staged_get(token=staged.token(), user_id=USER)


def test_an_expired_token_names_nothing(tenant, monkeypatch):
    staged = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    monkeypatch.setattr(staging, "STAGED_MAX_AGE", timedelta(seconds=-1))
    with pytest.raises(StagedUploadGone):
        contact_import_staged_get(token=staged.token(), user_id=USER)


def test_opening_an_unstaged_upload_says_it_is_gone(tenant):
    staged = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    contact_import_unstage(staged=staged)
    assert not default_storage.exists(staged.path)
    with pytest.raises(StagedUploadGone), contact_import_staged_open(staged):
        pass


def test_purge_deletes_only_the_tenants_expired_uploads(tenant, other_tenant):
    fresh = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    old = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    theirs = contact_import_stage(tenant=other_tenant, user_id=USER, upload=_upload())
    expired = STAGED_MAX_AGE.total_seconds() + 6 * 60  # past the tokens' age and the margin
    _age(old.path, expired)
    _age(theirs.path, expired)
    _age(fresh.path, STAGED_MAX_AGE.total_seconds())  # a token may still name it

    assert contact_import_staged_purge(tenant=tenant) == 1
    assert not default_storage.exists(old.path)
    assert default_storage.exists(fresh.path)
    assert default_storage.exists(theirs.path)  # another tenant's, purged by its own staging


def test_purge_of_a_tenant_that_never_staged_deletes_nothing(tenant):
    assert contact_import_staged_purge(tenant=tenant) == 0


def test_staging_purges_the_tenants_abandoned_uploads(tenant):
    abandoned = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    _age(abandoned.path, STAGED_MAX_AGE.total_seconds() + 6 * 60)
    kept = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    assert not default_storage.exists(abandoned.path)
    assert default_storage.exists(kept.path)


def test_create_staged_starts_the_import_and_deletes_the_staged_file_on_commit(
    tenant, django_capture_on_commit_callbacks
):
    staged = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    with django_capture_on_commit_callbacks(execute=True):
        imp = contact_import_create_staged(
            staged=staged, tenant=tenant, created_by=USER, mode="create", dry_run=True
        )
        assert default_storage.exists(staged.path)  # until the job is committed
    assert (imp.tenant_id, imp.created_by, imp.file_name) == (tenant.pk, USER, "people.csv")
    assert (imp.mode, imp.dry_run, imp.header) == ("create", True, ["name"])
    assert not default_storage.exists(staged.path)
    with default_storage.open(imp.file_path, "rb") as stored:
        assert stored.read() == b"name\nAda\n"


@pytest.mark.parametrize("bound_to", ["other tenant", "other user"])
def test_create_staged_refuses_a_file_bound_to_another_tenant_or_user(
    tenant, other_tenant, bound_to
):
    staged = contact_import_stage(
        tenant=other_tenant if bound_to == "other tenant" else tenant,
        user_id=OTHER_USER if bound_to == "other user" else USER,
        upload=_upload(),
    )
    with pytest.raises(StagedUploadGone):
        contact_import_create_staged(staged=staged, tenant=tenant, created_by=USER)
    assert ContactImport.objects.count() == 0
    assert default_storage.exists(staged.path)


def test_create_staged_for_another_tenant_after_rebinding(other_tenant, tenant):
    staged = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    imp = contact_import_create_staged(
        staged=staged.for_tenant(other_tenant), tenant=other_tenant, created_by=USER
    )
    assert imp.tenant_id == other_tenant.pk


def test_create_staged_keeps_the_file_when_the_service_refuses(tenant):
    staged = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    with pytest.raises(ValidationFailed) as caught:
        contact_import_create_staged(
            staged=staged,
            tenant=tenant,
            created_by=USER,
            tag_ids=["tag_01HZZZZZZZZZZZZZZZZZZZZZZZ"],
        )
    assert [(v.field, v.code) for v in caught.value.violations] == [("tagIds[0]", "unknown_tag")]
    assert default_storage.exists(staged.path)  # fixing the options is enough to start


def test_create_staged_of_a_deleted_file_says_it_is_gone(tenant):
    staged = contact_import_stage(tenant=tenant, user_id=USER, upload=_upload())
    contact_import_unstage(staged=staged)
    with pytest.raises(StagedUploadGone):
        contact_import_create_staged(staged=staged, tenant=tenant, created_by=USER)
    assert ContactImport.objects.count() == 0
