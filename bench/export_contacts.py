"""End-to-end export speed: request → downloadable file, then the download, on the `bench`
tenant (bench/seed_contacts.py).

Starts gunicorn and one Celery worker (solo pool, the `imports` queue) itself, against
DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis). Exports every active contact, a
tenth of them (one tag of the seed's twenty, with a date range) and a small one (the
oldest tenth, by `createdBefore`), each `--repeat` times; prints for each the seconds from
the POST to `completed`, rows/s, the download's seconds and size, and the worker's peak
RSS after each (its high-water mark: flat if a small export and the full one peak alike).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/export_contacts.py
"""

import argparse
import http.client
import json
import os
import sys
import time

from _setup import django_setup, percentile
from import_contacts import PORT, peak_rss_mb, start_web_and_worker, wait_for_port

POLL_SECONDS = 0.25


def request(method: str, path: str, token: str, body: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    connection.request(
        method, path, body=json.dumps(body) if body is not None else None, headers=headers
    )
    return connection.getresponse()


def export(token: str, filters: dict) -> tuple[dict, float, float, int]:
    """(final status, seconds to completed, seconds to download, bytes downloaded)."""
    started = time.monotonic()
    response = request("POST", "/v1/contacts/exports", token, filters)
    accepted = json.loads(response.read())
    if response.status != 202:
        raise SystemExit(f"export refused: {response.status} {accepted}")
    while True:
        status = request("GET", f"/v1/contacts/exports/{accepted['id']}", token)
        body = json.loads(status.read())
        if body["status"] in ("completed", "failed"):
            break
        time.sleep(POLL_SECONDS)
    ready = time.monotonic() - started
    if body["status"] != "completed":
        raise SystemExit(f"export failed: {body}")
    started = time.monotonic()
    response = request("GET", f"/v1/contacts/exports/{accepted['id']}/file", token)
    size = 0
    while chunk := response.read(1 << 20):
        size += len(chunk)
    return body, ready, time.monotonic() - started, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://… (and CELERY_BROKER_URL=redis://…)")

    django_setup()
    from contacts.models import Contact
    from flownally_admin.tenancy.models import Tenant
    from flownally_admin.tenancy.services import api_key_create, service_account_get_or_create
    from tags.models import Tag

    tenant = Tenant.objects.get(slug="bench")
    account = service_account_get_or_create(tenant=tenant, name="bench")
    _, token = api_key_create(service_account=account, role="owner")
    tag = Tag.objects.filter(tenant=tenant).order_by("name").first()
    live = Contact.objects.filter(tenant=tenant, deleted_at__isnull=True, archived=False)
    by_age = live.order_by("created_at").values_list("created_at", flat=True)
    tenth = by_age[live.count() // 10].isoformat()
    cases = {
        "small (oldest tenth)": {"createdBefore": tenth},
        "filtered (one tag of 20)": {"tagIds": [tag.pk]},
        "all active": {},
    }

    web, worker = start_web_and_worker(EXPORT_MAX_CONCURRENT="100")
    try:
        wait_for_port(time.monotonic() + 60)
        print(
            f"{'export':<26}{'rows':>10}{'ready s':>9}{'rows/s':>10}{'download s':>12}"
            f"{'MB':>7}{'worker peak MB':>16}"
        )
        for name, filters in cases.items():
            ready_times = []
            for _ in range(args.repeat):
                body, ready, download, size = export(token, filters)
                ready_times.append(ready)
                print(
                    f"{name:<26}{body['totalRows']:>10,}{ready:>9.2f}"
                    f"{body['totalRows'] / ready:>10,.0f}{download:>12.2f}"
                    f"{size / 1e6:>7.0f}{peak_rss_mb(worker.pid):>16.0f}"
                )
            if args.repeat > 1:
                print(f"{name:<26}{'median':>10}{percentile(ready_times, 0.5):>9.2f}")
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
