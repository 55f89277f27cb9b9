"""Server-side latency of the contacts admin changelist on the seeded 1M-contact tenant.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
        .venv/bin/python bench/admin_changelist.py --repeat 20
"""

import argparse
import time

from _setup import django_setup, percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    django_setup()
    from django.test import Client

    from flownally_admin.tenancy.models import Membership, Tenant, User

    tenant = Tenant.objects.get(slug=args.tenant)
    user, _ = User.objects.get_or_create(username="bench-agent", defaults={"is_staff": True})
    Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": "agent"})
    client = Client()
    client.force_login(user)
    contact_id = tenant.contacts.filter(deleted_at__isnull=True).values_list("pk", flat=True)[:1][0]
    scenarios = {
        "changelist (active)": ("/admin/contacts/contact/", {}),
        "changelist page 20": ("/admin/contacts/contact/", {"p": "20"}),
        "search 'grace hopper'": ("/admin/contacts/contact/", {"q": "grace hopper"}),
        "search phone": ("/admin/contacts/contact/", {"q": "(212) 555-4203"}),
        "filter channel instagram": ("/admin/contacts/contact/", {"channel": "instagram"}),
        "sorted by name": ("/admin/contacts/contact/", {"o": "1"}),
        "archived": ("/admin/contacts/contact/", {"state": "archived"}),
        "contact edit page": (f"/admin/contacts/contact/{contact_id}/change/", {}),
    }
    print(f"{'scenario':<32} {'p50 ms':>8} {'p95 ms':>8}")
    for label, (url, params) in scenarios.items():
        client.get(url, params)
        samples = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url, params)
            samples.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{label}: {response.status_code}")
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        print(f"{label:<32} {p50:8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
