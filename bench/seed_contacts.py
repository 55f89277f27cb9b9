"""Seed N contacts (default 1,000,000) into the `bench` tenant with psycopg 3 COPY.

Each contact has a name, an e-mail and often a phone value, a renewal date and
a plan (two custom fields), 0–3 of 20 tags, and 1–2 identities (WhatsApp for
most, e-mail, Messenger or SMS for some). Rows are written exactly as the
services would write them (normalised values, search_text, archived flags),
but in bulk. PostgreSQL only: set DATABASE_URL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
        .venv/bin/python bench/seed_contacts.py --contacts 1000000
"""

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from _setup import django_setup

FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Barbara",
    "Ken",
    "Dennis",
    "Margaret",
    "Edsger",
    "Donald",
    "Frances",
    "John",
    "Radia",
    "Tim",
    "Vint",
    "Hedy",
    "Katherine",
    "Guido",
    "Bjarne",
    "Yukihiro",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Liskov",
    "Thompson",
    "Ritchie",
    "Hamilton",
    "Dijkstra",
    "Knuth",
    "Allen",
    "McCarthy",
    "Perlman",
    "Berners-Lee",
    "Cerf",
    "Lamarr",
    "Johnson",
    "Rossum",
    "Stroustrup",
    "Matsumoto",
]
PLANS = ["free", "starter", "pro", "enterprise"]
TAG_NAMES = [f"segment-{i:02d}" for i in range(18)] + ["VIP", "churn-risk"]
BATCH = 50_000


class SeedIdentity:
    """The two attributes of an identity that `contact_search_text` reads."""

    def __init__(self, channel: str, external_id: str):
        self.channel, self.external_id = channel, external_id


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    django_setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("seed_contacts.py needs PostgreSQL: set DATABASE_URL=postgres://…")

    from contacts.models import Contact
    from contacts.selectors import contact_search_text
    from customfields.services import custom_field_definition_create
    from flownally_admin.ids import new_id
    from flownally_admin.tenancy.services import tenant_get_or_create
    from tags.models import Tag

    tenant = tenant_get_or_create(slug=args.tenant, name="Benchmark workspace")
    existing = Contact.objects.filter(tenant=tenant).count()
    if existing >= args.contacts:
        print(f"tenant {args.tenant!r} already has {existing} contacts; nothing to do")
        return
    if existing:
        sys.exit(f"tenant {args.tenant!r} has {existing} contacts; drop the database and retry")

    definitions = {}
    for name, type_ in [("Renewal", "date"), ("Plan", "text")]:
        definitions[name] = custom_field_definition_create(
            tenant=tenant, entity_type="contact", name=name, type=type_, created_by="system"
        ).public_id
    tags = [Tag.objects.create(tenant=tenant, name=n, created_by="system").pk for n in TAG_NAMES]

    rng = random.Random(args.seed)
    start_time = datetime(2024, 1, 1, tzinfo=UTC)
    span = 2 * 365 * 24 * 3600
    started = time.perf_counter()
    raw = connection.cursor().connection  # the psycopg 3 connection under Django's wrapper

    written = 0
    while written < args.contacts:
        size = min(BATCH, args.contacts - written)
        contacts, identities, links = [], [], []
        for offset in range(size):
            n = written + offset
            contact_id = new_id("ctc")
            created = start_time + timedelta(seconds=span * n / args.contacts)
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}"
            values = {"cf_email": f"user{n}@example{n % 97}.com"}
            if rng.random() < 0.7:
                values["cf_phone"] = f"+1{2125550000 + n:010d}"[:12]
            values[definitions["Renewal"]] = (
                (created + timedelta(days=rng.randrange(365))).date().isoformat()
            )
            values[definitions["Plan"]] = rng.choice(PLANS)
            own = []
            kind = rng.random()
            if kind < 0.6:
                own.append(("whatsapp", f"+4420{n:08d}"))
            elif kind < 0.8:
                own.append(("email", f"user{n}@mail.example.org"))
            elif kind < 0.9:
                own.append(("messenger", f"psid-{n}"))
            else:
                own.append(("sms", f"+4930{n:08d}"))
            if rng.random() < 0.2:
                own.append(("instagram", f"ig_{n}"))
            search_text = contact_search_text(
                name=name, custom_fields=values, identities=[SeedIdentity(*i) for i in own]
            )
            archived = rng.random() < 0.05
            contacts.append(
                (
                    contact_id,
                    tenant.pk,
                    name,
                    json.dumps(values),
                    search_text,
                    "system",
                    created,
                    created,
                    archived,
                    created if archived else None,
                    None,
                    "",
                )
            )
            for channel, external_id in own:
                identities.append(
                    (
                        new_id("idt"),
                        tenant.pk,
                        contact_id,
                        channel,
                        external_id,
                        "{}",
                        True,
                        created,
                    )
                )
            for tag_id in rng.sample(tags, rng.choice([0, 0, 1, 1, 2, 3])):
                links.append((tenant.pk, contact_id, tag_id, created))

        with raw.cursor() as cursor:
            with cursor.copy(
                "COPY contacts_contact (id, tenant_id, name, custom_fields, search_text, "
                "created_by, created_at, updated_at, archived, archived_at, deleted_at, "
                "source_import_id) FROM STDIN"
            ) as copy:
                for row in contacts:
                    copy.write_row(row)
            with cursor.copy(
                "COPY contacts_identity (id, tenant_id, contact_id, channel, external_id, "
                "metadata, active, created_at) FROM STDIN"
            ) as copy:
                for row in identities:
                    copy.write_row(row)
            with cursor.copy(
                "COPY contacts_contacttag (tenant_id, contact_id, tag_id, created_at) FROM STDIN"
            ) as copy:
                for row in links:
                    copy.write_row(row)
            archived = sum(1 for row in contacts if row[8])
            cursor.execute(
                "INSERT INTO contacts_contactcountdelta (tenant_id, archived, delta) "
                "VALUES (%s, false, %s), (%s, true, %s)",
                [tenant.pk, len(contacts) - archived, tenant.pk, archived],
            )
        raw.commit()
        written += size
        elapsed = time.perf_counter() - started
        print(f"{written:>9,} contacts  {written / elapsed:8,.0f} rows/s", flush=True)

    with connection.cursor() as cursor:
        for table in ("contacts_contact", "contacts_identity", "contacts_contacttag"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"seeded {args.contacts:,} contacts in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
