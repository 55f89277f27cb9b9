"""Contact imports in the admin: start one (after a preview of its columns), watch it run,
list past ones.

Jobs are created only by `contact_import_create`, the service behind the API, so the same
checks and errors apply; the admin never edits or deletes a job. Starting is two steps: the
upload is checked and kept in a staging folder of the storage while the user looks at how its
columns are read, and "Start import" hands that file to the service. The staged file is named
by the server and travels between the steps in a signed token bound to the user, the tenant
and a maximum age; it is deleted when the import starts, and abandoned ones are purged.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.functions import Lower
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from customfields.models import EntityType
from customfields.selectors import custom_field_definition_list
from flownally_admin.errors import ValidationFailed
from flownally_admin.tenancy.admin import TenantListFilter, TenantScopedAdminMixin
from flownally_admin.tenancy.models import Tenant, User
from tags.models import Tag

from .importing.columns import Kind, map_columns
from .importing.report import error_csv_response
from .importing.services import InvalidCsvUpload, contact_import_create
from .importing.sniff import SNIFF_BYTES, InvalidCsv, inspect_upload
from .models import Channel, ContactImport, ImportMode, ImportStatus
from .selectors import contact_import_first_errors

STAGING_DIR = "imports/staging"
STAGED_MAX_AGE = timedelta(hours=6)
_STAGED_SALT = "contacts.admin_imports.staged"
ERRORS_SHOWN = 100
FINISHED = (ImportStatus.COMPLETED, ImportStatus.FAILED)
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


# --- the start form -------------------------------------------------------------------


@dataclass(frozen=True)
class StagedUpload:
    """An upload kept in storage between the preview and the start."""

    path: str
    file_name: str
    size: int
    tenant_id: str
    user_id: str

    def token(self) -> str:
        return signing.dumps(
            [self.path, self.file_name, self.size, self.tenant_id, self.user_id],
            salt=_STAGED_SALT,
        )

    @classmethod
    def from_token(cls, token: str) -> "StagedUpload":
        """Raises signing.BadSignature (expired included) for anything we did not sign."""
        values = signing.loads(token, salt=_STAGED_SALT, max_age=STAGED_MAX_AGE)
        return cls(*values)


class ContactImportStartForm(forms.Form):
    """Not a ModelForm: the job's fields are the service's business, not the user's."""

    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())
    file = forms.FileField(
        label="CSV file",
        required=False,
        allow_empty_file=True,  # an empty file is `invalid_csv`, said by the CSV checks
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
        help_text="UTF-8 (with or without BOM) or UTF-16 with BOM; the first row is the "
        "header; comma, semicolon or tab separated.",
    )
    staged = forms.CharField(required=False, widget=forms.HiddenInput)
    mode = forms.ChoiceField(
        choices=ImportMode.choices,
        initial=ImportMode.UPSERT,
        widget=forms.RadioSelect,
        help_text="Upsert: a row that matches a contact (by identity, e-mail or phone) updates "
        "it, the others create contacts. Create: only new contacts; a matching row is reported "
        "as a duplicate.",
    )
    dry_run = forms.BooleanField(
        label="Dry run",
        required=False,
        help_text="Check every row and report the counts and errors; write nothing.",
    )
    tags = forms.ModelMultipleChoiceField(
        label="Tags to add",
        queryset=Tag.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Added to every imported contact. Hold Ctrl (⌘ on a Mac) to select several.",
    )

    def __init__(self, *args, tenants, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["tenant"].queryset = tenants
        tags = list(
            Tag.objects.filter(tenant__in=tenants)
            .select_related("tenant")
            .order_by(Lower("tenant__name"), "tenant_id", Lower("name"))
        )
        self.fields["tags"].queryset = Tag.objects.filter(tenant__in=tenants)
        # One group of options per tenant when the user has several.
        groups: dict[str, list] = {}
        for tag in tags:
            groups.setdefault(str(tag.tenant), []).append((tag.pk, tag.name))
        if len(groups) > 1:
            self.fields["tags"].widget.choices = list(groups.items())
        else:
            self.fields["tags"].widget.choices = [(tag.pk, tag.name) for tag in tags]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {filesizeformat(settings.IMPORT_MAX_BYTES)}."
            )
        return upload

    def clean(self):
        cleaned = super().clean()
        cleaned["staged"] = None
        token = self.data.get("staged") or ""
        if token:
            try:
                staged = StagedUpload.from_token(token)
            except signing.BadSignature:
                staged = None
            if staged is None or staged.user_id != self.user.pk:
                if cleaned.get("file") is None:
                    self.add_error("file", "The previewed file has expired: choose it again.")
            else:
                cleaned["staged"] = staged
        if cleaned.get("file") is None and cleaned["staged"] is None and "file" not in self.errors:
            self.add_error("file", "Choose a CSV file.")
        tenant = cleaned.get("tenant")
        if tenant is not None:
            foreign = [tag.name for tag in cleaned.get("tags") or [] if tag.tenant_id != tenant.pk]
            if foreign:
                self.add_error("tags", f"Not tags of {tenant}: {', '.join(sorted(foreign))}.")
        return cleaned


# --- the preview --------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnPreview:
    header: str
    meaning: str  # "" when the column is ignored


@dataclass(frozen=True)
class UploadPreview:
    file_name: str
    size: int
    delimiter: str
    columns: list[ColumnPreview]

    @property
    def recognised(self) -> list[ColumnPreview]:
        return [column for column in self.columns if column.meaning]

    @property
    def ignored(self) -> list[ColumnPreview]:
        return [column for column in self.columns if not column.meaning]


def preview_upload(*, head: bytes, tenant: Tenant, file_name: str, size: int) -> UploadPreview:
    """How an upload's columns will be read for this tenant; raises InvalidCsv as the
    service would (same checks: `inspect_upload`, then `map_columns`)."""
    shape = inspect_upload(head)
    definitions = list(custom_field_definition_list(tenant=tenant, entity_type=EntityType.CONTACT))
    columns = map_columns(shape.header, definitions)
    names = {definition.public_id: definition for definition in definitions}
    return UploadPreview(
        file_name=file_name,
        size=size,
        delimiter=DELIMITER_NAMES.get(shape.delimiter, shape.delimiter),
        columns=[
            ColumnPreview(header=cell, meaning=_meaning(target, names))
            for cell, target in zip(columns.header, columns.targets, strict=True)
        ],
    )


def _meaning(target, definitions) -> str:
    if target is None:
        return ""
    if target.kind is Kind.NAME:
        return "Name"
    if target.kind is Kind.TAGS:
        return "Tags (names separated by ; or |)"
    if target.kind is Kind.IDENTITY:
        return f"Identity: {Channel(target.key).label}"
    if target.key == "cf_email":
        return "E-mail"
    if target.key == "cf_phone":
        return "Phone"
    definition = definitions.get(target.key)
    if definition is None:  # cannot happen: map_columns only targets these definitions
        return f"Custom field: {target.key}"
    return f"Custom field: {definition.name} ({definition.type})"


# --- staging ------------------------------------------------------------------------------


def _stage(upload, *, tenant: Tenant, user) -> StagedUpload:
    stored = default_storage.save(f"{STAGING_DIR}/{tenant.pk}/{uuid.uuid4().hex}.csv", upload)
    return StagedUpload(
        path=stored, file_name=upload.name, size=upload.size, tenant_id=tenant.pk, user_id=user.pk
    )


def _unstage(staged: StagedUpload | None) -> None:
    if staged is not None:
        default_storage.delete(staged.path)


def _purge_stale_staged(tenant: Tenant) -> None:
    """Delete this tenant's staged uploads whose tokens have expired (abandoned previews)."""
    folder = f"{STAGING_DIR}/{tenant.pk}"
    cutoff = timezone.now() - STAGED_MAX_AGE - timedelta(minutes=5)
    try:
        _, names = default_storage.listdir(folder)
        for name in names:
            if default_storage.get_modified_time(f"{folder}/{name}") < cutoff:
                default_storage.delete(f"{folder}/{name}")
    except (FileNotFoundError, NotImplementedError):
        return


# --- the admin ----------------------------------------------------------------------------


@admin.register(ContactImport)
class ContactImportAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """Imports of the user's tenants; any member may run one (agents too)."""

    list_display = [
        "file_name",
        "tenant",
        "status",
        "dry_run",
        "rows",
        "created",
        "updated",
        "skipped",
        "failed",
        "created_by",
        "created_at",
    ]
    list_filter = [TenantListFilter, "status"]
    list_select_related = ["tenant"]
    search_fields = ["file_name"]
    ordering = ["-created_at", "-id"]
    actions = None

    @admin.display(description="rows done")
    def rows(self, obj):
        total = "?" if obj.total_rows is None else obj.total_rows
        return f"{obj.processed_rows} / {total}"

    @admin.display(description="created", ordering="created_count")
    def created(self, obj):
        return obj.created_count

    @admin.display(description="updated", ordering="updated_count")
    def updated(self, obj):
        return obj.updated_count

    @admin.display(description="skipped", ordering="skipped_count")
    def skipped(self, obj):
        return obj.skipped_count

    @admin.display(description="failed", ordering="failed_count")
    def failed(self, obj):
        return obj.failed_count

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
            preview = self._preview(form, upload, tenant, upload.name, upload.size)
            if preview is None:
                return None, None
            shown = None
            if start and staged is not None and staged.tenant_id == tenant.pk:
                try:
                    with default_storage.open(staged.path, "rb") as stored:
                        shown = preview_upload(
                            head=stored.read(SNIFF_BYTES),
                            tenant=tenant,
                            file_name=staged.file_name,
                            size=staged.size,
                        )
                except (FileNotFoundError, InvalidCsv):
                    shown = None  # nothing to compare with: the new file is previewed
            _unstage(staged)
            if shown is not None and shown.columns == preview.columns:
                # Chosen again at step two with the columns just shown: start with it.
                imp = self._create(request, form, upload)
                if imp is not None:
                    return imp, None
            if start and not form.errors:
                messages.warning(
                    request, "These are the columns of the new file: check them, then start."
                )
            _purge_stale_staged(tenant)
            self._set_staged(form, _stage(upload, tenant=tenant, user=request.user))
            return None, preview
        preview = self._preview_staged(form, staged, tenant)
        if preview is None:
            return None, None
        if staged.tenant_id != tenant.pk:
            # Columns are read per tenant: show them for this one before starting.
            staged = StagedUpload(
                staged.path, staged.file_name, staged.size, tenant.pk, request.user.pk
            )
            self._set_staged(form, staged)
            return None, preview
        if not start:
            return None, preview
        with default_storage.open(staged.path, "rb") as stored:
            imp = self._create(request, form, File(stored, name=staged.file_name))
        if imp is None:
            return None, preview
        _unstage(staged)
        return imp, None

    @staticmethod
    def _preview(form, file, tenant, file_name, size) -> UploadPreview | None:
        head = file.read(SNIFF_BYTES)
        file.seek(0)
        try:
            return preview_upload(head=head, tenant=tenant, file_name=file_name, size=size)
        except InvalidCsv as exc:
            form.add_error("file", exc.message)
            return None

    def _preview_staged(self, form, staged, tenant) -> UploadPreview | None:
        """The staged file's columns for `tenant`; None (and a form error, and the staged
        file dropped) when it is gone or cannot be read for this tenant."""
        try:
            with default_storage.open(staged.path, "rb") as stored:
                preview = self._preview(form, stored, tenant, staged.file_name, staged.size)
        except FileNotFoundError:
            form.add_error("file", "The previewed file has expired: choose it again.")
            preview = None
        if preview is None:
            _unstage(staged)
            self._set_staged(form, None)
        return preview

    def _create(self, request, form, upload) -> ContactImport | None:
        """The job, through the service; None with form errors when it refuses."""
        data = form.cleaned_data
        try:
            with transaction.atomic():
                imp = contact_import_create(
                    tenant=data["tenant"],
                    created_by=request.user.pk,
                    upload=upload,
                    mode=data["mode"],
                    dry_run=data["dry_run"],
                    tag_ids=[tag.pk for tag in data["tags"]],
                )
                self.log_addition(request, imp, [{"added": {}}])
        except InvalidCsvUpload as exc:
            form.add_error("file", exc.detail)
            return None
        except ValidationFailed as exc:
            for violation in exc.violations:
                field = "tags" if violation.field.startswith("tagIds") else None
                form.add_error(field, violation.message)
            return None
        messages.success(request, f"The import of {imp.file_name} has started.")
        return imp

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
        errors = contact_import_first_errors(contact_import=imp)[:ERRORS_SHOWN]
        context = self._context(
            request,
            title=f"Import of {imp.file_name}",
            subtitle=None,
            original=imp,
            imp=imp,
            bar=_progress_bar(imp),
            finished=imp.status in FINISHED,
            started_by=_user_label(imp.created_by),
            tag_names=list(
                Tag.objects.filter(tenant_id=imp.tenant_id, pk__in=imp.tag_ids)
                .order_by(Lower("name"))
                .values_list("name", flat=True)
            ),
            errors=errors,
            errors_capped=imp.error_count > len(errors),
            progress_url=self._url("progress", quote(imp.pk)),
            errors_csv_url=self._url("errors_csv", quote(imp.pk)),
            import_again_url=f"{self._url('add')}?tenant={imp.tenant_id}",
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
    """What the job page's poll shows; the names are those of the API's ImportStatus."""
    return {
        "status": imp.status,
        "totalRows": imp.total_rows,
        "processedRows": imp.processed_rows,
        "createdCount": imp.created_count,
        "updatedCount": imp.updated_count,
        "skippedCount": imp.skipped_count,
        "failedCount": imp.failed_count,
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


def _user_label(actor_id: str) -> str:
    """A staff user's name with their id; API callers (`svc_…`) by id alone."""
    user = User.objects.filter(pk=actor_id).only("username").first()
    return f"{user.username} ({actor_id})" if user else actor_id
