"""Server-side latency of the contact list, search, filters and count on a seeded tenant.

Requests go through the whole Django stack in-process (middleware, API-key
authentication, filters, keyset pagination, serialization), so the figures are
server time without network. Seed first with bench/seed_contacts.py.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
        .venv/bin/python bench/contacts_api.py --repeat 50
"""

import argparse
import time

from _setup import django_setup, percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--deep", type=int, default=10_000, help="rows before the deep page")
    args = parser.parse_args()

    django_setup()
    from django.test import Client

    from contacts.models import Contact
    from customfields.models import CustomFieldDefinition
    from flownally_admin.tenancy.models import ServiceAccount, Tenant
    from flownally_admin.tenancy.services import api_key_create
    from tags.models import Tag

    tenant = Tenant.objects.get(slug=args.tenant)
    account, _ = ServiceAccount.objects.get_or_create(tenant=tenant, name="bench")
    _, token = api_key_create(service_account=account, role="owner")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    total = Contact.objects.filter(tenant=tenant, deleted_at__isnull=True).count()
    vip = Tag.objects.get(tenant=tenant, name="VIP").pk
    plan = CustomFieldDefinition.objects.get(tenant=tenant, name="Plan").public_id
    # A real phone and e-mail from the middle of the data, typed the way people type them.
    middle = Contact.objects.filter(tenant=tenant, custom_fields__has_key="cf_phone").order_by(
        "created_at"
    )[total // 3]
    phone = middle.custom_fields["cf_phone"]
    typed_phone = f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"
    email = middle.custom_fields["cf_email"]
    live = Contact.objects.filter(tenant=tenant, deleted_at__isnull=True)
    recent = live.order_by("-updated_at")[total // 100].updated_at.isoformat()

    def get(url, params=None):
        response = client.get(url, params or {})
        if response.status_code != 200:
            raise SystemExit(f"{url} {params}: {response.status_code} {response.content[:500]}")
        return response.json()

    # Walk `--deep` rows in 200-row pages to get the token of the page that starts there.
    token_deep, walked = None, 0
    while walked < args.deep:
        body = get(
            "/v1/contacts", {"pageSize": 200, **({"pageToken": token_deep} if token_deep else {})}
        )
        token_deep, walked = body["nextPageToken"], walked + 200

    scenarios = {
        "first page (50)": ("/v1/contacts", {}),
        f"page {args.deep:,} rows deep (50)": ("/v1/contacts", {"pageToken": token_deep}),
        "first page (200)": ("/v1/contacts", {"pageSize": 200}),
        f"page {args.deep:,} rows deep (200)": (
            "/v1/contacts",
            {"pageSize": 200, "pageToken": token_deep},
        ),
        "order by name": ("/v1/contacts", {"orderBy": "name", "orderDirection": "asc"}),
        "search full name 'grace hopper'": ("/v1/contacts", {"search": "grace hopper"}),
        "search surname 'lovelace'": ("/v1/contacts", {"search": "lovelace"}),
        f"search phone '{typed_phone}'": ("/v1/contacts", {"search": typed_phone}),
        "search e-mail 'user99999@'": ("/v1/contacts", {"search": "user99999@"}),
        "search tag name 'vip'": ("/v1/contacts", {"search": "vip"}),
        "search no match 'zzqx'": ("/v1/contacts", {"search": "zzqx"}),
        "search worst case 'lovelace 12'": ("/v1/contacts", {"search": "lovelace 12"}),
        "tag filter (VIP)": ("/v1/contacts", {"tagIds": vip}),
        "custom-field filter (Plan=pro)": ("/v1/contacts", {f"customFields[{plan}]": "pro"}),
        "custom-field filter (cf_email, 1 hit)": (
            "/v1/contacts",
            {"customFields[cf_email]": email},
        ),
        "channel filter (instagram)": ("/v1/contacts", {"channels": "instagram"}),
        "archived contacts": ("/v1/contacts", {"archived": "true"}),
        "updatedAfter (newest 1%)": ("/v1/contacts", {"updatedAfter": recent}),
        "updatedAfter, oldest change first": (
            "/v1/contacts",
            {"updatedAfter": recent, "orderBy": "updatedAt", "orderDirection": "asc"},
        ),
        "count": ("/v1/contacts/count", {}),
        "count archived": ("/v1/contacts/count", {"archived": "true"}),
    }
    print(f"tenant {args.tenant!r}: {total:,} live contacts; {args.repeat} requests each\n")
    print(f"{'scenario':<40} {'p50 ms':>8} {'p95 ms':>8} {'rows':>6}")
    for label, (url, params) in scenarios.items():
        get(url, params)  # warm the plan and the cache once
        samples, rows = [], 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            body = get(url, params)
            samples.append((time.perf_counter() - started) * 1000)
            rows = len(body.get("contacts", [])) if "contacts" in body else body["count"]
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        print(f"{label:<40} {p50:8.1f} {p95:8.1f} {rows:>6}")


if __name__ == "__main__":
    main()
