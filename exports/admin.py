"""Contact exports in the admin: the list of past exports, each one's job page (live
progress, then its file), and the file's download.

Exports start from the contacts list (contacts/admin/export.py); here they are only read.
They are for the owners and admins of a workspace (`EXPORT_ROLES`), as is starting one.
The file is streamed through the admin, checked like the page: another workspace's export
is not found, a file not ready or expired is said on the job page, never an error page.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html

from contacts.models import Channel
from customfields.models import CustomFieldDefinition
from flownally_admin.tenancy.admin import (
    ActorNamesMixin,
    TenantListFilter,
    TenantScopedAdminMixin,
    actor_html,
)
from flownally_admin.tenancy.scopes import EXPORT_ROLES
from flownally_admin.tenancy.selectors import actor_names
from tags.models import Tag

from .models import ContactExport, ExportStatus
from .representation import export_status_data
from .services import (
    ExportExpired,
    ExportNotReady,
    contact_export_file_name,
    contact_export_open,
)

FINISHED = (ExportStatus.COMPLETED, ExportStatus.FAILED)


@admin.register(ContactExport)
class ContactExportAdmin(ActorNamesMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    """Exports of the workspaces where the user may export, from the admin and the API."""

    tenant_roles = EXPORT_ROLES
    list_display = [
        "created_at",
        "tenant",
        "state",
        "rows",
        "created_by_name",
        "source",
        "expiry",
        "file",
    ]
    list_filter = [TenantListFilter, "status", "source"]
    list_select_related = ["tenant"]
    ordering = ["-created_at", "-id"]
    actions = None

    @admin.display(description="status", ordering="status")
    def state(self, export):
        if export.status == ExportStatus.FAILED:
            return format_html(
                '<strong class="home-failed" title="{}">failed</strong>', export.failure_message
            )
        return export.status

    @admin.display(description="rows")
    def rows(self, export):
        if export.status == ExportStatus.COMPLETED:
            return export.total_rows
        total = "?" if export.total_rows is None else export.total_rows
        return f"{export.processed_rows} / {total}"

    @admin.display(description="expires", ordering="expires_at")
    def expiry(self, export):
        if export.expires_at is None:
            return ""
        when = date_format(timezone.localtime(export.expires_at), "SHORT_DATETIME_FORMAT")
        return f"expired {when}" if export.is_expired else when

    @admin.display(description="file")
    def file(self, export):
        if not _downloadable(export):
            return ""
        return format_html('<a href="{}">Download</a>', self._url("file", quote(export.pk)))

    # Exports start from the contacts list; a job changes only through the worker, and its
    # file goes when it expires.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/progress/",
                wrap(self.progress_view),
                name="{}_{}_progress".format(*info),
            ),
            path("<path:object_id>/file/", wrap(self.file_view), name="{}_{}_file".format(*info)),
            *super().get_urls(),
        ]

    def _url(self, name: str, *args) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=args,
            current_app=self.admin_site.name,
        )

    def _get_export(self, request, object_id) -> ContactExport | None:
        """The export if it is one of the user's workspaces' (else None: not found)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self.get_object(request, unquote(object_id))

    # --- the job page -------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        export = self._get_export(request, object_id)
        if export is None:
            raise Http404("No such export.")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "has_view_permission": True,
            "title": f"Export of {export.tenant}'s contacts",
            "subtitle": None,
            "original": export,
            "export": export,
            "contents": export_contents(
                tenant_ids=[export.tenant_id],
                filters=export.filters,
                contact_ids=export.contact_ids,
            ),
            "started_by": actor_html(export.created_by, actor_names(actor_ids=[export.created_by])),
            "state": export_state(export),
            "bar": _progress_bar(export),
            "finished": export.status in FINISHED,
            "downloadable": _downloadable(export),
            "progress_url": self._url("progress", quote(export.pk)),
            "file_url": self._url("file", quote(export.pk)),
            "file_name": contact_export_file_name(export),
            "retention_hours": settings.EXPORT_RETENTION_HOURS,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/exports/contactexport/job.html", context)

    def progress_view(self, request, object_id):
        export = self._get_export(request, object_id)
        if export is None:
            raise Http404("No such export.")
        return JsonResponse({**export_status_data(export), "state": export_state(export)})

    def file_view(self, request, object_id):
        """The file, streamed from storage; one not ready or gone is said on the job page."""
        export = self._get_export(request, object_id)
        if export is None:
            raise Http404("No such export.")
        try:
            stream = contact_export_open(export)
        except (ExportNotReady, ExportExpired) as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return HttpResponseRedirect(self._url("change", quote(export.pk)))
        response = FileResponse(
            stream,
            as_attachment=True,
            filename=contact_export_file_name(export),
            content_type="text/csv; charset=utf-8",
        )
        if export.size_bytes is not None:
            response["Content-Length"] = str(export.size_bytes)
        return response


def _downloadable(export: ContactExport) -> bool:
    return (
        export.status == ExportStatus.COMPLETED
        and bool(export.file_path)
        and not (export.is_expired)
    )


def _progress_bar(export: ContactExport) -> dict:
    """The <progress> element's value and max; the page's script computes the same."""
    maximum = max(export.total_rows or 0, 1)
    if export.status == ExportStatus.COMPLETED:
        return {"value": maximum, "max": maximum}
    return {"value": min(export.processed_rows, maximum), "max": maximum}


def export_state(export: ContactExport) -> dict:
    """The job page's message, {level, text}: what the export is doing now (the page's
    script keeps it up to date)."""
    if export.status == ExportStatus.QUEUED:
        return {"level": "info", "text": "The export is queued: it starts when a worker is free."}
    if export.status == ExportStatus.RUNNING:
        total = "?" if export.total_rows is None else export.total_rows
        return {
            "level": "info",
            "text": f"The export is running: {export.processed_rows} of {total} rows written.",
        }
    if export.status == ExportStatus.FAILED:
        return {"level": "error", "text": f"The export failed: {export.failure_message}"}
    rows = f"{export.total_rows} row{'' if export.total_rows == 1 else 's'}"
    if export.is_expired or not export.file_path:
        return {
            "level": "warning",
            "text": f"The export of {rows} has expired and its file was deleted; start a "
            "new export from the contacts list.",
        }
    return {"level": "success", "text": f"The export has completed: {rows}, ready to download."}


def export_contents(
    *, tenant_ids: list[str], filters: dict, contact_ids: list[str] | None = None
) -> list[str]:
    """What an export holds, in words, one line a filter (tags and custom fields by name,
    looked up in these workspaces)."""
    if contact_ids is not None:
        count = len(contact_ids)
        return [f"{count} selected contact{'' if count == 1 else 's'}"]
    lines = ["Archived contacts" if filters.get("archived") else "Active contacts"]
    if filters.get("search"):
        lines.append(f"Matching the search “{filters['search']}”")
    if filters.get("channels"):
        labels = [Channel(c).label if c in Channel.values else c for c in filters["channels"]]
        lines.append(f"With an identity on {' or '.join(labels)}")
    if filters.get("tagIds"):
        names = dict(
            Tag.objects.filter(tenant_id__in=tenant_ids, pk__in=filters["tagIds"]).values_list(
                "pk", "name"
            )
        )
        tags = [names.get(tag_id, f"{tag_id} (no such tag)") for tag_id in filters["tagIds"]]
        lines.append(f"Tagged {' or '.join(tags)}")
    if filters.get("customFields"):
        names = dict(
            CustomFieldDefinition.objects.filter(
                tenant_id__in=tenant_ids, public_id__in=list(filters["customFields"])
            ).values_list("public_id", "name")
        )
        for key, value in filters["customFields"].items():
            lines.append(f"{names.get(key, key)} is “{value}”")
    for member, words in _TIME_MEMBERS:
        moment = parse_datetime(filters.get(member) or "")
        if moment is not None:
            when = date_format(timezone.localtime(moment), "DATETIME_FORMAT")
            lines.append(f"{words} {when}")
    return lines


_TIME_MEMBERS = (
    ("createdAfter", "Created at or after"),
    ("createdBefore", "Created before"),
    ("updatedAfter", "Updated at or after"),
    ("updatedBefore", "Updated before"),
)
