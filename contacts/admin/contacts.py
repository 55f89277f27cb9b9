"""The contacts admin: where support staff find and fix contacts while a customer waits.

The changelist stays fast on a million contacts (capped counts, the API's search,
prefetched identities and tags); the edit page is the admin's own view so that a
contact, its identities, tags and custom fields are saved in one service call and
any error the services raise lands next to the field it concerns.
"""

from functools import cached_property

from django import forms
from django.contrib import admin, messages
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

from flownally_admin.admin_display import truncated
from flownally_admin.errors import ApplicationError
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.admin import TenantListFilter, TenantScopedAdminMixin
from tags.models import Tag

from ..filtersets import ContactFilterSet
from ..merging import contact_duplicates
from ..models import Channel, Contact, Identity
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
)
from .contact_forms import (
    ContactForm,
    IdentityFormSet,
    identity_initial,
    initial_for,
    show_service_error,
)
from .history import contact_timeline
from .merge import MERGE_SELECTED_MAX, merge_url, merge_view

COUNT_CAP = 10_000
REFUSALS_SHOWN = 10


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
    list_filter = [StateFilter, TenantListFilter, ChannelFilter, TagFilter, "created_at"]
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
        changed, refusals = 0, []
        for contact in queryset.select_related("tenant"):
            try:
                with transaction.atomic():
                    change(contact)
                changed += 1
                self.log_change(request, contact, label)
            except ApplicationError as exc:
                refusals.append(f"{contact}: {exc.detail}")
        message = f"{label}: {changed} contact{'s' if changed != 1 else ''} changed"
        if refusals:
            message += f", {len(refusals)} left as they were"
        self.message_user(request, message + ".", messages.SUCCESS)
        for refusal in refusals[:REFUSALS_SHOWN]:  # why, in the services' own words
            self.message_user(request, refusal, messages.WARNING)

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
        self._tag_action(request, queryset, contact_tag_add, "Tagged")

    @admin.action(description="Remove the tag named below")
    def remove_tag(self, request, queryset):
        self._tag_action(request, queryset, contact_tag_remove, "Untagged")

    def _tag_action(self, request, queryset, service, label):
        name = request.POST.get("tag", "").strip()
        if not name:
            self.message_user(request, "Name the tag in the Tag box.", messages.ERROR)
            return

        def change(contact):
            tag = Tag.objects.filter(tenant=contact.tenant, name__iexact=name).first()
            if tag is None:
                raise ApplicationError(f"No tag named {name}")
            service(tenant=contact.tenant, contact_id=contact.pk, tag_id=tag.pk)

        self._apply(request, queryset, f"{label} '{name}'", change)

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
        return [
            path("add/", edit, name="{}_{}_add".format(*info)),
            path("merge/", merge, name="{}_{}_merge".format(*info)),
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
                raise Http404("No such contact.")
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
            if form.is_valid() and formset.is_valid():
                saved = self._save(request, form, formset, tenant, contact)
                if saved is not None:
                    return HttpResponseRedirect(
                        reverse("admin:contacts_contact_change", args=[saved.pk])
                        if "_continue" in request.POST
                        else reverse("admin:contacts_contact_changelist")
                    )
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

    def _save(self, request, form, formset, tenant, contact):
        """One service call; on failure its errors are put on the form and None returned."""
        sent_rows = [f for f in formset.forms if f.as_service_input() is not None]
        members = {
            "name": form.cleaned_data["name"],
            "identities": [f.as_service_input() for f in sent_rows],
            "tag_ids": [tag.pk for tag in form.cleaned_data["tags"]],
            "custom_fields": form.custom_field_values(),
        }
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
