"""A contact as the API shows it, and what changed between two such pictures.

One function builds the picture, so a GET, a write's answer and the `data` of an
event are the same document.
"""

from flownally_admin.timestamps import rfc3339

from .models import Contact, ContactImport
from .selectors import contact_identities, contact_tags


def contact_data(contact: Contact, definitions) -> dict:
    """`contact` from `contact_queryset`; `definitions` the live contact-field definitions
    in display order (`contact_definitions`)."""
    values = contact.custom_fields
    return {
        "id": contact.pk,
        "name": contact.name or None,
        "identities": [
            {
                "id": identity.id,
                "channel": identity.channel,
                "externalId": identity.external_id,
                "metadata": identity.metadata,
            }
            for identity in contact_identities(contact)
        ],
        "tags": [{"id": tag.id, "name": tag.name} for tag in contact_tags(contact)],
        "customFields": [
            {"id": d.public_id, "name": d.name, "type": d.type, "value": values[d.public_id]}
            for d in definitions
            if d.public_id in values
        ],
        "archived": contact.archived,
        "archivedAt": rfc3339(contact.archived_at),
        "createdAt": rfc3339(contact.created_at),
        "updatedAt": rfc3339(contact.updated_at),
    }


def contact_changes(before: dict, after: dict) -> dict:
    """`changes` of a `contact.updated` event: a member per part that differs."""
    changes = {}
    if before["name"] != after["name"]:
        changes["name"] = {"from": before["name"], "to": after["name"]}
    for part in ("identities", "tags"):
        added = [item for item in after[part] if item not in before[part]]
        removed = [item for item in before[part] if item not in after[part]]
        if added or removed:
            changes[part] = {"added": added, "removed": removed}
    old = {value["id"]: value["value"] for value in before["customFields"]}
    new = {value["id"]: value["value"] for value in after["customFields"]}
    fields = {
        field_id: {"from": old.get(field_id), "to": new.get(field_id)}
        for field_id in sorted(old.keys() | new.keys())
        if old.get(field_id) != new.get(field_id)
    }
    if fields:
        changes["customFields"] = fields
    return changes


def import_status_data(imp: ContactImport) -> dict:
    """An ImportStatus without its `errors` (what the import's events carry)."""
    return {
        "id": imp.pk,
        "status": imp.status,
        "fileName": imp.file_name,
        "mode": imp.mode,
        "dryRun": imp.dry_run,
        "totalRows": imp.total_rows,
        "processedRows": imp.processed_rows,
        "createdCount": imp.created_count,
        "updatedCount": imp.updated_count,
        "skippedCount": imp.skipped_count,
        "failedCount": imp.failed_count,
        "possibleDuplicates": imp.possible_duplicates,
        "ignoredColumns": imp.ignored_columns,
        "failure": {"code": imp.failure_code, "message": imp.failure_message}
        if imp.failure_code
        else None,
        "createdAt": rfc3339(imp.created_at),
        "startedAt": rfc3339(imp.started_at),
        "finishedAt": rfc3339(imp.finished_at),
    }
