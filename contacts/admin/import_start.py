"""Starting an import from the admin: the form, the preview of how each column will be
read, and the staging of the upload between the preview and the start.

The staged file is named by the server and travels between the two steps in a signed
token bound to the user, the tenant and a maximum age; it is deleted when the import
starts, and abandoned ones are purged.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from customfields.models import EntityType
from customfields.selectors import custom_field_definition_list
from flownally_admin.tenancy.models import Tenant
from tags.models import Tag

from ..importing.columns import Kind, map_columns
from ..importing.sniff import inspect_upload
from ..models import Channel, ImportMode

STAGING_DIR = "imports/staging"
STAGED_MAX_AGE = timedelta(hours=6)
_STAGED_SALT = "contacts.admin.import_start.staged"
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


def stage_upload(upload, *, tenant: Tenant, user) -> StagedUpload:
    stored = default_storage.save(f"{STAGING_DIR}/{tenant.pk}/{uuid.uuid4().hex}.csv", upload)
    return StagedUpload(
        path=stored, file_name=upload.name, size=upload.size, tenant_id=tenant.pk, user_id=user.pk
    )


def unstage(staged: StagedUpload | None) -> None:
    if staged is not None:
        default_storage.delete(staged.path)


def purge_stale_staged(tenant: Tenant) -> None:
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
