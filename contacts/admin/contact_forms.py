"""The contact edit form of the admin: one typed field per custom field definition, the
identities as a formset, and the mapping of service errors back onto those fields.

The form only shapes input; every rule is the services' (contacts/validation.py), so
the admin shows the same errors as the API, next to the field they concern.
"""

import re

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.urls import reverse
from django.utils.html import format_html

from customfields.types import VALUE_TYPES
from flownally_admin.errors import ApplicationError, ValidationFailed
from tags.models import Tag

from ..models import Channel, Contact
from ..services import IdentityConflict, PreconditionFailed

CUSTOM_FIELD_PREFIX = "cf__"
_IDENTITY_PATH = re.compile(r"identities\[(\d+)\]\.(\w+)")
_IDENTITY_FIELDS = {"channel": "channel", "externalId": "external_id", "metadata": "metadata"}


class IdentityForm(forms.Form):
    channel = forms.ChoiceField(choices=[("", "---------"), *Channel.choices], required=False)
    external_id = forms.CharField(label="External id", required=False, strip=False)
    metadata = forms.JSONField(required=False, initial=dict)

    def as_service_input(self) -> dict | None:
        """The identity for the services, or None for a blank or deleted row."""
        data = self.cleaned_data
        if not data or data.get("DELETE") or not (data.get("channel") or data.get("external_id")):
            return None
        return {
            "channel": data.get("channel", ""),
            "externalId": data.get("external_id", ""),
            "metadata": data.get("metadata") or {},
        }


IdentityFormSet = forms.formset_factory(IdentityForm, extra=1, can_delete=True)


class ContactForm(forms.Form):
    name = forms.CharField(required=False, strip=False, max_length=1000)
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.none(),
        required=False,
        widget=AutocompleteSelectMultiple(Contact._meta.get_field("tags"), admin.site),
    )
    etag = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, tenant, definitions, **kwargs):
        super().__init__(*args, **kwargs)
        self.definitions = definitions
        self.fields["tags"].queryset = Tag.objects.filter(tenant=tenant).order_by("name")
        for definition in definitions:
            self.fields[CUSTOM_FIELD_PREFIX + definition.public_id] = VALUE_TYPES[
                definition.type
            ].form_field(label=definition.name, required=False)

    def custom_field_names(self) -> list[str]:
        return [CUSTOM_FIELD_PREFIX + d.public_id for d in self.definitions]

    def custom_field_values(self) -> dict[str, str]:
        """Every definition's value as the services take it ("" clears); none whose field
        has an error of its own (that error is shown, and "" would read as "clear")."""
        return {
            d.public_id: VALUE_TYPES[d.type].from_form(
                self.cleaned_data.get(CUSTOM_FIELD_PREFIX + d.public_id)
            )
            for d in self.definitions
            if CUSTOM_FIELD_PREFIX + d.public_id not in self.errors
        }


def service_input(form: ContactForm, formset) -> tuple[dict, list]:
    """The members for the services, from what the form and formset could read, and the
    formset forms whose identities they hold (`identities[i]` of the services is the i-th).

    Where the forms have errors, the members they could not read are left out, so that
    the services check the rest (contact_validate) and every error shows at once.
    """
    sent_rows = [
        row for row in formset.forms if not row.errors and row.as_service_input() is not None
    ]
    members = {"custom_fields": form.custom_field_values()}
    if "name" not in form.errors:
        members["name"] = form.cleaned_data["name"]
    if "tags" not in form.errors:
        members["tag_ids"] = [tag.pk for tag in form.cleaned_data["tags"]]
    if not formset.non_form_errors():
        members["identities"] = [row.as_service_input() for row in sent_rows]
    return members, sent_rows


def initial_for(contact: Contact) -> dict:
    initial = {"name": contact.name, "tags": list(contact.tags.all()), "etag": contact.etag}
    for definition_id, value in contact.custom_fields.items():
        initial[CUSTOM_FIELD_PREFIX + definition_id] = value
    return initial


def identity_initial(contact: Contact) -> list[dict]:
    return [
        {"channel": i.channel, "external_id": i.external_id, "metadata": i.metadata}
        for i in contact.identities.all()
    ]


def show_service_error(exc: ApplicationError, form: ContactForm, formset, sent_rows) -> None:
    """Put each error of a service next to the field it concerns: the one place that maps
    the services' member paths (`customFields.cf_…`, `identities[0].externalId`) to the
    form's fields; a path no field shows becomes an error of the whole form.

    `sent_rows` are the formset forms whose identities were sent, in order, so that
    `identities[i]` of the service is the i-th of them.
    """
    if isinstance(exc, IdentityConflict) and exc.field:
        holder = reverse("admin:contacts_contact_change", args=[exc.holder_id])
        message = format_html(
            "{} already belongs to <a href='{}'>another contact</a>.",
            exc.identity.external_id,
            holder,
        )
        _identity_error(exc.field, message, sent_rows, form)
        return
    if isinstance(exc, PreconditionFailed):
        form.add_error(
            None, "Someone else changed this contact while you were editing it; reload it first."
        )
        return
    if isinstance(exc, ValidationFailed):
        for violation in exc.violations:
            if violation.field == "name":
                form.add_error("name", violation.message)
            elif violation.field.startswith("tagIds"):
                form.add_error("tags", violation.message)
            elif violation.field.startswith("customFields."):
                name = CUSTOM_FIELD_PREFIX + violation.field.removeprefix("customFields.")
                form.add_error(name if name in form.fields else None, violation.message)
            elif violation.field.startswith("identities"):
                _identity_error(violation.field, violation.message, sent_rows, form)
            else:
                form.add_error(None, violation.message)
        return
    form.add_error(None, exc.detail)


def _identity_error(path: str, message, sent_rows, form) -> None:
    match = _IDENTITY_PATH.fullmatch(path)
    if match and int(match[1]) < len(sent_rows):
        sent_rows[int(match[1])].add_error(_IDENTITY_FIELDS.get(match[2]), message)
    else:
        form.add_error(None, message)
