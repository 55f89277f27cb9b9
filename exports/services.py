"""Creating an export, running it in a worker, and forgetting its file when it expires.

The job's state lives in its row, never only in the broker: a worker holds a lease
while it writes, and an export whose worker died (the lease lapsed) is queued again by
the sweep and written again from the start, with a fresh snapshot, up to
EXPORT_MAX_ATTEMPTS times; then it fails. A file is served only once its export is
`completed`, which is saved after the file is whole in storage, so a half-written file
is never served.
"""

import logging
import os
import re
import uuid
from dataclasses import replace
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from contacts.selectors import contact_definitions
from events.context import Origin
from events.services import event_record
from events.types import EventType, Source
from flownally_admin.errors import ApplicationError, Conflict, TooBusy, ValidationFailed
from flownally_admin.storage import open_for_writing, open_stored
from flownally_admin.tenancy.models import Tenant

from .columns import export_columns_load, export_columns_pick
from .models import ContactExport, ExportStatus
from .representation import export_status_data
from .selectors import contact_export_filterset, contact_export_query
from .writing import csv_chunks, snapshot

logger = logging.getLogger(__name__)


class TooManyExports(TooBusy):
    """A tenant's exports share the workers with everyone's; a few at a time each."""


class ExportNotReady(Conflict):
    code = "export_not_ready"
    default_detail = "The export has not completed yet."


class ExportExpired(ApplicationError):
    code = "export_expired"
    default_detail = "The export's file has expired and was deleted."


class LeaseLost(Exception):
    """Another worker took the export over (ours stalled past its lease); stop quietly."""


def contact_export_create(
    *,
    tenant: Tenant,
    created_by: str,
    filters: dict | None = None,
    contact_ids: list[str] | None = None,
    columns: list[str] | None = None,
    source: str = Source.API,
) -> ContactExport:
    """Check the filters (the list's rules and codes) and the columns, and queue the job
    (after commit). `contact_ids` (the admin's selected rows) replaces the filters."""
    from .tasks import contact_export_run_task

    filters = filters or {}
    if contact_ids is None:
        _check_filters(tenant, filters)
    picked = export_columns_pick(contact_definitions(tenant=tenant), columns)
    unfinished = ContactExport.objects.filter(
        tenant=tenant, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]
    ).count()
    if unfinished >= settings.EXPORT_MAX_CONCURRENT:
        raise TooManyExports(
            f"{unfinished} exports of this workspace are still queued or running; "
            "start another when one has finished."
        )
    export = ContactExport.objects.create(
        tenant=tenant,
        created_by=created_by,
        source=source,
        filters=filters,
        contact_ids=contact_ids,
        columns=[column.stored_key for column in picked] if columns is not None else [],
    )
    transaction.on_commit(partial(contact_export_run_task.delay, export.pk))
    return export


def _check_filters(tenant: Tenant, filters: dict) -> None:
    """The list's checks, with violations on body paths: `customFields.<id>`, not the
    query parameter `customFields[<id>]`."""
    try:
        contact_export_filterset(tenant=tenant, filters=filters).raise_if_invalid()
    except ValidationFailed as exc:
        raise ValidationFailed(
            [replace(v, field=_BRACKETED_KEY.sub(r".\1", v.field)) for v in exc.violations]
        ) from None


_BRACKETED_KEY = re.compile(r"\[([^\]]*)\]$")


def contact_export_open(export: ContactExport):
    """The export's file, open for reading; ExportNotReady or ExportExpired if there is
    none to read."""
    if export.status != ExportStatus.COMPLETED:
        raise ExportNotReady(f"The export is {export.status}; its file is not ready.")
    if export.is_expired or not export.file_path:
        raise ExportExpired()
    try:
        return open_stored(export.file_path)
    except FileNotFoundError:  # purged between the check and the read
        raise ExportExpired() from None


def contact_export_file_name(export: ContactExport) -> str:
    """The name a download is saved under."""
    return f"contacts-{export.created_at:%Y%m%d-%H%M%S}-{export.pk}.csv"


def contact_export_run(*, export_id: str) -> None:
    """Write the export's file, unless another worker holds it or it is finished."""
    worker = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    export = _claim(export_id, worker)
    if export is None:
        return
    if export.attempts > settings.EXPORT_MAX_ATTEMPTS:
        _fail(export, worker, "worker_lost", "The export was interrupted too many times.")
        return
    path = f"exports/{export.tenant_id}/{export.pk}-{export.attempts}.csv"
    try:
        _write(export, worker, path)
    except LeaseLost:
        logger.warning("Export %s: lease lost to another worker; stopping", export_id)
        default_storage.delete(path)
    except Exception:
        logger.exception("Export %s failed", export_id)
        default_storage.delete(path)
        _fail(export, worker, "internal_error", "The export stopped on an internal error.")


def contact_export_resume_stale() -> list[str]:
    """Queue again every unfinished export whose worker stopped renewing its lease."""
    from .tasks import contact_export_run_task

    now = timezone.now()
    stale = list(
        ContactExport.objects.filter(
            Q(lease_expires_at__lt=now)
            | Q(lease_expires_at__isnull=True, created_at__lt=now - timedelta(minutes=1)),
            status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING],
        ).values_list("pk", flat=True)
    )
    for export_id in stale:
        contact_export_run_task.delay(export_id)
    return stale


def contact_exports_purge_expired() -> int:
    """Delete the files of exports past `expires_at`; the exports stay, as `expired`
    answers (410) rather than unknown ones (404). Returns how many files went."""
    expired = ContactExport.objects.filter(expires_at__lte=timezone.now()).exclude(file_path="")
    purged = 0
    for export in expired.only("pk", "file_path")[:1000]:
        default_storage.delete(export.file_path)
        ContactExport.objects.filter(pk=export.pk).update(file_path="")
        purged += 1
    return purged


# --- running ------------------------------------------------------------------------


def _write(export: ContactExport, worker: str, path: str) -> None:
    columns = export_columns_load(contact_definitions(tenant=export.tenant), export.columns)
    query = contact_export_query(export=export, columns=columns, tenant=export.tenant)
    with snapshot() as snap:
        export.total_rows = snap.count(query)
        _save_progress(export, worker, ["total_rows"])

        def progress(rows: int) -> None:
            export.processed_rows = rows
            _save_progress(export, worker, ["processed_rows"])

        rows = snap.rows(query)
        chunks = csv_chunks(
            rows,
            query=query,
            columns=columns,
            tag_names=snap.tag_names(export.tenant_id),
            vendor=connection.vendor,
            progress=progress,
        )
        try:
            with open_for_writing(path) as file:
                for chunk in chunks:
                    file.write(chunk)
        finally:
            # A write that stopped part way leaves a COPY open on the connection: end it
            # now, before anything else is said to the database.
            chunks.close()
            rows.close()
    export.file_path = path
    export.size_bytes = default_storage.size(path)
    _finish(export, worker)


def _lease_until():
    return timezone.now() + timedelta(seconds=settings.EXPORT_LEASE_SECONDS)


def _claim(export_id: str, worker: str) -> ContactExport | None:
    now = timezone.now()
    claimed = ContactExport.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
        pk=export_id,
        status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING],
    ).update(
        status=ExportStatus.RUNNING,
        lease_owner=worker,
        lease_expires_at=_lease_until(),
        attempts=F("attempts") + 1,
        started_at=now,
        processed_rows=0,
    )
    if not claimed:
        return None
    return ContactExport.objects.select_related("tenant").get(pk=export_id)


def _save_progress(export: ContactExport, worker: str, fields: list[str]) -> None:
    """Save progress and renew the lease, if it is still ours."""
    values = {name: getattr(export, name) for name in fields}
    renewed = ContactExport.objects.filter(pk=export.pk, lease_owner=worker).update(
        lease_expires_at=_lease_until(), **values
    )
    if not renewed:
        raise LeaseLost()


def _finish(export: ContactExport, worker: str) -> None:
    export.status, export.finished_at = ExportStatus.COMPLETED, timezone.now()
    export.expires_at = export.finished_at + timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    with transaction.atomic():
        fields = ["status", "finished_at", "expires_at", "file_path", "size_bytes"]
        if not _release(export, worker, [*fields, "processed_rows"]):
            default_storage.delete(export.file_path)  # another worker owns it now
            raise LeaseLost()
        _record_outcome(export, EventType.EXPORT_COMPLETED)


def _fail(export: ContactExport, worker: str, code: str, message: str) -> None:
    export.status, export.finished_at = ExportStatus.FAILED, timezone.now()
    export.failure_code, export.failure_message = code, message[:500]
    with transaction.atomic():
        if _release(export, worker, ["status", "finished_at", "failure_code", "failure_message"]):
            _record_outcome(export, EventType.EXPORT_FAILED)


def _release(export: ContactExport, worker: str, fields: list[str]) -> bool:
    values = {name: getattr(export, name) for name in fields}
    return bool(
        ContactExport.objects.filter(pk=export.pk, lease_owner=worker).update(
            lease_owner="", lease_expires_at=None, **values
        )
    )


def _record_outcome(export: ContactExport, type: str) -> None:
    event_record(
        tenant=export.tenant,
        type=type,
        data={"export": export_status_data(export)},
        origin=Origin(actor_id=export.created_by, source=export.source),
    )
