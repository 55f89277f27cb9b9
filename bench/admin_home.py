"""Server-side latency of the admin's home page (the day's work) on the seeded 1M-contact
tenant, for an agent, an owner (who also sees failing webhook endpoints) and a superuser
(every tenant), with the number of queries each view ran.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
        .venv/bin/python bench/admin_home.py --repeat 40
"""

import argparse
import time

from _setup import django_setup, percentile


def _counting(queries: list):
    """A database wrapper noting each query (connection.queries is reset by each request)."""

    def wrapper(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    django_setup()
    from django.db import connection
    from django.test import Client

    from flownally_admin.tenancy.models import Membership, Tenant, User

    tenant = Tenant.objects.get(slug=args.tenant)
    print(f"{'home page as':<12} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for role in ("agent", "owner", "superuser"):
        user, _ = User.objects.get_or_create(
            username=f"bench-{role}",
            defaults={"is_staff": True, "is_superuser": role == "superuser"},
        )
        if role != "superuser":
            Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
        client = Client()
        client.force_login(user)
        queries = []
        with connection.execute_wrapper(_counting(queries)):
            response = client.get("/admin/")
        if response.status_code != 200:
            raise SystemExit(f"{role}: {response.status_code}")
        samples = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.get("/admin/")
            samples.append((time.perf_counter() - started) * 1000)
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        print(f"{role:<12} {p50:8.1f} {p95:8.1f} {len(queries):8d}")


if __name__ == "__main__":
    main()
