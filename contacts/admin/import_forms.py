"""The form that starts an import in the admin: a file (or the one staged at its preview),
the tenant and the import's options."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat

from flownally_admin.tenancy.models import Tenant
from tags.models import Tag

from ..importing.staging import StagedUploadGone, contact_import_staged_get
from ..models import Contact, ImportMode


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
        # The contact form's autocomplete: it searches the tags the user may see (TagAdmin)
        # instead of listing every tag of every tenant in the page.
        widget=AutocompleteSelectMultiple(Contact._meta.get_field("tags"), admin.site),
        help_text="Added to every imported contact, besides the tags the file's tags column "
        "names. Type to find a tag.",
    )

    def __init__(self, *args, tenants, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["tenant"].queryset = tenants
        self.fields["tags"].queryset = Tag.objects.filter(tenant__in=tenants).order_by(
            Lower("name")
        )

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
                cleaned["staged"] = contact_import_staged_get(token=token, user_id=self.user.pk)
            except StagedUploadGone as exc:
                if cleaned.get("file") is None:
                    self.add_error("file", exc.detail)
        if cleaned.get("file") is None and cleaned["staged"] is None and "file" not in self.errors:
            self.add_error("file", "Choose a CSV file.")
        tenant = cleaned.get("tenant")
        if tenant is not None:
            foreign = [tag.name for tag in cleaned.get("tags") or [] if tag.tenant_id != tenant.pk]
            if foreign:
                self.add_error("tags", f"Not tags of {tenant}: {', '.join(sorted(foreign))}.")
        return cleaned
