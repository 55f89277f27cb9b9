"""Server-side latency of GET /contacts/{id}/duplicates and POST /contacts/{id}/merge on a
seeded tenant (contract §11), in-process like bench/contacts_api.py.

Duplicates are asked of contacts sampled across the tenant, and of contacts made to have
one. Merges need contacts to spend: the script creates pairs that share an e-mail (each
with an identity and a tag, as seeded contacts have), merges each pair once, and at the
end hard-deletes every contact, event and key it made, putting the counts back.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
        .venv/bin/python bench/merge_contacts.py --repeat 50
"""

import argparse
import time

from _setup import django_setup, percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    django_setup()
    from django.db import connection, transaction
    from django.test import Client

    from contacts.models import Contact
    from contacts.services import contact_count_add, contact_create
    from events.models import Event
    from flownally_admin.tenancy.models import ServiceAccount, Tenant
    from flownally_admin.tenancy.services import api_key_create
    from tags.models import Tag

    tenant = Tenant.objects.get(slug=args.tenant)
    account, _ = ServiceAccount.objects.get_or_create(tenant=tenant, name="bench")
    key, token = api_key_create(service_account=account, role="owner")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    vip = Tag.objects.get(tenant=tenant, name="VIP")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM contacts_contact TABLESAMPLE SYSTEM (0.1) "
            "WHERE tenant_id = %s AND deleted_at IS NULL LIMIT %s",
            [tenant.pk, args.repeat],
        )
        sampled = [pk for (pk,) in cursor.fetchall()]

    created: list[str] = []
    try:
        pairs = []
        for n in range(args.repeat):
            email = f"bench-merge-{n}-{time.time_ns()}@example.com"
            pair = [
                contact_create(
                    tenant=tenant,
                    created_by="bench",
                    name=f"Merge bench {n} {side}",
                    identities=[{"channel": "email", "externalId": f"{side}.{email}"}],
                    tag_ids=[vip.pk],
                    custom_fields={"cf_email": email},
                ).pk
                for side in ("a", "b")
            ]
            created += pair
            pairs.append(pair)

        def timed(call) -> tuple[float, object]:
            started = time.perf_counter()
            response = call()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{response.status_code} {response.content[:500]}")
            return elapsed, response.json()

        def duplicates(contact_id):
            return timed(lambda: client.get(f"/v1/contacts/{contact_id}/duplicates"))

        def merge(target, source, preview=False):
            return timed(
                lambda: client.post(
                    f"/v1/contacts/{target}/merge",
                    {"sourceIds": [source], "preview": preview},
                    content_type="application/json",
                )
            )

        duplicates(sampled[0])  # warm plans and caches once
        results = {
            "duplicates, sampled contacts": [duplicates(pk) for pk in sampled],
            "duplicates, contacts with one": [duplicates(a) for a, _ in pairs],
            "merge of 2, preview": [merge(a, b, preview=True) for a, b in pairs],
            "merge of 2": [merge(a, b) for a, b in pairs],
        }
        total = Contact.objects.filter(tenant=tenant, deleted_at__isnull=True).count()
        print(f"tenant {args.tenant!r}: {total:,} live contacts; {args.repeat} requests each\n")
        print(f"{'scenario':<32} {'p50 ms':>8} {'p95 ms':>8} {'found':>6}")
        for label, runs in results.items():
            samples = [elapsed for elapsed, _ in runs]
            found = sum(len(body.get("duplicates", [])) for _, body in runs)
            p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
            print(f"{label:<32} {p50:8.1f} {p95:8.1f} {found:>6}")
    finally:
        with transaction.atomic():
            live = Contact.objects.filter(pk__in=created, deleted_at__isnull=True).count()
            contact_count_add(tenant=tenant, archived=False, delta=-live)
            Event.objects.filter(tenant=tenant, contact_id__in=created).delete()
            Contact.objects.filter(pk__in=created).delete()
            key.delete()


if __name__ == "__main__":
    main()
