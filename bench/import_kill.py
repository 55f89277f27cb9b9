"""Crash recovery of an import: kill the worker mid-file, time kill → resumed → completed.

Starts gunicorn, one Celery beat and a Celery worker as the README's production
commands do (prefork, the three queues), against DATABASE_URL (PostgreSQL) and
CELERY_BROKER_URL (Redis), their files in a temporary FLOWNALLY_VAR_DIR. Uploads
the file of bench/import_contacts.py and, once --kill-at rows are done, SIGKILLs
the worker: with --kill worker (the default) the whole worker, pool and checking
process included, as a machine or container would go, and starts a new one at
once; with --kill pool only the pool process that runs the import, as the
out-of-memory killer would, and the worker replaces it by itself.

Prints the seconds from the kill until the import moves again (its processedRows
passes what it was at the kill) and until it has completed, and checks that no row
was lost or imported twice: every row counted once, one contact per good row, no
e-mail or identity twice, and one contact.created event per contact.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/import_kill.py --rows 200000
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import import_contacts as common
from _setup import ROOT, django_setup
from import_embedded import _children, _cpu_seconds, _free_port

POLL_SECONDS = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--kill-at", type=int, help="rows done at the kill (default: a third)")
    parser.add_argument("--kill", choices=["worker", "pool"], default="worker")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://… (and CELERY_BROKER_URL=redis://…)")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        sys.exit("set CELERY_BROKER_URL=redis://…")
    with tempfile.TemporaryDirectory(prefix="flownally-kill-") as scratch:
        os.environ.update(
            FLOWNALLY_VAR_DIR=scratch,
            CELERY_TASK_ALWAYS_EAGER="false",
            ALLOWED_HOSTS="127.0.0.1",
            LOG_LEVEL="WARNING",
        )
        django_setup()
        run(args.rows, args.kill_at or args.rows // 3, args.kill, Path(scratch))


def _start_worker() -> subprocess.Popen:
    """A worker as in production, in a process group of its own: a kill reaches it whole."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "flownally_admin", "worker"),
            *("-Q", "celery,imports,webhooks", "--loglevel=WARNING"),
        ],
        cwd=ROOT,
        start_new_session=True,
    )


def run(rows: int, kill_at: int, kill: str, scratch: Path) -> None:
    from django.conf import settings

    from contacts.models import ContactImport

    token, tenant = _tenant()
    common.PORT = _free_port()
    web = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "flownally_admin.wsgi"),
            *("-b", f"127.0.0.1:{common.PORT}", "-w", "1", "--timeout", "600"),
            *("--log-level", "warning"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,  # gunicorn.conf.py logs each request there
    )
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "flownally_admin", "beat", "--loglevel=WARNING"],
        cwd=ROOT,
    )
    workers = [_start_worker()]
    problems = []
    try:
        common.wait_for_port(time.monotonic() + 60)
        path = scratch / f"contacts-{rows}.csv"
        common.write_csv(path, rows)
        started = time.monotonic()
        import_id = common.upload(path, token)

        def current() -> ContactImport:
            return ContactImport.objects.get(pk=import_id)

        while (imp := current()).processed_rows < kill_at:
            if imp.status != "running" and imp.status != "queued":
                sys.exit(f"the import ended ({imp.status}) before {kill_at:,} rows: kill sooner")
            time.sleep(POLL_SECONDS)
        before_kill = time.monotonic() - started
        killed = _kill(workers[0], kill)
        killed_at = time.monotonic()
        if kill == "worker":
            workers.append(_start_worker())
        at_kill = current()
        resumed_at = None
        while (imp := current()).status not in ("completed", "failed"):
            if resumed_at is None and imp.processed_rows > at_kill.processed_rows:
                resumed_at = time.monotonic()
            time.sleep(POLL_SECONDS)
        completed_at = time.monotonic()
        resumed_at = resumed_at or completed_at
        print(f"file: {rows:,} rows; killed the {kill} ({killed}) at {at_kill.processed_rows:,}")
        print(
            f"lease {settings.IMPORT_LEASE_SECONDS} s, renewed every "
            f"{settings.IMPORT_LEASE_SECONDS / 4:g} s; beat's sweep every "
            f"{settings.CELERY_BEAT_SCHEDULE['resume-stale-contact-imports']['schedule']:g} s"
        )
        print(f"upload to kill: {before_kill:.1f} s")
        print(f"kill -> resumed (processedRows moves again): {resumed_at - killed_at:.1f} s")
        print(f"kill -> completed: {completed_at - killed_at:.1f} s")
        print(f"status: {imp.status} {imp.failure_code}, attempts {imp.attempts}")
        problems = _check(imp, rows, tenant)
        for problem in problems:
            print(f"PROBLEM: {problem}")
        print("no row lost or duplicated" if not problems else f"{len(problems)} problems")
    finally:
        for process in (web, beat, *workers):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=60)
    if problems:
        sys.exit(1)


def _kill(worker: subprocess.Popen, kill: str) -> str:
    if kill == "worker":
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        return f"process group {worker.pid}"
    pool = max(_children(worker.pid), key=_cpu_seconds)  # the busy one runs the import
    os.kill(pool, signal.SIGKILL)
    return f"pool process {pool}"


def _tenant():
    from customfields.services import custom_field_definition_create
    from flownally_admin.tenancy.services import (
        api_key_create,
        service_account_get_or_create,
        tenant_get_or_create,
    )

    tenant = tenant_get_or_create(slug=f"import-kill-{int(time.time())}")
    for name, type_ in [("Renewal", "date"), ("Plan", "text")]:
        custom_field_definition_create(
            tenant=tenant, entity_type="contact", name=name, type=type_, created_by="system"
        )
    account = service_account_get_or_create(tenant=tenant, name="bench")
    _, token = api_key_create(service_account=account, role="owner")
    return token, tenant


def _check(imp, rows: int, tenant) -> list[str]:
    """What an uninterrupted import of common.write_csv's file gives: every good row a new
    contact (its e-mails, phones and WhatsApp numbers are all distinct), each bad one an
    error, each contact one contact.created event."""
    from django.db.models import Count

    from contacts.models import Contact, ContactImportError, Identity
    from events.models import Event

    bad = sum(1 for n in range(rows) if n % 100 == 99)
    contacts = Contact.objects.filter(tenant=tenant)
    found = {
        "status": imp.status,
        "processed": imp.processed_rows,
        "created": imp.created_count,
        "failed": imp.failed_count,
        "contacts": contacts.count(),
        "rows with errors": ContactImportError.objects.filter(contact_import=imp)
        .values("row")
        .distinct()
        .count(),
        # The tenant is new: its contacts and their events are all the import's.
        "contact.created events": Event.objects.filter(
            tenant=tenant, type="contact.created"
        ).count(),
        "contacts with one": Event.objects.filter(tenant=tenant, type="contact.created")
        .values("contact_id")
        .distinct()
        .count(),
    }
    expected = {
        "status": "completed",
        "processed": rows,
        "created": rows - bad,
        "failed": bad,
        "contacts": rows - bad,
        "rows with errors": bad,
        "contact.created events": rows - bad,
        "contacts with one": rows - bad,
    }
    problems = [
        f"{what}: {found[what]}, expected {expected[what]}"
        for what in expected
        if found[what] != expected[what]
    ]
    twice = (
        contacts.values("custom_fields__cf_email").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    if twice:
        problems.append(f"{twice} e-mails held by more than one contact")
    identities_twice = (
        Identity.objects.filter(tenant=tenant)
        .values("channel", "external_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    if identities_twice:
        problems.append(f"{identities_twice} identities held twice")
    return problems


if __name__ == "__main__":
    main()
