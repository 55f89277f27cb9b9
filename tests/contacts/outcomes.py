"""What an import produced, for comparing two runs of one file."""

from contacts.models import Contact, ContactImport, ContactImportDuplicate, ContactImportError


def import_outcome(import_id: str):
    """Everything an import produced, without ids (which differ between runs)."""
    imp = ContactImport.objects.get(pk=import_id)
    contacts = sorted(
        (
            c.name,
            sorted(c.custom_fields.items()),
            sorted(i.external_id for i in c.identities.all()),
            sorted(t.name for t in c.tags.all()),
        )
        for c in Contact.objects.filter(tenant_id=imp.tenant_id).prefetch_related(
            "identities", "tags"
        )
    )
    errors = list(
        ContactImportError.objects.filter(contact_import=imp)
        .order_by("row", "column")
        .values_list("row", "column", "code")
    )
    counts = (
        imp.status,
        imp.total_rows,
        imp.processed_rows,
        imp.created_count,
        imp.updated_count,
        imp.skipped_count,
        imp.failed_count,
        imp.error_count,
        imp.possible_duplicates,
    )
    listed = ContactImportDuplicate.objects.filter(contact_import=imp).values("contact_id")
    possible_duplicates = sorted(
        Contact.objects.filter(pk__in=listed).values_list("name", flat=True)
    )
    return counts, errors, contacts, possible_duplicates
