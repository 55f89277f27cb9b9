"""CSV import on the embedded default (`make run`): SQLite, the filesystem broker, a real worker.

Everything lives in a folder of embedded state of its own (FLOWNALLY_VAR_DIR: a
temporary one, or --var-dir), with DATABASE_URL and CELERY_BROKER_URL unset, as
`make run` has them. Migrates; starts gunicorn, and the worker as scripts/run-dev
starts it (beat embedded, a prefork pool of 2, the three queues); creates a tenant;
generates the file of bench/import_contacts.py; uploads it; polls until done.

Prints rows/s and the memory of the worker's pool process that runs the import
(the largest of the worker's children), sampled from /proc at each poll: its RSS
each time another 100,000 rows are done, its peak (VmHWM), and what it keeps after
the import; its CPU time; and the largest RSS seen of its checking process.

    .venv/bin/python bench/import_embedded.py --rows 1000000            # DJANGO_DEBUG off
    .venv/bin/python bench/import_embedded.py --rows 1000000 --debug    # on, as make run's .env
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import import_contacts as common
from _setup import ROOT, django_setup

MILESTONE_ROWS = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--debug", action="store_true", help="DJANGO_DEBUG=true, as make run")
    parser.add_argument("--var-dir", help="the embedded state's folder (default: a new one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flownally-embedded-") as scratch:
        _embedded_environment(Path(args.var_dir or scratch), debug=args.debug)
        django_setup()
        run(args.rows, Path(scratch))


def _embedded_environment(var_dir: Path, *, debug: bool) -> None:
    """This process's environment, which the servers it starts inherit."""
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    os.environ.update(
        FLOWNALLY_VAR_DIR=str(var_dir),
        DJANGO_DEBUG="true" if debug else "false",
        CELERY_TASK_ALWAYS_EAGER="false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )


def run(rows: int, scratch: Path) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from customfields.services import custom_field_definition_create
    from flownally_admin.tenancy.services import (
        api_key_create,
        service_account_get_or_create,
        tenant_get_or_create,
    )

    call_command("migrate", verbosity=0)
    tenant = tenant_get_or_create(slug=f"import-embedded-{int(time.time())}")
    for name, type_ in [("Renewal", "date"), ("Plan", "text")]:
        custom_field_definition_create(
            tenant=tenant, entity_type="contact", name=name, type=type_, created_by="system"
        )
    account = service_account_get_or_create(tenant=tenant, name="bench")
    _, token = api_key_create(service_account=account, role="owner")

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
    worker = subprocess.Popen(  # scripts/run-dev's worker
        [
            *(sys.executable, "-m", "celery", "-A", "flownally_admin", "worker", "--beat"),
            *("-Q", "celery,imports,webhooks", "--concurrency=2", "--loglevel=WARNING"),
        ],
        cwd=ROOT,
    )
    try:
        common.wait_for_port(time.monotonic() + 60)
        path = scratch / f"contacts-{rows}.csv"
        common.write_csv(path, rows)
        size_mb = path.stat().st_size / 1e6
        started = time.monotonic()
        import_id = common.upload(path, token)
        pool_rss = checker_rss = 0.0
        at_milestone: list[tuple[int, float]] = []
        while True:
            body = common.status(import_id, token)
            pool = _children(worker.pid)
            current = max(map(common.rss_mb, pool), default=0.0)
            pool_rss = max(pool_rss, current)
            checker_rss = max(
                [checker_rss, *(common.rss_mb(c) for p in pool for c in _children(p))]
            )
            while body["processedRows"] >= MILESTONE_ROWS * (len(at_milestone) + 1):
                at_milestone.append((MILESTONE_ROWS * (len(at_milestone) + 1), current))
            if body["status"] in ("completed", "failed"):
                break
            time.sleep(common.POLL_SECONDS)
        elapsed = time.monotonic() - started
        peak = max(map(common.peak_rss_mb, _children(worker.pid)))
        cpu = max(map(_cpu_seconds, _children(worker.pid)))
        time.sleep(2)  # what the pool process keeps once the import has ended
        after = max(map(common.rss_mb, _children(worker.pid)))
        print(f"embedded default: SQLite, filesystem broker, DEBUG={settings.DEBUG}")
        print(f"file: {rows:,} rows, {size_mb:.1f} MB")
        print(f"status: {body['status']} {body['failure'] or ''}")
        print(
            f"created {body['createdCount']:,}  updated {body['updatedCount']:,}  "
            f"skipped {body['skippedCount']:,}  failed {body['failedCount']:,}"
        )
        print(f"total: {elapsed:.2f} s  ->  {rows / elapsed:,.0f} rows/s")
        print(f"worker pool process CPU: {cpu:.1f} s ({cpu / rows * 1e5:.1f} s per 100,000 rows)")
        print("worker pool process RSS by rows done:")
        for done, rss in at_milestone:
            print(f"  {done:>9,}  {rss:6.0f} MB")
        print(f"worker pool process peak RSS: {peak:.0f} MB (largest sampled {pool_rss:.0f} MB)")
        print(f"worker pool process RSS after the import: {after:.0f} MB")
        print(f"checking process RSS (largest seen): {checker_rss:.0f} MB")
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=60)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except FileNotFoundError:
        return []


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time so far: less at the mercy of a busy machine than rows/s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
