"""The admin's merge screen: contacts side by side, a choice where they differ, a preview of
the result, and the merge on confirm. It merges through `contact_merge`, the API's service,
so a refusal here is the API's refusal, shown as a message."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from flownally_admin.errors import ApplicationError, ValidationFailed

from ..merging import contact_merge
from ..representation import contact_data
from ..selectors import contact_definitions, contact_queryset
from ..services import PreconditionFailed

MERGE_SELECTED_MAX = 10  # contacts on one screen: a target and up to nine sources


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side table: (contact id, value) per contact, and whose
    value is picked when they differ (`choice` is the form field's name then, else "")."""

    label: str
    cells: list[tuple[str, str]]
    choice: str
    picked: str


def merge_url(contact_ids: list[str]) -> str:
    """The merge screen for these contacts, the first preselected as the one kept."""
    query = urlencode([("ids", contact_id) for contact_id in contact_ids])
    return f"{reverse('admin:contacts_contact_merge')}?{query}"


def merge_view(model_admin, request):
    data = request.POST if request.method == "POST" else request.GET
    ids = list(dict.fromkeys(data.getlist("ids")))
    changelist = reverse("admin:contacts_contact_changelist")
    allowed = model_admin.get_queryset(request).filter(pk__in=ids, deleted_at__isnull=True)
    found = dict(allowed.values_list("pk", "tenant_id"))
    if not 2 <= len(ids) <= MERGE_SELECTED_MAX or len(found) < len(ids):
        model_admin.message_user(
            request,
            f"Choose 2 to {MERGE_SELECTED_MAX} live contacts to merge; "
            f"{len(found)} of the {len(ids)} asked for can be merged.",
            messages.ERROR,
        )
        return HttpResponseRedirect(changelist)
    if len(set(found.values())) > 1:
        model_admin.message_user(
            request, "Contacts of different workspaces cannot be merged.", messages.ERROR
        )
        return HttpResponseRedirect(changelist)
    contacts = list(allowed.select_related("tenant"))
    if not all(model_admin.has_change_permission(request, c) for c in contacts):
        raise PermissionDenied
    tenant = contacts[0].tenant
    target_id = data.get("target") if data.get("target") in ids else ids[0]
    source_ids = [contact_id for contact_id in ids if contact_id != target_id]
    definitions = contact_definitions(tenant=tenant)
    documents = {
        pk: contact_data(contact, definitions)
        for pk, contact in contact_queryset(tenant=tenant).in_bulk(ids).items()
    }
    ordered = [documents[target_id], *(documents[pk] for pk in source_ids)]
    rows = _rows(ordered, definitions)
    # The choices shown were laid out around the contact kept then (`etag_of`); when staff
    # keep another, its own values are the starting point again, and nothing is merged
    # before they have seen that preview.
    retargeted = data.get("etag_of", target_id) != target_id
    picks = (
        {}
        if retargeted
        else {row.choice: data[row.choice] for row in rows if data.get(row.choice) in ids}
    )
    request_kwargs = {
        "tenant": tenant,
        "target_id": target_id,
        "source_ids": source_ids,
        "pick_name": picks.get("pick_name"),
        "pick_custom_fields": {
            choice.removeprefix("pick_field_"): contact_id
            for choice, contact_id in picks.items()
            if choice.startswith("pick_field_")
        },
    }
    if request.method == "POST" and "_merge" in request.POST and retargeted:
        model_admin.message_user(
            request,
            "Not merged yet: another contact is kept now. Check the preview, then merge.",
            messages.WARNING,
        )
    elif request.method == "POST" and "_merge" in request.POST:
        try:
            # The ETag shown guards the contact kept (the one shown, as `retargeted` says).
            merged = contact_merge(**request_kwargs, if_match=request.POST.get("etag") or None)
        except ApplicationError as exc:
            model_admin.message_user(request, _refusal(exc), messages.ERROR)
        else:
            model_admin.log_change(
                request, merged, [{"changed": {"fields": ["merged " + ", ".join(source_ids)]}}]
            )
            model_admin.message_user(
                request,
                f"Merged {len(source_ids)} contact{'s' if len(source_ids) > 1 else ''} "
                f"into {merged}.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:contacts_contact_change", args=[merged.pk]))
    try:
        preview = contact_data(contact_merge(**request_kwargs, preview=True), definitions)
    except ApplicationError as exc:
        model_admin.message_user(request, _refusal(exc), messages.ERROR)
        preview = None
    if preview is not None:
        rows = _rows(ordered, definitions, result=preview)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Merge contacts",
        "tenant": tenant,
        "ids": ids,
        "contacts": ordered,
        "target_id": target_id,
        "etag": contacts[[c.pk for c in contacts].index(target_id)].etag,
        "rows": rows,
        "preview": preview,
    }
    return TemplateResponse(request, "admin/contacts/contact/merge.html", context)


def _rows(documents: list[dict], definitions, result: dict | None = None) -> list[Row]:
    """Name and custom fields, a value per contact; where they differ, the contact whose
    value the result has (as the preview says) is the one picked."""
    columns = [
        ("Name", "pick_name", [d["name"] or "" for d in documents], (result or {}).get("name")),
    ]
    for definition in definitions:
        values = [
            next((v["value"] for v in d["customFields"] if v["id"] == definition.public_id), "")
            for d in documents
        ]
        result_values = {v["id"]: v["value"] for v in (result or {}).get("customFields", [])}
        chosen = result_values.get(definition.public_id)
        columns.append((definition.name, f"pick_field_{definition.public_id}", values, chosen))
    rows = []
    for label, choice, values, chosen in columns:
        if not any(values):
            continue
        cells = [(d["id"], value) for d, value in zip(documents, values, strict=True)]
        picked = next((pk for pk, value in cells if value == (chosen or "")), cells[0][0])
        rows.append(Row(label, cells, choice if len(set(values)) > 1 else "", picked))
    return rows


def _refusal(exc: ApplicationError) -> str:
    if isinstance(exc, ValidationFailed):
        return "Not merged: " + " ".join(v.message for v in exc.violations)
    if isinstance(exc, PreconditionFailed):
        return "Not merged: the contact kept has changed since this page was shown; check again."
    return f"Not merged: {exc.detail}"
