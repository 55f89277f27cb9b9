"""Contact imports in the admin: start one (after a preview of its columns), watch it run,
list past ones. The start form is in import_forms.py.

The admin holds only forms, pages and their wiring: the preview, the staging of the upload
between the preview and the start, and the job itself are the importer's
(`contacts.importing`: selectors, staging, services), so the same checks and errors apply
as over the API. The admin never edits or deletes a job.
"""

from contextlib import suppress

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.functions import Lower
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from flownally_admin.admin_display import truncated
from flownally_admin.errors import ValidationFailed
from flownally_admin.tenancy.admin import (
    ActorNamesMixin,
    TenantListFilter,
    TenantScopedAdminMixin,
    actor_html,
)
from flownally_admin.tenancy.selectors import actor_names
from tags.models import Tag

from ..importing.columns import RECOGNISED_COLUMNS, Kind
from ..importing.report import error_csv_response
from ..importing.selectors import ImportPreview, InvalidCsvUpload, contact_import_preview
from ..importing.services import FILE_TAG_NAMES_KEPT, TooManyImports, contact_import_create
from ..importing.staging import (
    StagedUpload,
    StagedUploadGone,
    contact_import_create_staged,
    contact_import_stage,
    contact_import_staged_open,
    contact_import_unstage,
)
from ..models import ContactImport, ImportStatus
from ..selectors import contact_import_first_errors
from .contacts import import_duplicates_url
from .import_forms import ContactImportStartForm

ERRORS_SHOWN = 100
FINISHED = (ImportStatus.COMPLETED, ImportStatus.FAILED)


# --- the admin ----------------------------------------------------------------------------


@admin.register(ContactImport)
class ContactImportAdmin(ActorNamesMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    """Imports of the user's tenants; any member may run one (agents too)."""

    # Eleven columns did not fit 1280 px: the four counts share one, dry run joins status.
    list_display = [
        "file",
        "tenant",
        "state",
        "rows",
        "outcome",
        "created_by_name",
        "created_at",
    ]
    list_filter = [TenantListFilter, "status"]
    list_select_related = ["tenant"]
    search_fields = ["file_name"]
    ordering = ["-created_at", "-id"]
    actions = None

    @admin.display(description="file", ordering="file_name")
    def file(self, obj):
        return truncated(obj.file_name)

    @admin.display(description="status", ordering="status")
    def state(self, obj):
        return f"{obj.status} (dry run)" if obj.dry_run else obj.status

    @admin.display(description="rows done")
    def rows(self, obj):
        total = "?" if obj.total_rows is None else obj.total_rows
        return f"{obj.processed_rows} / {total}"

    @admin.display(description="outcome")
    def outcome(self, obj):
        """The four counts, each kept on one line when the column wraps."""
        return format_html_join(
            ", ",
            '<span class="nowrap">{} {}</span>',
            [
                (obj.created_count, "created"),
                (obj.updated_count, "updated"),
                (obj.skipped_count, "skipped"),
                (obj.failed_count, "failed"),
            ],
        )

    # A job changes only through the worker; the admin shows it and never saves it.
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
            path(
                "<path:object_id>/errors.csv",
                wrap(self.errors_csv_view),
                name="{}_{}_errors_csv".format(*info),
            ),
            *super().get_urls(),
        ]

    def _url(self, name: str, *args) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=args,
            current_app=self.admin_site.name,
        )

    def _context(self, request, **context):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "has_view_permission": self.has_view_permission(request),
            "has_add_permission": self.has_add_permission(request),
            **context,
        }

    # --- starting an import -------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        tenants = self.user_tenants(request)
        preview = None
        if request.method == "POST":
            form = ContactImportStartForm(
                request.POST, request.FILES, tenants=tenants, user=request.user
            )
            if form.is_valid():
                started, preview = self._preview_or_start(request, form)
                if started is not None:
                    return HttpResponseRedirect(self._url("change", quote(started.pk)))
        else:
            form = ContactImportStartForm(
                initial={"tenant": self._initial_tenant(request, tenants)},
                tenants=tenants,
                user=request.user,
            )
        context = self._context(
            request,
            title="Import contacts",
            form=form,
            preview=preview,
            recognised_columns=[n for n, t in RECOGNISED_COLUMNS if t.kind is not Kind.IDENTITY],
            channel_columns=[n for n, t in RECOGNISED_COLUMNS if t.kind is Kind.IDENTITY],
            media=self.media + form.media,
            **(extra_context or {}),
        )
        return TemplateResponse(request, "admin/contacts/contactimport/start.html", context)

    @staticmethod
    def _initial_tenant(request, tenants):
        wanted = request.GET.get("tenant")
        if wanted:
            tenant = tenants.filter(pk=wanted).first()
            if tenant is not None:
                return tenant
        candidates = list(tenants[:2])
        return candidates[0] if len(candidates) == 1 else None

    def _preview_or_start(self, request, form):
        """Step one (a new file, or another tenant): check and stage the upload and show its
        columns. Step two ("Start import" on a previewed file): create the job.
        Returns (the job or None, the preview to show or None)."""
        data = form.cleaned_data
        tenant, upload, staged = data["tenant"], data["file"], data["staged"]
        start = "_start" in request.POST
        if upload is not None:
            preview = self._preview(form, tenant, upload)
            if preview is None:
                return None, None
            shown = None
            if start and staged is not None and staged.tenant_id == tenant.pk:
                # Unreadable: nothing to compare with, and the new file is previewed.
                with suppress(StagedUploadGone, InvalidCsvUpload):
                    shown = self._staged_preview(staged, tenant)
            if staged is not None:
                contact_import_unstage(staged=staged)
            if shown is not None and shown.columns == preview.columns:
                # Chosen again at step two with the columns just shown: start with it.
                imp = self._create(request, form, contact_import_create, upload=upload)
                if imp is not None:
                    return imp, None
            if start and not form.errors:
                messages.warning(
                    request, "These are the columns of the new file: check them, then start."
                )
            staged = contact_import_stage(tenant=tenant, user_id=request.user.pk, upload=upload)
            self._set_staged(form, staged)
            return None, preview
        try:
            preview = self._staged_preview(staged, tenant)
        except (StagedUploadGone, InvalidCsvUpload) as exc:
            form.add_error("file", exc.detail)
            contact_import_unstage(staged=staged)
            self._set_staged(form, None)
            return None, None
        if staged.tenant_id != tenant.pk:
            # Columns are read per tenant: show them for this one before starting.
            self._set_staged(form, staged.for_tenant(tenant))
            return None, preview
        if not start:
            return None, preview
        imp = self._create(request, form, contact_import_create_staged, staged=staged)
        return (imp, None) if imp is not None else (None, preview)

    @staticmethod
    def _preview(form, tenant, upload) -> ImportPreview | None:
        try:
            return contact_import_preview(tenant=tenant, upload=upload)
        except InvalidCsvUpload as exc:
            form.add_error("file", exc.detail)
            return None

    @staticmethod
    def _staged_preview(staged, tenant) -> ImportPreview:
        with contact_import_staged_open(staged) as stored:
            return contact_import_preview(tenant=tenant, upload=stored)

    def _create(self, request, form, create, **source) -> ContactImport | None:
        """The job, through `create` (a service) from `source`; None with form errors when
        it refuses."""
        data = form.cleaned_data
        try:
            with transaction.atomic():
                imp = create(
                    tenant=data["tenant"],
                    created_by=request.user.pk,
                    mode=data["mode"],
                    dry_run=data["dry_run"],
                    tag_ids=[tag.pk for tag in data["tags"]],
                    **source,
                )
                self.log_addition(request, imp, [{"added": {}}])
        except ValidationFailed as exc:
            for violation in exc.violations:
                field = "tags" if violation.field.startswith("tagIds") else None
                form.add_error(field, violation.message)
            return None
        except (InvalidCsvUpload, StagedUploadGone) as exc:
            form.add_error("file", exc.detail)
            return None
        except TooManyImports as exc:
            form.add_error(None, exc.detail)
            return None
        return imp  # its page says how it is doing (import_state), so no message here

    @staticmethod
    def _set_staged(form, staged: StagedUpload | None) -> None:
        """What the page's hidden field carries to the next step."""
        form.cleaned_data["staged"] = staged
        form.data = form.data.copy()
        form.data["staged"] = staged.token() if staged else ""

    # --- the job page -------------------------------------------------------------------

    def _get_import(self, request, object_id) -> ContactImport | None:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self.get_object(request, unquote(object_id))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        imp = self._get_import(request, object_id)
        if imp is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        errors = contact_import_first_errors(contact_import=imp, limit=ERRORS_SHOWN)
        context = self._context(
            request,
            title=f"Import of {imp.file_name}",
            subtitle=None,
            original=imp,
            imp=imp,
            bar=_progress_bar(imp),
            finished=imp.status in FINISHED,
            started_by=actor_html(imp.created_by, actor_names(actor_ids=[imp.created_by])),
            state=import_state(imp),
            tags_added=_tags_added(imp),
            errors=errors,
            errors_capped=imp.error_count > len(errors),
            progress_url=self._url("progress", quote(imp.pk)),
            errors_csv_url=self._url("errors_csv", quote(imp.pk)),
            import_again_url=f"{self._url('add')}?tenant={imp.tenant_id}",
            duplicates_url=import_duplicates_url(imp) if imp.possible_duplicates else None,
            **(extra_context or {}),
        )
        return TemplateResponse(request, "admin/contacts/contactimport/job.html", context)

    def progress_view(self, request, object_id):
        imp = self._get_import(request, object_id)
        if imp is None:
            raise Http404("No such import.")
        return JsonResponse(import_progress(imp))  # admin_view makes it never_cache

    def errors_csv_view(self, request, object_id):
        imp = self._get_import(request, object_id)
        if imp is None:
            raise Http404("No such import.")
        return error_csv_response(imp)


def import_progress(imp: ContactImport) -> dict:
    """What the job page's poll shows; the names are those of the API's ImportStatus, and
    `state` the page's sentence on how the job is doing."""
    return {
        "state": import_state(imp),
        "status": imp.status,
        "totalRows": imp.total_rows,
        "processedRows": imp.processed_rows,
        "createdCount": imp.created_count,
        "updatedCount": imp.updated_count,
        "skippedCount": imp.skipped_count,
        "failedCount": imp.failed_count,
        "possibleDuplicates": imp.possible_duplicates,
        "failure": (
            {"code": imp.failure_code, "message": imp.failure_message} if imp.failure_code else None
        ),
    }


def _progress_bar(imp: ContactImport) -> dict:
    """The <progress> element's value and max; the page's script computes the same."""
    maximum = max(imp.total_rows or 0, 1)
    if imp.status == ImportStatus.COMPLETED:
        return {"value": maximum, "max": maximum}
    return {"value": min(imp.processed_rows, maximum), "max": maximum}


def import_state(imp: ContactImport) -> dict:
    """The job page's message, {level, text}: what the job is doing now, which the page's
    script keeps up to date (never a message written once when the job was queued)."""
    what = f"The {'dry run' if imp.dry_run else 'import'} of {imp.file_name}"
    if imp.status == ImportStatus.QUEUED:
        return {"level": "info", "text": f"{what} is queued: it starts when a worker is free."}
    if imp.status == ImportStatus.RUNNING:
        total = "?" if imp.total_rows is None else imp.total_rows
        return {
            "level": "info",
            "text": f"{what} is running: {imp.processed_rows} of {total} rows processed.",
        }
    if imp.status == ImportStatus.FAILED:
        return {"level": "error", "text": f"{what} failed: {imp.failure_message}"}
    counts = (
        f"{imp.created_count} created, {imp.updated_count} updated, "
        f"{imp.skipped_count} skipped, {imp.failed_count} failed"
    )
    if imp.dry_run:
        return {
            "level": "success",
            "text": f"{what} has completed, writing nothing: {counts} (had it been an import).",
        }
    return {"level": "success", "text": f"{what} has completed: {counts}."}


def _tags_added(imp: ContactImport) -> str:
    """The tags the job added: those chosen for every contact and those named in the
    file's tags column (as the job recorded them, `file_tag_names`)."""
    chosen = list(
        Tag.objects.filter(tenant_id=imp.tenant_id, pk__in=imp.tag_ids)
        .order_by(Lower("name"))
        .values_list("name", flat=True)
    )
    from_file = imp.file_tag_names[:FILE_TAG_NAMES_KEPT]
    more = " and more" if len(imp.file_tag_names) > FILE_TAG_NAMES_KEPT else ""
    parts = []
    if chosen:
        parts.append(f"{', '.join(chosen)} (to every contact)")
    if from_file:
        parts.append(f"{', '.join(from_file)}{more} (from the file's tags column)")
    if not parts:
        return "none"
    if imp.dry_run:
        return f"none, as a dry run writes nothing; an import would add {'; '.join(parts)}"
    if imp.status in FINISHED and not (imp.created_count or imp.updated_count):
        return "none: no contact was created or updated"
    return "; ".join(parts)
