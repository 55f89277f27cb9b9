"""Print PostgreSQL's EXPLAIN ANALYZE for the queries behind each contact-list scenario.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
        .venv/bin/python bench/explain_contacts.py
"""

from _setup import django_setup


def main() -> None:
    django_setup()
    from django.http import QueryDict

    from contacts.filtersets import ContactFilterSet
    from contacts.models import Contact
    from customfields.models import CustomFieldDefinition
    from flownally_admin.tenancy.models import Tenant
    from tags.models import Tag

    tenant = Tenant.objects.get(slug="bench")
    vip = Tag.objects.get(tenant=tenant, name="VIP").pk
    plan = CustomFieldDefinition.objects.get(tenant=tenant, name="Plan").public_id
    live = Contact.objects.filter(tenant=tenant, deleted_at__isnull=True)
    recent = live.order_by("-updated_at")[live.count() // 100].updated_at.isoformat()
    cases = {
        "first page, newest first": {},
        "order by name": {"orderBy": "name", "orderDirection": "asc"},
        "tag filter": {"tagIds": vip},
        "custom-field filter": {f"customFields[{plan}]": "pro"},
        "channel filter": {"channels": "instagram"},
        "updated in the newest 1%": {"updatedAfter": recent},
        "updated in the newest 1%, oldest change first": {
            "updatedAfter": recent,
            "orderBy": "updatedAt",
            "orderDirection": "asc",
        },
    }

    def filters(params: dict) -> ContactFilterSet:
        query = QueryDict(mutable=True)
        query.update(params)
        return ContactFilterSet(query, tenant=tenant)

    for label, params in cases.items():
        contacts = filters(params)
        page = contacts.qs.order_by(*contacts.ordering.order_by())[:51]
        print(f"--- {label}\n{page.explain(analyze=True)}\n")
    contacts = filters({"search": "grace hopper"})
    rows = contacts.qs.filter(contacts.refinement.q()).order_by("-created_at")
    print(f"--- search by the trigram index\n{rows[:51].explain(analyze=True)}\n")


if __name__ == "__main__":
    main()
