"""Creating an import from an upload, and running it in a worker.

Running is resumable and exactly-once: each batch's writes, its errors, the
counts and the checkpoint (byte offset and row number) commit in one
transaction, so a worker killed at any instant leaves the job at the end of
its last whole batch, and whoever resumes it continues from there. A worker
holds a lease on the job while it works; a lease that is not renewed lapses
and `contact_import_resume_stale` hands the job to another worker.
"""

import gc
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from itertools import chain

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    reset_queries,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone

from customfields.models import EntityType
from customfields.selectors import custom_field_definition_list
from events.context import Origin, event_origin
from events.services import NewEvent, event_record, events_append, events_prepare
from events.types import EventType, Source
from flownally_admin.errors import TooBusy, ViolationCollector
from flownally_admin.storage import open_stored
from flownally_admin.tenancy.models import Tenant

from ..models import (
    ContactImport,
    ContactImportDraft,
    ContactImportKey,
    ImportMode,
    ImportStatus,
)
from ..representation import import_status_data
from ..validation import ContactRules, check_tag_ids
from .checking import check_job, checked_batches
from .columns import map_columns
from .duplicates import DuplicatesProbe, import_duplicates_probe, import_duplicates_record
from .plan import ContactRef, plan_batch
from .reader import ImportLimitExceeded, count_rows
from .selectors import contact_import_columns
from .sniff import InvalidCsv, store_upload
from .writers import batch_rows, known_keys, write_batch

logger = logging.getLogger(__name__)

# Names of the file's tags the job keeps for its page: enough to say what was added, and
# one more to say there were more, without growing with a file of a thousand tags.
FILE_TAG_NAMES_KEPT = 20
PASS_ATTEMPTS = 3  # passes from the checkpoint, when a concurrent writer got in the way
TURN_POLL_SECONDS = 0.5


class TooManyImports(TooBusy):
    """A tenant's imports share the workers with everyone's; a few at a time each."""


class LeaseLost(Exception):
    """Another worker took the job over (ours stalled past its lease); stop quietly."""


def contact_import_create(
    *,
    tenant: Tenant,
    created_by: str,
    upload,
    mode: str = ImportMode.UPSERT,
    dry_run: bool = False,
    tag_ids: list[str] | None = None,
) -> ContactImport:
    """Check the options and the upload's head, store it as UTF-8 and queue the job (after
    commit). The one way a job is created, for the API and the admin (through
    `staging.contact_import_create_staged`) alike."""
    from ..tasks import contact_import_run_task

    unfinished = ContactImport.objects.filter(
        tenant=tenant, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
    ).count()
    if unfinished >= settings.IMPORT_MAX_CONCURRENT:
        raise TooManyImports(
            f"{unfinished} imports of this workspace are still queued or running; "
            "start another when one has finished."
        )
    rules = ContactRules.load(tenant, tag_ids=tag_ids)
    errors = ViolationCollector()
    tag_ids = check_tag_ids(tag_ids or [], rules, errors)
    errors.raise_if_any()
    read = contact_import_columns(tenant=tenant, upload=upload)
    shape, columns = read.shape, read.columns
    imp = ContactImport(
        tenant=tenant,
        created_by=created_by,
        file_name=os.path.basename(upload.name or "upload.csv")[:255],
        delimiter=shape.delimiter,
        header=shape.header,
        ignored_columns=columns.ignored,
        mode=mode,
        dry_run=dry_run,
        tag_ids=tag_ids,
    )
    imp.file_path, imp.file_size = store_upload(
        upload, shape, default_storage, f"imports/{tenant.pk}/{imp.pk}.csv"
    )
    imp.save(force_insert=True)
    transaction.on_commit(lambda: contact_import_run_task.delay(imp.pk))
    return imp


def contact_import_run(*, import_id: str) -> None:
    """Run (or resume) the import until it completes or fails; returns early if another
    worker holds it or it is already finished."""
    worker = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    imp = _claim(import_id, worker)
    if imp is None:
        return
    try:
        with (
            _no_cyclic_collection(),
            _lease_heartbeat(imp, worker),
            event_origin(actor_id=imp.created_by, source=Source.IMPORT),
        ):
            _run(imp, worker)
    except LeaseLost:
        logger.warning("Import %s: lease lost to another worker; stopping", import_id)
    except (OperationalError, InterfaceError):
        # The database went away under the import: nothing of the batch in flight was
        # committed. Hand the import back at once; the sweep resumes it from its checkpoint.
        logger.warning("Import %s: database connection lost; handing it back", import_id)
        _hand_back(imp, worker)
    except ImportLimitExceeded as exc:
        _fail(imp, worker, exc.code, exc.message)
    except Exception:
        logger.exception("Import %s failed", import_id)
        _fail(imp, worker, "internal_error", "The import stopped on an internal error.")


def contact_import_resume_stale() -> list[str]:
    """Queue again every unfinished import whose worker stopped renewing its lease."""
    from ..tasks import contact_import_run_task

    now = timezone.now()
    stale = list(
        ContactImport.objects.filter(
            Q(lease_expires_at__lt=now)
            | Q(lease_expires_at__isnull=True, created_at__lt=now - timedelta(minutes=1)),
            status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING],
        ).values_list("pk", flat=True)
    )
    for import_id in stale:
        contact_import_run_task.delay(import_id)
    return stale


# --- running ------------------------------------------------------------------------


@contextmanager
def _no_cyclic_collection():
    """Python's cyclic garbage collector off while an import runs, but for the young
    collections between batches (`_batch_done`).

    Rows become millions of short-lived lists, dicts and dataclasses, and the
    collector kept walking the batches in flight (half the worker's CPU, see
    bench/README.md). Reference counting frees them. What it cannot free are the
    few cycles a batch makes, and each holds a whole batch: an exception kept in a
    local (Django's `Query.setup_joins` keeps one whenever a lookup goes through a
    JSON key, as `known_keys` does on SQLite) ties its traceback to its frame, and a
    frame keeps its callers' frames, `known_keys(rows)` and its batch among them.
    Uncollected, every batch stayed: ~1.8 KB a row on SQLite.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect()


@contextmanager
def _lease_heartbeat(imp: ContactImport, worker: str):
    """Renew the lease every quarter of its length from a thread of its own, so that a
    short lease (a crash is noticed within seconds) never lapses under a live worker
    that is busy with a long step. Not inside an outer transaction (tests, eager tasks):
    another connection could not see the import there."""
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(settings.IMPORT_LEASE_SECONDS / 4):
                ContactImport.objects.filter(pk=imp.pk, lease_owner=worker).update(
                    lease_expires_at=_lease_until()
                )
        except DatabaseError:
            logger.warning("Import %s: lease heartbeat stopped", imp.pk, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"lease-{imp.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _hand_back(imp: ContactImport, worker: str) -> None:
    """Let the lease lapse now, on a fresh connection, so the sweep takes the import up
    again; if the database is still away, the lease lapses by itself."""
    connection.close()
    try:
        ContactImport.objects.filter(pk=imp.pk, lease_owner=worker).update(
            lease_expires_at=timezone.now()
        )
    except DatabaseError:
        logger.warning("Import %s: could not hand back yet; its lease will lapse", imp.pk)


def _lease_until():
    return timezone.now() + timedelta(seconds=settings.IMPORT_LEASE_SECONDS)


def _claim(import_id: str, worker: str) -> ContactImport | None:
    now = timezone.now()
    claimed = ContactImport.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
        pk=import_id,
        status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING],
    ).update(
        status=ImportStatus.RUNNING,
        lease_owner=worker,
        lease_expires_at=_lease_until(),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    imp = ContactImport.objects.select_related("tenant").get(pk=import_id)
    if imp.started_at is None:
        imp.started_at = now
        imp.save(update_fields=["started_at"])
    return imp


def _run(imp: ContactImport, worker: str) -> None:
    definitions = custom_field_definition_list(tenant=imp.tenant, entity_type=EntityType.CONTACT)
    try:
        columns = map_columns(imp.header, definitions)
    except InvalidCsv as exc:  # a field was renamed onto another column's meaning since upload
        _fail(imp, worker, "invalid_csv", exc.message)
        return
    rules = ContactRules.load(imp.tenant)
    with _tenant_turn(imp, worker):
        for attempt in range(PASS_ATTEMPTS):
            try:
                _import_from_checkpoint(imp, worker, columns, rules)
                break
            except IntegrityError:
                # Between a batch's planning and its write, a concurrent writer (the API)
                # took one of its identities or deleted one of its tags; nothing of that
                # batch was written. Go on from the last checkpoint, which plans it anew.
                imp.refresh_from_db()
                if attempt == PASS_ATTEMPTS - 1:
                    raise
    _finish(imp, worker)


@contextmanager
def _tenant_turn(imp: ContactImport, worker: str):
    """Run while no other import of the tenant runs (PostgreSQL).

    Each batch matches its rows against the contacts that exist when it is planned;
    two imports of one tenant interleaving would each miss the other's newest
    contacts and could create the same person twice. So they take turns, whole
    imports at a time, by a session-level advisory lock (released with the
    connection if the worker dies). The waiting one keeps renewing its lease.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [imp.tenant_id])
            if cursor.fetchone()[0]:
                break
            _save_progress(imp, worker, [])
            time.sleep(TURN_POLL_SECONDS)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [imp.tenant_id])


def _import_from_checkpoint(imp: ContactImport, worker: str, columns, rules) -> None:
    job = check_job(columns, rules, imp)
    # The stored file is UTF-8, and the checkpoint an offset in it (file_size is the upload's).
    left = default_storage.size(imp.file_path) - imp.checkpoint_offset
    in_process = left >= settings.IMPORT_CHECK_PROCESS_BYTES
    with (
        open_stored(imp.file_path) as file,
        checked_batches(job, file, in_process=in_process) as batches,
        _batch_writer() as write,
    ):
        if imp.total_rows is None:  # counted while the checker gets going
            imp.total_rows = _count_rows(imp)
            _save_progress(imp, worker, ["total_rows"])
        in_flight: dict[str, ContactRef] = {}
        for number, batch in enumerate(batches, start=1):
            # The lookups see every batch but the one still being written; that one's
            # keys come from its plan.
            known = known_keys(imp, batch)
            for key, ref in in_flight.items():
                known.setdefault(key, ref)
            plan = plan_batch(batch, mode=imp.mode, known=known)
            rows_of_batch = batch_rows(imp, plan)
            ahead = _Ahead.of(imp, plan)
            write(partial(_write_batch, imp, worker, batch, plan, rows_of_batch, ahead))
            in_flight = plan.new_keys
            _batch_done(number)


# On PostgreSQL, where batches make no known cycle, a young collection this often is the
# net under one that nobody has found yet (each costs about what one per batch would).
_COLLECT_EVERY_BATCHES = 8


def _batch_done(number: int) -> None:
    """Free what a batch left behind (see `_no_cyclic_collection`), on its thread.

    A young collection walks what was allocated since the last one and is still alive
    (tens of milliseconds for the batches in flight), where the batches' cycles are:
    after every batch on SQLite, whose lookups make one each; on PostgreSQL, whose
    lookups are raw SQL, every _COLLECT_EVERY_BATCHES (after each, they were ~7 % of the
    worker's CPU there; bench/README.md). And Django's log of queries (kept when DEBUG
    is on, outside requests too) is emptied: its last 9,000 queries would be whole
    batches of bulk inserts, their parameters spelled out.
    """
    reset_queries()
    if connection.vendor != "postgresql" or number % _COLLECT_EVERY_BATCHES == 0:
        gc.collect(0)


def _count_rows(imp: ContactImport) -> int:
    with open_stored(imp.file_path) as file:
        return count_rows(file, delimiter=imp.delimiter, max_rows=settings.IMPORT_MAX_ROWS)


@contextmanager
def _batch_writer():
    """`write(job)`: run a batch's transaction, overlapped with planning the next one.

    On PostgreSQL the transactions run on a thread of their own, with a connection of
    its own, one at a time: while PostgreSQL writes one batch, this thread looks up
    and plans the next (one after the other, they kept one core of two busy). `write`
    first waits for the previous batch, so at most one is in flight and its error is
    raised here, before anything else is planned. Inside an outer transaction (a
    test, an eager task) a second connection could not see what it holds: batches are
    then written here, one after the other, as on other databases.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield lambda job: job()
        return
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
    previous = None

    def write(job):
        nonlocal previous
        if previous is not None:
            previous.result()
        previous = writer.submit(job)

    try:
        yield write
        if previous is not None:
            previous.result()
    finally:
        if previous is not None:
            wait([previous])  # a batch still being written when planning failed ends first
        writer.submit(connections.close_all).result()
        writer.shutdown()


@dataclass(frozen=True)
class _Ahead:
    """What a batch's transaction needs that its new contacts decide alone, worked out on
    the planning thread while the batch before is being written: the transactions, one
    after the other, are the import's longest chain, and preparing these in them cost
    each 100,000 rows ~1.5 s of it (bench/README.md, "Events in an import's batch").
    Updates are left to the transaction: it drops those that change nothing."""

    duplicates: DuplicatesProbe
    created_tag_names: list[str]  # as `_with_file_tag_names` meets them, at most enough

    @classmethod
    def of(cls, imp: ContactImport, plan) -> "_Ahead":
        if not imp.dry_run:
            plan.created_events = events_prepare(
                [_contact_event(EventType.CONTACT_CREATED, imp, cid) for cid in plan.creates],
                origin=_origin(imp),
            )
        return cls(
            import_duplicates_probe(imp, plan),
            _with_file_tag_names([], _tag_names_met(plan.creates)),
        )


def _write_batch(imp: ContactImport, worker: str, batch, plan, rows, ahead: _Ahead) -> None:
    """One batch's writes, counts and checkpoint, in one transaction."""
    with transaction.atomic():
        write_batch(imp, plan, rows)
        imp.possible_duplicates += import_duplicates_record(imp, ahead.duplicates)
        imp.processed_rows += len(batch)
        imp.created_count += plan.created
        imp.updated_count += plan.updated
        imp.skipped_count += plan.skipped
        imp.failed_count += plan.failed
        imp.error_count += len(plan.errors)
        imp.checkpoint_offset = batch[-1].end_offset
        imp.checkpoint_row = batch[-1].number
        fields = [
            "processed_rows",
            "created_count",
            "updated_count",
            "skipped_count",
            "failed_count",
            "error_count",
            "possible_duplicates",
            "checkpoint_offset",
            "checkpoint_row",
        ]
        tag_names = _with_file_tag_names(
            imp.file_tag_names, chain(ahead.created_tag_names, _tag_names_met(plan.updates))
        )
        if tag_names != imp.file_tag_names:
            imp.file_tag_names = tag_names
            fields.append("file_tag_names")
        _save_progress(imp, worker, fields)
        if not imp.dry_run:
            _record_contact_events(imp, plan)
    reset_queries()  # the writer thread's own connection (PostgreSQL): see `_batch_done`


def _with_file_tag_names(kept: list[str], met: Iterable[str]) -> list[str]:
    """`kept` and the tag names `met`, each once whatever its case, in the order met, up to
    FILE_TAG_NAMES_KEPT + 1. Saved with the batch, so a batch written again after a
    rollback does not count twice."""
    names, seen = list(kept), {name.lower() for name in kept}
    for name in met:
        if len(names) > FILE_TAG_NAMES_KEPT:
            return names
        if name.lower() not in seen:
            seen.add(name.lower())
            names.append(name)
    return names


def _tag_names_met(changes: dict) -> Iterator[str]:
    """The tag names of the batch's contacts `changes`, each contact's in the file's order."""
    for change in changes.values():
        yield from change.tag_names


def _record_contact_events(imp: ContactImport, plan) -> None:
    """One event per contact the batch created or changed, carrying only the ids: a
    consumer fetches the contact (a batch is thousands of contacts). The created ones'
    were prepared with the batch (`_Ahead`); the updates' are known only now."""
    updated = events_prepare(
        [_contact_event(EventType.CONTACT_UPDATED, imp, cid) for cid in plan.updates],
        origin=_origin(imp),
    )
    events_append(tenant=imp.tenant, prepared=plan.created_events + updated)


def _contact_event(type: str, imp: ContactImport, contact_id: str) -> NewEvent:
    return NewEvent(type, {"contactId": contact_id, "importId": imp.pk}, contact_id)


def _origin(imp: ContactImport) -> Origin:
    return Origin(actor_id=imp.created_by, source=Source.IMPORT)


def _save_progress(imp: ContactImport, worker: str, fields: list[str]) -> None:
    """Save progress and renew the lease, if it is still ours."""
    imp.lease_expires_at = _lease_until()
    values = {name: getattr(imp, name) for name in fields}
    renewed = ContactImport.objects.filter(pk=imp.pk, lease_owner=worker).update(
        lease_expires_at=imp.lease_expires_at, **values
    )
    if not renewed:
        raise LeaseLost()


def _finish(imp: ContactImport, worker: str) -> None:
    with transaction.atomic():
        if imp.dry_run:
            ContactImportKey.objects.filter(contact_import=imp).delete()
            ContactImportDraft.objects.filter(contact_import=imp).delete()
        imp.status, imp.finished_at = ImportStatus.COMPLETED, timezone.now()
        _release(imp, worker, ["status", "finished_at"])
        _record_outcome(imp, EventType.IMPORT_COMPLETED)


def _fail(imp: ContactImport, worker: str, code: str, message: str) -> None:
    with transaction.atomic():
        ContactImportKey.objects.filter(contact_import=imp).delete()
        ContactImportDraft.objects.filter(contact_import=imp).delete()
        imp.status, imp.finished_at = ImportStatus.FAILED, timezone.now()
        imp.failure_code, imp.failure_message = code, message[:500]
        _release(imp, worker, ["status", "finished_at", "failure_code", "failure_message"])
        _record_outcome(imp, EventType.IMPORT_FAILED)


def _record_outcome(imp: ContactImport, type: str) -> None:
    event_record(
        tenant=imp.tenant, type=type, data={"import": import_status_data(imp)}, origin=_origin(imp)
    )


def _release(imp: ContactImport, worker: str, fields: list[str]) -> None:
    values = {name: getattr(imp, name) for name in fields}
    ContactImport.objects.filter(pk=imp.pk, lease_owner=worker).update(
        lease_owner="", lease_expires_at=None, **values
    )
