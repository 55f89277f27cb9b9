"""Print PostgreSQL's EXPLAIN ANALYZE for the queries behind each contact-list scenario.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flownally_bench \\
        .venv/bin/python bench/explain_contacts.py
"""

from dataclasses import replace

from _setup import django_setup


def main() -> None:
    django_setup()
    from contacts.filtersets import ORDER_FIELDS, ContactFilters
    from contacts.selectors import contact_list, contact_search
    from customfields.models import CustomFieldDefinition
    from flownally_admin.api.pagination import KeysetOrdering
    from flownally_admin.tenancy.models import Tenant
    from tags.models import Tag

    tenant = Tenant.objects.get(slug="bench")
    vip = Tag.objects.get(tenant=tenant, name="VIP").pk
    plan = CustomFieldDefinition.objects.get(tenant=tenant, name="Plan").public_id
    base = ContactFilters()
    cases = {
        "first page, newest first": base,
        "order by name": replace(base, order_by="name", descending=False),
        "tag filter": replace(base, tag_ids=(vip,)),
        "custom-field filter": replace(base, custom_fields={plan: ("text", "pro")}),
        "channel filter": replace(base, channels=("instagram",)),
    }
    for label, filters in cases.items():
        ordering = KeysetOrdering((ORDER_FIELDS[filters.order_by], "id"), filters.descending)
        page = contact_list(tenant=tenant, filters=filters).order_by(*ordering.order_by())[:51]
        print(f"--- {label}\n{page.explain(analyze=True)}\n")
    search = contact_search(tenant_ids=[tenant.pk], term="grace hopper")
    rows = contact_list(tenant=tenant, filters=base).filter(search.q()).order_by("-created_at")
    print(f"--- search by the trigram index\n{rows[:51].explain(analyze=True)}\n")


if __name__ == "__main__":
    main()
