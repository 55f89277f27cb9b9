from django.contrib import admin
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.db import transaction

from flownally_admin.tenancy.admin import (
    ActorNamesMixin,
    NameCheckedByServiceForm,
    TenantListFilter,
    TenantScopedAdminMixin,
)

from .models import Tag
from .selectors import tag_contact_count, tag_list_with_contact_counts
from .services import tag_create, tag_delete, tag_rename, tag_validate


class TagAdminForm(NameCheckedByServiceForm):
    class Meta:
        model = Tag
        fields = ["tenant", "name"]

    def validate_name(self, tenant, name):
        return tag_validate(tenant=tenant, name=name, tag_id=self.instance.pk)


@admin.register(Tag)
class TagAdmin(ActorNamesMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    form = TagAdminForm
    list_display = ["name", "contact_count", "tenant", "created_by_name", "created_at"]
    list_filter = [TenantListFilter]
    search_fields = ["name"]
    ordering = ["name"]
    actions = ["delete_selected"]

    def changelist_view(self, request, extra_context=None):
        request.tag_contact_counts = True
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        """With contact counts for the list only: the tag autocomplete of the contact form is
        served from here too and should not count a popular tag's contacts on each keystroke."""
        tags = super().get_queryset(request)
        if getattr(request, "tag_contact_counts", False):
            return tag_list_with_contact_counts(tags=tags)
        return tags

    @admin.display(description="contacts", ordering="contact_count")
    def contact_count(self, tag):
        return tag.contact_count

    def get_readonly_fields(self, request, obj=None):
        if obj:
            return ["tenant", "created_by_name", "created_at"]
        return ["created_at"]

    def save_model(self, request, obj, form, change):
        """Writes go through the tag services, as they do from the API."""
        if change:
            saved = tag_rename(tenant=obj.tenant, tag_id=obj.pk, name=obj.name)
        else:
            saved = tag_create(tenant=obj.tenant, name=obj.name, created_by=request.user.pk)
        obj.pk, obj.created_by, obj.created_at = saved.pk, saved.created_by, saved.created_at

    def delete_model(self, request, obj):
        tag_delete(tenant=obj.tenant, tag_id=obj.pk)

    def delete_queryset(self, request, queryset):
        """Each tag through the service, all or none."""
        with transaction.atomic():
            for tag in queryset.select_related("tenant"):
                self.delete_model(request, tag)

    def get_deleted_objects(self, objs, request):
        """Lists the tags alone: the default walks and prints every contact assignment that
        goes with them, which on a popular tag is hundreds of thousands of rows. The
        confirmation says instead how many contacts lose the tags."""
        tags = list(objs)
        return [f"Tag: {tag}" for tag in tags], {"tags": len(tags)}, set(), []

    def render_delete_form(self, request, context):
        context["contact_count"] = tag_contact_count(
            tags=Tag.objects.filter(pk=context["object"].pk)
        )
        return super().render_delete_form(request, context)

    @admin.action(permissions=["delete"], description="Delete selected tags")
    def delete_selected(self, request, queryset):
        """Django's own action, whose confirmation also says how many contacts lose the tags."""
        response = django_delete_selected(self, request, queryset)
        if response is not None:
            response.context_data["contact_count"] = tag_contact_count(tags=queryset)
        return response
