"""Webhook deliveries: throughput, and the time from a change's commit to its delivery.

Starts a receiver that answers 204 (a process of its own, keep-alive HTTP/1.1) and a
Celery worker with the project's default settings, subscribes one endpoint of a fresh
tenant to every event, then:

1. throughput: --changes contacts are created by --writers threads while no worker
   runs; then the worker starts and is told once; prints deliveries/s from then to
   the last delivery (fan-out included);
2. latency: --paced more, by one writer at --rate changes/s (a rate the worker keeps
   up with); prints p50/p95/max of commit → delivery.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_wt_webhooks \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/webhooks.py

Run on its own database (it is migrated first): it creates a tenant each run.
"""

import argparse
import os
import threading
import time

from _setup import django_setup, percentile, process_stop
from _webhooks import WORKER_ENV, Receiver, worker_start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--paced", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()

    os.environ.update(WORKER_ENV)
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    from contacts.services import contact_create
    from events.models import Event
    from flownally_admin.celery import app
    from flownally_admin.tenancy.models import Tenant
    from webhooks.models import WebhookDelivery
    from webhooks.services import endpoint_create
    from webhooks.tasks import webhooks_fan_out_task

    call_command("migrate", verbosity=0)
    receiver = Receiver()
    worker = None
    committed: dict[str, float] = {}  # contact id -> commit time

    def write(tenant, count: int, prefix: str, interval: float = 0.0) -> None:
        try:
            next_at = time.monotonic()
            for n in range(count):
                if interval:
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.monotonic()))
                contact = contact_create(tenant=tenant, created_by="system", name=f"{prefix}{n}")
                committed[contact.pk] = time.time()
        finally:
            connection.close()

    def delivered(tenant, count: int) -> None:
        succeeded = WebhookDelivery.objects.filter(tenant=tenant, status="succeeded")
        while succeeded.count() < count:
            time.sleep(0.1)

    try:
        port = receiver.port
        tenant = Tenant.objects.create(slug=f"webhooks-bench-{time.time_ns()}", name="bench")
        endpoint_create(tenant=tenant, url=f"http://127.0.0.1:{port}/hook", created_by="system")

        # 1. A backlog of changes, written while no worker runs, then drained by one.
        written_from = time.time()
        share = args.changes // args.writers
        threads = [
            threading.Thread(target=write, args=(tenant, share, f"Backlog {w}-"))
            for w in range(args.writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        write_seconds = time.time() - written_from
        backlog = set(committed)
        app.control.purge()  # the worker is told once, below
        worker = worker_start(app)
        drain_from = time.time()
        webhooks_fan_out_task.delay(tenant.pk)
        delivered(tenant, len(backlog))

        # 2. Changes at a pace the worker keeps up with.
        write(tenant, args.paced, "Paced ", interval=1 / args.rate)
        delivered(tenant, len(backlog) + args.paced)
        arrived = receiver.stop()
    finally:
        receiver.kill()
        if worker is not None:
            process_stop(worker)

    contact_of = dict(
        Event.objects.filter(tenant=tenant, type="contact.created").values_list("id", "contact_id")
    )
    drained = max(at for event_id, at in arrived.items() if contact_of[event_id] in backlog)
    paced = [
        at - committed[contact_of[event_id]]
        for event_id, at in arrived.items()
        if contact_of[event_id] not in backlog
    ]
    print(
        f"backlog: {len(backlog)} changes written by {args.writers} threads in "
        f"{write_seconds:.1f} s; delivered in {drained - drain_from:.1f} s: "
        f"{len(backlog) / (drained - drain_from):.0f} deliveries/s"
    )
    print(
        f"paced at {args.rate:.0f}/s: commit → delivery p50 {percentile(paced, 0.5) * 1000:.0f} "
        f"ms, p95 {percentile(paced, 0.95) * 1000:.0f} ms, max {max(paced) * 1000:.0f} ms "
        f"({len(paced)} deliveries)"
    )


if __name__ == "__main__":
    main()
