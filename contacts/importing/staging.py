"""An upload kept between the preview of its columns and the start of its import.

The staged file is named by the server and travels between the two steps in a signed
token bound to the user, the tenant and a maximum age: a forged, expired or another
user's token names no file, and a job starts from a staged file only in the tenant and
for the user it is bound to. The file is deleted when its import starts; abandoned ones
are purged when the tenant stages another.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from flownally_admin.errors import ApplicationError
from flownally_admin.storage import open_stored, stored_files
from flownally_admin.tenancy.models import Tenant

from ..models import ContactImport, ImportMode
from .services import contact_import_create

STAGING_DIR = "imports/staging"
STAGED_MAX_AGE = timedelta(hours=6)
_SALT = "contacts.importing.staging"


class StagedUploadGone(ApplicationError):
    code = "staged_upload_gone"
    default_detail = "The previewed file has expired: choose it again."


@dataclass(frozen=True)
class StagedUpload:
    path: str
    file_name: str
    size: int
    tenant_id: str
    user_id: str

    def token(self) -> str:
        return signing.dumps(
            [self.path, self.file_name, self.size, self.tenant_id, self.user_id], salt=_SALT
        )

    def for_tenant(self, tenant: Tenant) -> "StagedUpload":
        """The same file bound to another of the user's tenants, whose columns may read
        differently: preview it again before starting."""
        return replace(self, tenant_id=tenant.pk)


def contact_import_staged_get(*, token: str, user_id: str) -> StagedUpload:
    """The staged upload a token names; StagedUploadGone unless we signed it, less than
    STAGED_MAX_AGE ago, for this user."""
    try:
        staged = StagedUpload(*signing.loads(token, salt=_SALT, max_age=STAGED_MAX_AGE))
    except signing.BadSignature:  # expired included
        raise StagedUploadGone() from None
    if staged.user_id != user_id:
        raise StagedUploadGone()
    return staged


@contextmanager
def contact_import_staged_open(staged: StagedUpload) -> Iterator[File]:
    """The staged file, under the name it was uploaded with; StagedUploadGone once deleted."""
    try:
        stored = open_stored(staged.path)
    except FileNotFoundError:
        raise StagedUploadGone() from None
    with stored:
        yield File(stored, name=staged.file_name)


def contact_import_stage(*, tenant: Tenant, user_id: str, upload) -> StagedUpload:
    """Keep an upload until its import starts; the tenant's abandoned ones go meanwhile."""
    contact_import_staged_purge(tenant=tenant)
    path = default_storage.save(f"{STAGING_DIR}/{tenant.pk}/{uuid.uuid4().hex}.csv", upload)
    return StagedUpload(
        path=path,
        file_name=os.path.basename(upload.name),
        size=upload.size,
        tenant_id=tenant.pk,
        user_id=user_id,
    )


def contact_import_unstage(*, staged: StagedUpload) -> None:
    default_storage.delete(staged.path)


def contact_import_staged_purge(*, tenant: Tenant) -> int:
    """Delete the tenant's staged uploads whose tokens have expired; returns how many."""
    folder = f"{STAGING_DIR}/{tenant.pk}"
    # A margin past the tokens' age: a file is never deleted while a token may still name it.
    cutoff = timezone.now() - STAGED_MAX_AGE - timedelta(minutes=5)
    try:
        stale = [path for path, modified in stored_files(folder) if modified < cutoff]
    except NotImplementedError:  # a storage without modification times
        return 0
    for path in stale:
        default_storage.delete(path)
    return len(stale)


def contact_import_create_staged(
    *,
    staged: StagedUpload,
    tenant: Tenant,
    created_by: str,
    mode: str = ImportMode.UPSERT,
    dry_run: bool = False,
    tag_ids: list[str] | None = None,
) -> ContactImport:
    """`contact_import_create` from a staged upload, which is deleted once the job commits.

    Refuses (StagedUploadGone) a staged file bound to another tenant or user.
    """
    if (staged.tenant_id, staged.user_id) != (tenant.pk, created_by):
        raise StagedUploadGone()
    with contact_import_staged_open(staged) as upload:
        imp = contact_import_create(
            tenant=tenant,
            created_by=created_by,
            upload=upload,
            mode=mode,
            dry_run=dry_run,
            tag_ids=tag_ids,
        )
    transaction.on_commit(partial(contact_import_unstage, staged=staged))
    return imp
