"""Reading the event log: the sync feed end to end, and a contact's history.

Seeds the tenant's log up to --events events (ten `contact.updated` per contact, for its
oldest contacts, with a realistic contact document as data) unless it holds that many,
then reads the whole feed through the API (`GET /v1/events`, pages of --page-size,
following `nextAfter`) and a contact's history's first page.

The reads are in-process (Django's test client) unless --http: then over HTTP from
gunicorn (one worker, production settings) started here, a new connection per request
as its sync worker closes each, and each page parsed as a consumer would. In-process,
the reader's own work (the test client, its parsed pages, their garbage collections)
shares the server's process and counts in its figures; over HTTP the reader is this
process and the server another, as for a consumer.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
        .venv/bin/python bench/events_feed.py --events 1000000 [--http]
"""

import argparse
import gc
import http.client
import json
import time
from urllib.parse import urlencode

from _setup import django_setup, percentile, process_stop
from _web import HOST, web_start

PER_CONTACT = 10

SEED_SQL = """
INSERT INTO events_event
    (tenant_id, sequence, id, type, occurred_at, actor_id, api_key_id, source, trace_id,
     contact_id, data)
SELECT %(tenant)s, %(first)s + n - 1, 'evt_' || upper(lpad(to_hex(%(first)s + n - 1), 26, '0')),
       'contact.updated', now() - interval '1 day' + n * interval '1 ms', 'svc_bench', '',
       'api', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', c.id,
       jsonb_build_object(
           'contact', jsonb_build_object(
               'id', c.id, 'name', c.name, 'identities', '[]'::jsonb, 'tags', '[]'::jsonb,
               'customFields', jsonb_build_array(jsonb_build_object(
                   'id', 'cf_email', 'name', 'Email', 'type', 'text',
                   'value', c.custom_fields ->> 'cf_email')),
               'archived', c.archived, 'archivedAt', null,
               'createdAt', c.created_at, 'updatedAt', c.updated_at),
           'changes', jsonb_build_object(
               'name', jsonb_build_object('from', c.name, 'to', c.name || ' ' || n)))
FROM generate_series(1, %(count)s) AS n
JOIN (
    SELECT id, name, custom_fields, archived, created_at, updated_at,
           row_number() OVER (ORDER BY created_at, id) AS position
    FROM contacts_contact
    WHERE tenant_id = %(tenant)s AND deleted_at IS NULL
    ORDER BY created_at, id
    LIMIT %(contacts)s
) AS c ON c.position = (n - 1) %% %(contacts)s + 1
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--http", action="store_true", help="read over HTTP from gunicorn")
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args()

    django_setup()
    from django.db import connection, transaction

    from events.models import Event
    from events.services import event_sequences_take
    from flownally_admin.tenancy.models import ServiceAccount, Tenant
    from flownally_admin.tenancy.services import api_key_create, api_key_revoke

    tenant = Tenant.objects.get(slug=args.tenant)
    have = Event.objects.filter(tenant=tenant).count()
    if have < args.events:
        missing = args.events - have
        started = time.perf_counter()
        with transaction.atomic():
            first = event_sequences_take(tenant_id=tenant.pk, count=missing)
            with connection.cursor() as cursor:
                cursor.execute(
                    SEED_SQL,
                    {
                        "tenant": tenant.pk,
                        "first": first,
                        "count": missing,
                        "contacts": max(1, args.events // PER_CONTACT),
                    },
                )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE events_event")
        print(f"seeded {missing:,} events in {time.perf_counter() - started:.1f} s")

    account, _ = ServiceAccount.objects.get_or_create(tenant=tenant, name="bench")
    key, token = api_key_create(service_account=account, role="owner")
    print(f"tenant {args.tenant!r}: {Event.objects.filter(tenant=tenant).count():,} events")
    # For the histories: contacts with PER_CONTACT events each.
    contact_ids = list(
        Event.objects.filter(tenant=tenant, type="contact.updated")
        .order_by("sequence")
        .values_list("contact_id", flat=True)[: args.repeat]
    )
    try:
        if args.http:
            connection.close()  # the server has the database to itself during the reads
            # This process's heap (Django, loaded to seed) is not a consumer's: frozen, the
            # collections that the parsed pages set off do not walk it again and again.
            gc.freeze()
            web = web_start(args.port)
            try:
                read_all(http_get(args.port, token), args.page_size, contact_ids)
            finally:
                process_stop(web)
        else:
            read_all(in_process_get(token), args.page_size, contact_ids)
    finally:
        api_key_revoke(key=key)


def in_process_get(token: str):
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(url: str, params: dict) -> dict:
        response = client.get(url, params)
        if response.status_code != 200:
            raise SystemExit(f"{url} {params}: {response.status_code} {response.content[:500]}")
        return response.json()

    return get


def http_get(port: int, token: str):
    def get(url: str, params: dict) -> dict:
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            connection.request(
                "GET",
                f"{url}?{urlencode(params)}" if params else url,
                headers={"Authorization": f"Bearer {token}"},
            )
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise SystemExit(f"{url} {params}: {response.status} {content[:500]}")
        return json.loads(content)

    return get


def read_all(get, page_size: int, contact_ids: list[str]) -> None:
    """The whole feed, as a new consumer reads it; then each contact's history's first
    page, read twice (the second read is measured)."""
    after, read, pages = 0, 0, []
    started = time.perf_counter()
    while True:
        page_started = time.perf_counter()
        body = get("/v1/events", {"after": after, "pageSize": page_size})
        pages.append((time.perf_counter() - page_started) * 1000)
        if not body["events"]:
            break
        read += len(body["events"])
        after = body["nextAfter"]
    elapsed = time.perf_counter() - started
    print(
        f"feed: {read:,} events in {elapsed:.1f} s -> {read / elapsed:,.0f} events/s "
        f"(pages of {page_size}: p50 {percentile(pages, 0.5):.1f} ms, "
        f"p95 {percentile(pages, 0.95):.1f} ms)"
    )

    samples = []
    for contact_id in contact_ids:
        get(f"/v1/contacts/{contact_id}/history", {})  # warm
        started = time.perf_counter()
        body = get(f"/v1/contacts/{contact_id}/history", {})
        samples.append((time.perf_counter() - started) * 1000)
    print(
        f"history first page ({len(body['events'])} events): "
        f"p50 {percentile(samples, 0.5):.1f} ms, p95 {percentile(samples, 0.95):.1f} ms "
        f"over {len(samples)} contacts"
    )


if __name__ == "__main__":
    main()
