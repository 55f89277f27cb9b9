"""Exporting from the contacts changelist: "Export" (the list's current search and filters)
and the action "Export selected contacts".

The list's query string becomes an export's filters, the members of
`POST /v1/contacts/exports`, in one function (`changelist_export_filters`), so that the
file holds exactly the contacts the list showed; what it cannot say as filters is refused
in words, never dropped. The export itself is created by the exports app's service, as
over the API; its job page is exports/admin.py's.

An export is one workspace's file: its columns are that workspace's custom fields, and a
support person answers one customer at a time. So a list that spans several workspaces
asks which one to export (offering those where the user may export) rather than writing
several files or one mixed file of several customers' contacts.
"""

from dataclasses import dataclass
from datetime import datetime, time

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from events.types import Source
from exports.admin import export_contents
from exports.models import ContactExport
from exports.services import contact_export_create
from flownally_admin.api.filters import SEARCH_MAX_LENGTH
from flownally_admin.errors import ApplicationError
from flownally_admin.tenancy.models import Tenant
from flownally_admin.tenancy.scopes import EXPORT_ROLES
from flownally_admin.tenancy.selectors import tenant_list_for_user
from flownally_admin.timestamps import rfc3339

# Parameters that change how the list looks (order, page, all rows, facet counts, the
# error flag), not which contacts it lists.
VIEW_PARAMETERS = frozenset({"o", "p", "all", "_facets", "e"})
# The parameters the translation reads: the search box and the list filters.
TRANSLATED_PARAMETERS = frozenset(
    {"q", "tenant", "state", "channel", "tag", "created_at__gte", "created_at__lt"}
)
# List filters it cannot say as an export's filters, and what to do instead.
UNTRANSLATABLE_PARAMETERS = {
    "duplicates_of_import": "An export cannot keep to an import's possible duplicates: "
    "select them on the page and use the action “Export selected contacts”.",
}


class NotExportable(ApplicationError):
    """The list shows contacts that an export's filters cannot name; `reasons` say why
    and what to do instead."""

    code = "not_exportable"

    def __init__(self, reasons: list[str]):
        self._reasons = reasons
        super().__init__(" ".join(reasons))

    def reasons(self) -> list[str]:
        return self._reasons


@dataclass(frozen=True)
class ChangelistExport:
    """What a changelist's query string exports: the `filters` of an export, and the
    workspace its tenant filter names, if it names one."""

    tenant_id: str | None
    filters: dict


def changelist_export_filters(query: QueryDict) -> ChangelistExport:
    """The export filters that select exactly the contacts the contacts changelist lists
    for `query` (its query string), whatever its order or page; the tenant filter apart.

    Each parameter is read as the changelist reads it (a repeated one: its last value):
    `q` is the search box (trimmed, cut to 200 characters: the admin's search, which is
    the API's `search`); `state` none or anything but the three below lists active
    contacts (no `archived` member), `archived` archived ones (`archived: true`); `channel`
    and `tag` are the API's `channels` and `tagIds` filters with one value; the "created"
    filter's `created_at__gte` / `created_at__lt` are `createdAfter` (at or after) and
    `createdBefore` (before), as timestamps.

    Raises NotExportable, naming each parameter that no export filter can say: `state=all`
    (active and archived together: `archived` is one or the other), `state=deleted`
    (deleted contacts are never exported), an import's possible duplicates, a date that
    is not one, and any other field lookup the changelist would apply.
    """
    filters, reasons, tenant_id = {}, [], None
    for name, values in query.lists():
        value = values[-1]
        if name in VIEW_PARAMETERS:
            continue
        if name == "q":
            term = value.strip()[:SEARCH_MAX_LENGTH]
            if term:
                filters["search"] = term
        elif name == "tenant":
            tenant_id = value or None
        elif name == "state":
            if value == "archived":
                filters["archived"] = True
            elif value == "all":
                reasons.append(
                    "An export holds either active or archived contacts, not both: choose "
                    "“Active” or “Archived” under “By state”, and export each."
                )
            elif value == "deleted":
                reasons.append("Deleted contacts are not exported.")
        elif name == "channel":
            filters["channels"] = [value]
        elif name == "tag":
            filters["tagIds"] = [value]
        elif name in ("created_at__gte", "created_at__lt"):
            moment = _moment(value)
            if moment is None:
                reasons.append(f"The “created” filter's date '{value[:40]}' is not a date.")
            else:
                member = "createdAfter" if name == "created_at__gte" else "createdBefore"
                filters[member] = rfc3339(moment)
        elif name in UNTRANSLATABLE_PARAMETERS:
            reasons.append(UNTRANSLATABLE_PARAMETERS[name])
        else:
            reasons.append(f"The filter '{name[:40]}' cannot be exported.")
    if reasons:
        raise NotExportable(reasons)
    return ChangelistExport(tenant_id=tenant_id, filters=filters)


def _moment(value: str):
    """A date filter's value as the changelist's DateTimeField reads it: a datetime, or a
    date (its midnight); one without a zone is in the current time zone."""
    try:
        moment = parse_datetime(value.strip())
        if moment is None:
            day = parse_date(value.strip())
            if day is None:
                return None
            moment = datetime.combine(day, time())
    except ValueError:  # well-formed but impossible, like 2026-02-30
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


# --- who may export ---------------------------------------------------------------------


def export_tenants(request) -> list[Tenant]:
    """The workspaces where the user may export contacts (a superuser: every one); asked
    several times a page, so kept on the request."""
    if "_export_tenants" not in request.__dict__:
        request._export_tenants = list(
            tenant_list_for_user(user=request.user, roles=EXPORT_ROLES).order_by("name", "pk")
        )
    return request._export_tenants


def export_start_url(query: QueryDict) -> str:
    url = reverse("admin:contacts_contact_export")
    return f"{url}?{query.urlencode()}" if query else url


# --- the pages --------------------------------------------------------------------------


def export_start_view(model_admin, request):
    """GET: what the list's search and filters export, in words, and the workspace to
    export from when the list spans several. POST (the same query string): start it and
    go to its job page."""
    tenants = export_tenants(request)
    if not tenants:
        raise PermissionDenied
    query = request.GET
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Export contacts",
        "changelist_url": _changelist_url(query),
        "reasons": [],
    }
    try:
        selection = changelist_export_filters(query)
    except NotExportable as exc:
        context["reasons"] = exc.reasons()
        return TemplateResponse(request, "admin/contacts/contact/export.html", context)
    fixed, choices = _tenant_to_export(model_admin, request, selection, tenants)
    if fixed is None and not choices:
        context["reasons"] = [
            "You may not export this workspace's contacts: its owners and admins may."
        ]
        return TemplateResponse(request, "admin/contacts/contact/export.html", context)
    if request.method == "POST":
        wanted = request.POST.get("tenant")
        tenant = fixed or next((t for t in choices if t.pk == wanted), None)
        if tenant is None:
            context["tenant_error"] = "Choose the workspace to export from."
        else:
            export = _create(model_admin, request, tenant, filters=selection.filters)
            if export is not None:
                return HttpResponseRedirect(export_job_url(export))
    context.update(
        tenant=fixed,
        tenant_choices=choices,
        contents=export_contents(
            tenant_ids=[t.pk for t in ([fixed] if fixed else choices)],
            filters=selection.filters,
        ),
    )
    return TemplateResponse(request, "admin/contacts/contact/export.html", context)


def _tenant_to_export(model_admin, request, selection, tenants):
    """(the workspace to export, None) when the list names one or shows one, else (None,
    the workspaces to choose from). (None, []) when the user may not export the one the
    list shows."""
    shown = selection.tenant_id
    if shown is None:
        visible = list(model_admin.user_tenants(request)[:2])
        if len(visible) != 1:
            return None, tenants
        shown = visible[0].pk
    return next((t for t in tenants if t.pk == shown), None), []


def export_selected_contacts(model_admin, request, queryset):
    """The action: the rows ticked on this page by their ids; "select all" across pages
    by the list's filters instead (to the Export page, which says what that exports),
    never by a million ids."""
    if request.POST.get("select_across") == "1":
        return HttpResponseRedirect(export_start_url(request.GET))
    selected = list(queryset.values_list("pk", "tenant_id", "deleted_at"))
    deleted = sum(1 for _, _, deleted_at in selected if deleted_at is not None)
    tenant_ids = {tenant_id for _, tenant_id, _ in selected}
    if deleted:
        model_admin.message_user(
            request,
            f"Deleted contacts are not exported: {deleted} of the selected "
            f"{'is' if deleted == 1 else 'are'} deleted. Restore them first, or leave them out.",
            messages.ERROR,
        )
        return None
    if len(tenant_ids) > 1:
        model_admin.message_user(
            request,
            f"The selected contacts belong to {len(tenant_ids)} workspaces; an export holds "
            "one workspace's contacts. Filter the list by tenant, then select.",
            messages.ERROR,
        )
        return None
    tenant = next((t for t in export_tenants(request) if t.pk in tenant_ids), None)
    if tenant is None:
        model_admin.message_user(
            request,
            "You may not export this workspace's contacts: its owners and admins may.",
            messages.ERROR,
        )
        return None
    export = _create(model_admin, request, tenant, contact_ids=[pk for pk, _, _ in selected])
    return HttpResponseRedirect(export_job_url(export)) if export is not None else None


def _create(model_admin, request, tenant, **what) -> ContactExport | None:
    """The export, through the service; None, with the service's reasons in red, if it
    refuses (too many running, a filter it rejects)."""
    try:
        with transaction.atomic():
            export = contact_export_create(
                tenant=tenant, created_by=request.user.pk, source=Source.ADMIN, **what
            )
            export_admin = model_admin.admin_site.get_model_admin(ContactExport)
            export_admin.log_addition(request, export, [{"added": {}}])
    except ApplicationError as exc:
        for reason in exc.reasons():
            messages.error(request, f"The export was not started: {reason}")
        return None
    return export


def export_job_url(export: ContactExport) -> str:
    return reverse("admin:exports_contactexport_change", args=[quote(export.pk)])


def _changelist_url(query: QueryDict) -> str:
    url = reverse("admin:contacts_contact_changelist")
    return f"{url}?{query.urlencode()}" if query else url
