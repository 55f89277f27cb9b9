"""An export as the API shows it: the status document and the `data` of its events."""

from flownally_admin.timestamps import rfc3339

from .models import ContactExport


def export_status_data(export: ContactExport) -> dict:
    return {
        "id": export.pk,
        "status": export.status,
        "totalRows": export.total_rows,
        "processedRows": export.processed_rows,
        "sizeBytes": export.size_bytes,
        "failure": {"code": export.failure_code, "message": export.failure_message}
        if export.failure_code
        else None,
        "createdAt": rfc3339(export.created_at),
        "startedAt": rfc3339(export.started_at),
        "finishedAt": rfc3339(export.finished_at),
        "expiresAt": rfc3339(export.expires_at),
    }
