"""The contacts admin: where support staff find and fix contacts while a customer waits.

The changelist stays fast on a million contacts (capped counts, the API's search,
prefetched identities and tags); the edit page is the admin's own view so that a
contact, its identities, tags and custom fields are saved in one service call and
any error the services raise lands next to the field it concerns.
"""

from functools import cached_property

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from flownally_admin.admin_display import truncated
from flownally_admin.errors import ApplicationError, ValidationFailed
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.admin import TenantListFilter, TenantScopedAdminMixin
from flownally_admin.tenancy.models import Tenant
from tags.models import Tag
from tags.selectors import TagNotFound, tag_list
from tags.services import tag_create, tag_name_normalize

from ..filtersets import ContactFilterSet
from ..merging import contact_duplicates
from ..models import Channel, Contact, ContactImport, ContactImportDuplicate, Identity
from ..selectors import contact_definitions, contact_search
from ..services import (
    contact_archive,
    contact_create,
    contact_delete,
    contact_restore,
    contact_tag_add,
    contact_tag_remove,
    contact_unarchive,
    contact_update,
    contact_validate,
)
from .contact_forms import (
    ContactForm,
    IdentityFormSet,
    identity_initial,
    initial_for,
    service_input,
    show_service_error,
)
from .export import export_selected_contacts, export_start_url, export_start_view, export_tenants
from .history import contact_timeline
from .merge import MERGE_SELECTED_MAX, merge_url, merge_view

COUNT_CAP = 10_000
NAMES_SHOWN = 10  # contacts named in one message of an action


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows: an exact COUNT(*) of a million contacts on every
    page view would cost more than the page itself."""

    @cached_property
    def count(self):
        return self.object_list[: COUNT_CAP + 1].count()


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("archived", "Archived"),
            ("all", "All (active and archived)"),
            ("deleted", "Deleted"),
        ]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Active",
        }
        yield from list(super().choices(changelist))[1:]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        queryset = queryset.filter(deleted_at__isnull=True)
        if value == "archived":
            return queryset.filter(archived=True)
        if value == "all":
            return queryset
        return queryset.filter(archived=False)


class ChannelFilter(admin.SimpleListFilter):
    """The API's `channels` filter, for one channel; a value that names none matches
    nothing."""

    title = "channel"
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        return Channel.choices

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        if self.value() not in Channel.values:
            return queryset.none()
        return ContactFilterSet.base_filters["channels"].filter(queryset, [self.value()])


class TagFilter(admin.SimpleListFilter):
    """The API's `tagIds` filter, for one tag (an id that cannot be a tag's matches
    nothing)."""

    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        tags = Tag.objects.filter(tenant__in=model_admin.user_tenants(request)).order_by("name")
        return [(tag.pk, tag.name) for tag in tags[:200]]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return ContactFilterSet.base_filters["tagIds"].filter(queryset, [self.value()])


class ImportDuplicatesFilter(admin.SimpleListFilter):
    """The contacts an import created that looked like duplicates of others (the link on a
    finished import's page): as many as the import counted, read through its list of them
    (ContactImportDuplicate), never by testing every contact it created. Each one's page
    shows its possible duplicates now, and merges from there."""

    title = "possible duplicates from import"
    parameter_name = "duplicates_of_import"

    def lookups(self, request, model_admin):
        # Offered only while applied (the import's page links here); always a choice then,
        # since Django applies only a filter that offers one.
        import_id = self.value()
        if import_id is None:
            return []
        imp = None
        if is_valid_id(import_id, "imp"):
            imp = ContactImport.objects.filter(
                pk=import_id, tenant_id__in=model_admin.user_tenant_ids(request)
            ).first()
        return [(import_id, imp.file_name if imp else "(no such import)")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        listed = ContactImportDuplicate.objects.filter(contact_import_id=self.value())
        return queryset.filter(pk__in=listed.values("contact_id"))


def import_duplicates_url(imp: ContactImport) -> str:
    """The contacts list showing those this import counted as possible duplicates, archived
    or not."""
    query = urlencode({ImportDuplicatesFilter.parameter_name: imp.pk, "state": "all"})
    return f"{reverse('admin:contacts_contact_changelist')}?{query}"


class ContactActionForm(ActionForm):
    tag = forms.CharField(required=False, label="Tag", help_text="for add/remove tag")


@admin.register(Contact)
class ContactAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "display_name",
        "email",
        "phone",
        "channels",
        "tag_names",
        "archived",
        "created_at",
    ]
    list_filter = [
        StateFilter,
        TenantListFilter,
        ChannelFilter,
        TagFilter,
        "created_at",
        ImportDuplicatesFilter,
    ]
    search_fields = ["search_text"]  # shows the box; get_search_results does the searching
    search_help_text = "Name, e-mail, phone, WhatsApp/SMS number or tag"
    ordering = ["-created_at", "-id"]
    sortable_by = ["display_name", "created_at"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    action_form = ContactActionForm
    actions = [
        "archive",
        "unarchive",
        "add_tag",
        "remove_tag",
        "soft_delete",
        "restore",
        "merge_selected",
        "export_selected",
    ]
    change_list_template = "admin/contacts/contact/change_list.html"

    def get_queryset(self, request):
        # StateFilter decides between live and deleted contacts, so do not filter here.
        return (
            super()
            .get_queryset(request)
            .annotate(name_key=Lower("name"))
            .prefetch_related(
                Prefetch("identities", queryset=Identity.objects.filter(active=True)),
                Prefetch("tags", queryset=Tag.objects.order_by("name")),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        """The API's `search`, over the tenants the user may see (one query for their tags)."""
        term = search_term.strip()[:200]
        if not term:
            return queryset, False
        if request.user.is_superuser:
            tenant_ids = list(
                Tag.objects.filter(name__icontains=term).values_list("tenant_id", flat=True)
            )
        else:
            tenant_ids = self.user_tenant_ids(request)
        return queryset.filter(contact_search(tenant_ids=tenant_ids, term=term).q()), False

    def changelist_view(self, request, extra_context=None):
        """The list, with "Export" (of its search and filters) for those who may export."""
        export_url = export_start_url(request.GET) if self.has_export_permission(request) else None
        return super().changelist_view(request, {**(extra_context or {}), "export_url": export_url})

    def has_export_permission(self, request):
        """Owners and admins of a workspace (EXPORT_ROLES) export its contacts."""
        return bool(export_tenants(request))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # contacts are soft-deleted through the service
        return actions

    def has_delete_permission(self, request, obj=None):
        return False  # "delete" is the soft-delete action, which keeps the row for a restore

    # --- columns ------------------------------------------------------------------

    @admin.display(description="name", ordering="name_key")
    def display_name(self, contact):
        return contact.name or "(no name)"

    @admin.display(description="e-mail")
    def email(self, contact):
        return truncated(contact.custom_fields.get("cf_email"))

    @admin.display(description="phone")
    def phone(self, contact):
        return contact.custom_fields.get("cf_phone", "")

    @admin.display(description="channels")
    def channels(self, contact):
        return ", ".join(sorted({i.get_channel_display() for i in contact.identities.all()}))

    @admin.display(description="tags")
    def tag_names(self, contact):
        return ", ".join(tag.name for tag in contact.tags.all())

    # --- actions: each goes through the service, contact by contact -------------------

    def _apply(self, request, queryset, label, change):
        """`change` (a service call) for each contact, then how many changed and, in red,
        why the others were left as they were: one message per reason, in the services'
        own words, naming the contacts it concerns."""
        changed, refusals = 0, {}
        for contact in queryset.select_related("tenant"):
            try:
                with transaction.atomic():
                    change(contact)
            except ApplicationError as exc:
                refusals.setdefault(" ".join(exc.reasons()), []).append(str(contact))
                continue
            changed += 1
            self.log_change(request, contact, label)
        left = sum(len(names) for names in refusals.values())
        message = f"{label}: {changed} contact{'s' if changed != 1 else ''} changed"
        if left:
            message += f", {left} left as they were"
        self.message_user(request, message + ".", messages.SUCCESS if changed else messages.ERROR)
        for reason, names in refusals.items():
            self.message_user(request, f"{_some_of(names)}: {reason}", messages.ERROR)

    @admin.action(description="Archive selected contacts")
    def archive(self, request, queryset):
        self._apply(
            request,
            queryset,
            "Archived",
            lambda c: contact_archive(tenant=c.tenant, contact_id=c.pk),
        )

    @admin.action(description="Unarchive selected contacts")
    def unarchive(self, request, queryset):
        self._apply(
            request,
            queryset,
            "Unarchived",
            lambda c: contact_unarchive(tenant=c.tenant, contact_id=c.pk),
        )

    @admin.action(description="Add the tag named below")
    def add_tag(self, request, queryset):
        """Tags the contacts; where a workspace has no tag of that name, offers to create it
        (a confirmation page that posts back here with `create_tag`), if the user may."""
        name = self._tag_name(request)
        if name is None:
            return None
        tags, missing = _tags_named(queryset, name)
        if missing:
            tag_admin = self.admin_site.get_model_admin(Tag)
            may_create = tag_admin.has_add_permission(request)
            if "create_tag" in request.POST:
                if not may_create:
                    raise PermissionDenied
                created = self._create_tags(request, tag_admin, name, missing)
                if created is None:
                    return None
                tags.update(created)
            elif may_create:
                return self._create_tag_confirmation(request, queryset, name, missing)
        self._tag_contacts(request, queryset, name, tags, contact_tag_add, "Tagged")
        return None

    @admin.action(description="Remove the tag named below")
    def remove_tag(self, request, queryset):
        name = self._tag_name(request)
        if name is not None:
            tags, _ = _tags_named(queryset, name)
            self._tag_contacts(request, queryset, name, tags, contact_tag_remove, "Untagged")

    def _tag_name(self, request) -> str | None:
        """The Tag box's name, if it can name a tag (else None, and the reason in red)."""
        try:
            return tag_name_normalize(request.POST.get("tag"))
        except ValidationFailed as exc:
            self.message_user(
                request, f"Name the tag in the Tag box: {exc.reasons()[0]}", messages.ERROR
            )
            return None

    def _tag_contacts(self, request, queryset, name, tags: dict, service, label):
        """`service` with the tag of each contact's workspace; a contact whose workspace
        has no such tag is left as it was, and says so."""

        def change(contact):
            tag = tags.get(contact.tenant_id)
            if tag is None:
                raise TagNotFound(f"{contact.tenant} has no tag named '{name}'.")
            service(tenant=contact.tenant, contact_id=contact.pk, tag_id=tag.pk)

        self._apply(request, queryset, f"{label} '{name}'", change)

    def _create_tags(self, request, tag_admin, name, tenants) -> dict | None:
        """The tag `name` in each of `tenants`, through the tag service: {tenant id: tag}.
        None, with the reason in red, if one cannot be created; then none is."""
        created = {}
        try:
            with transaction.atomic():
                for tenant in tenants:
                    created[tenant.pk] = tag_create(
                        tenant=tenant, name=name, created_by=request.user.pk
                    )
        except ApplicationError as exc:
            self.message_user(
                request,
                f"The tag '{name}' was not created: {' '.join(exc.reasons())}",
                messages.ERROR,
            )
            return None
        for tag in created.values():
            tag_admin.log_addition(request, tag, [{"added": {}}])
        where = ", ".join(str(tenant) for tenant in tenants)
        self.message_user(request, f"Created the tag '{name}' in {where}.", messages.SUCCESS)
        return created

    def _create_tag_confirmation(self, request, queryset, name, tenants):
        """Asks before creating a tag: a misspelt name would otherwise become a new tag.
        The page posts the same action, selection and name back, with `create_tag`."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Create the tag '{name}'?",
            "tag_name": name,
            "tenants": tenants,
            "selected_count": queryset[: COUNT_CAP + 1].count(),
            "count_cap": COUNT_CAP,
            "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/contacts/contact/create_tag_confirmation.html", context
        )

    @admin.action(description="Delete selected contacts (restorable)")
    def soft_delete(self, request, queryset):
        self._apply(
            request, queryset, "Deleted", lambda c: contact_delete(tenant=c.tenant, contact_id=c.pk)
        )

    @admin.action(description="Restore selected deleted contacts")
    def restore(self, request, queryset):
        self._apply(
            request,
            queryset,
            "Restored",
            lambda c: contact_restore(tenant=c.tenant, contact_id=c.pk),
        )

    @admin.action(description="Merge selected contacts (2 to 10)")
    def merge_selected(self, request, queryset):
        """To the merge screen, the oldest contact preselected as the one kept."""
        live = queryset.filter(deleted_at__isnull=True).order_by("created_at", "pk")
        ids = list(live.values_list("pk", flat=True)[: MERGE_SELECTED_MAX + 1])
        if not 2 <= len(ids) <= MERGE_SELECTED_MAX:
            self.message_user(
                request, f"Select 2 to {MERGE_SELECTED_MAX} live contacts to merge.", messages.ERROR
            )
            return None
        return HttpResponseRedirect(merge_url(ids))

    @admin.action(description="Export selected contacts", permissions=["export"])
    def export_selected(self, request, queryset):
        return export_selected_contacts(self, request, queryset)

    # --- history: the contact's events ---------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        """The event timeline rather than Django's log of admin actions: it shows every
        change, from every door. Deleted contacts' too, for staff who may restore them."""
        contact = None
        contact_id = unquote(object_id)
        if is_valid_id(contact_id, "ctc"):
            contact = super().get_queryset(request).filter(pk=contact_id).first()
        if contact is None:
            raise Http404("No such contact.")
        allowed = (
            self.has_change_permission(request, contact)
            if contact.deleted_at
            else self.has_view_or_change_permission(request, contact)
        )
        if not allowed:
            raise PermissionDenied
        entries, page = contact_timeline(contact, request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"History of {contact}",
            "contact": contact,
            "entries": entries,
            "page": page,
        }
        return TemplateResponse(request, "admin/contacts/contact/history.html", context)

    # --- the edit page ------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        edit = self.admin_site.admin_view(self.edit_view)
        merge = self.admin_site.admin_view(lambda request: merge_view(self, request))
        export = self.admin_site.admin_view(lambda request: export_start_view(self, request))
        return [
            path("add/", edit, name="{}_{}_add".format(*info)),
            path("merge/", merge, name="{}_{}_merge".format(*info)),
            path("export/", export, name="{}_{}_export".format(*info)),
            path("<path:object_id>/change/", edit, name="{}_{}_change".format(*info)),
            *super().get_urls(),
        ]

    def edit_view(self, request, object_id=None):
        contact = None
        if object_id is not None:
            contact_id = unquote(object_id)
            if is_valid_id(contact_id, "ctc"):
                contact = (
                    self.get_queryset(request)
                    .filter(pk=contact_id, deleted_at__isnull=True)
                    .first()
                )
            if contact is None:
                return self._merged_or_404(request, contact_id)
            if not self.has_change_permission(request, contact):
                raise PermissionDenied
            tenant = contact.tenant
        else:
            if not self.has_add_permission(request):
                raise PermissionDenied
            tenants = list(self.user_tenants(request))
            wanted = request.GET.get("tenant") or request.POST.get("tenant")
            tenant = next(
                (t for t in tenants if t.pk == wanted), tenants[0] if len(tenants) == 1 else None
            )
            if tenant is None:
                return TemplateResponse(
                    request,
                    "admin/contacts/contact/choose_tenant.html",
                    {
                        **self.admin_site.each_context(request),
                        "opts": self.opts,
                        "tenants": tenants,
                        "title": "Add contact",
                    },
                )
        definitions = contact_definitions(tenant=tenant)
        if request.method == "POST":
            form = ContactForm(request.POST, tenant=tenant, definitions=definitions)
            formset = IdentityFormSet(request.POST, prefix="identities")
            form_valid, formset_valid = form.is_valid(), formset.is_valid()  # both, for errors
            if form_valid and formset_valid:
                saved = self._save(request, form, formset, tenant, contact)
                if saved is not None:
                    return HttpResponseRedirect(
                        reverse("admin:contacts_contact_change", args=[saved.pk])
                        if "_continue" in request.POST
                        else reverse("admin:contacts_contact_changelist")
                    )
            else:
                members, sent_rows = service_input(form, formset)
                try:
                    contact_validate(tenant=tenant, **members)
                except ApplicationError as exc:
                    show_service_error(exc, form, formset, sent_rows)
        elif contact is not None:
            form = ContactForm(initial=initial_for(contact), tenant=tenant, definitions=definitions)
            formset = IdentityFormSet(initial=identity_initial(contact), prefix="identities")
        else:
            form = ContactForm(tenant=tenant, definitions=definitions)
            formset = IdentityFormSet(prefix="identities")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Change contact {contact}" if contact else "Add contact",
            "contact": contact,
            "tenant": tenant,
            "form": form,
            "formset": formset,
            "custom_fields": [form[name] for name in form.custom_field_names()],
            "media": self.media + form.media + formset.media,
            "duplicates": _duplicates_panel(contact) if contact else None,
        }
        return TemplateResponse(request, "admin/contacts/contact/edit.html", context)

    def _merged_or_404(self, request, contact_id: str):
        """A contact merged into another: to the one it went into, saying so (bookmarks and
        the duplicates list outlive a merge). Anything else is not found."""
        target = None
        if is_valid_id(contact_id, "ctc"):
            target = (
                super()
                .get_queryset(request)
                .filter(pk=contact_id, deleted_at__isnull=False, merged_into__isnull=False)
                .values_list("merged_into_id", flat=True)
                .first()
            )
        if target is None:
            raise Http404("No such contact.")
        self.message_user(
            request, f"Contact {contact_id} was merged into this contact.", messages.INFO
        )
        return HttpResponseRedirect(reverse("admin:contacts_contact_change", args=[target]))

    def _save(self, request, form, formset, tenant, contact):
        """One service call; on failure its errors are put on the form and None returned."""
        members, sent_rows = service_input(form, formset)
        try:
            if contact is None:
                saved = contact_create(tenant=tenant, created_by=request.user.pk, **members)
                self.log_addition(request, saved, [{"added": {}}])
            else:
                saved = contact_update(
                    tenant=tenant,
                    contact_id=contact.pk,
                    if_match=form.cleaned_data.get("etag") or None,
                    **members,
                )
                self.log_change(request, saved, [{"changed": {"fields": list(form.changed_data)}}])
        except ApplicationError as exc:
            show_service_error(exc, form, formset, sent_rows)
            return None
        self.message_user(request, f"Saved {saved}.", messages.SUCCESS)
        return saved


def _tags_named(queryset, name: str) -> tuple[dict, list]:
    """The tag called `name` (in any case) in each workspace of the selected contacts:
    ({tenant id: tag}, [the workspaces that have none]). One query per workspace; a
    selection rarely spans more than one."""
    tenants = Tenant.objects.filter(pk__in=queryset.values("tenant_id")).order_by("name")
    tags, missing = {}, []
    for tenant in tenants:
        tag = tag_list(tenant=tenant).filter(name_key=name.lower()).first()
        if tag is None:
            missing.append(tenant)
        else:
            tags[tenant.pk] = tag
    return tags, missing


def _some_of(names: list[str]) -> str:
    """ "Ada, Bob and 9 others": the first few names of a long list."""
    if len(names) <= NAMES_SHOWN:
        return ", ".join(names)
    return f"{', '.join(names[:NAMES_SHOWN])} and {len(names) - NAMES_SHOWN} others"


def _duplicates_panel(contact: Contact) -> dict:
    """The contact page's "Possible duplicates": each with a link to merge it into this
    contact, and one to merge as many as a merge screen takes."""
    duplicates = contact_duplicates(tenant=contact.tenant, contact_id=contact.pk)
    return {
        "rows": [(d, merge_url([contact.pk, d.contact.pk])) for d in duplicates],
        "merge_all_url": merge_url(
            [contact.pk, *(d.contact.pk for d in duplicates[: MERGE_SELECTED_MAX - 1])]
        )
        if len(duplicates) > 1
        else None,
    }
